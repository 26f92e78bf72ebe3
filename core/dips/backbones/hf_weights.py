"""Hugging Face folders offline: a snapshot (or a hub cache repo folder) of a transformers ``ViTModel`` /
``Dinov2Model`` - ``config.json`` + ``model.safetensors`` or ``pytorch_model.bin`` - read and mapped onto timm's
``VisionTransformer``: its constructor arguments, its key names, its normalisation.

Every failure raises :class:`WeightsError` naming the file and the reason.
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.errors import WeightsError

from .weight_files import IMAGENET_MEAN, IMAGENET_STD, normalize_vit_keys, read_state_dict

_HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def looks_like_hf(sd: Mapping[str, torch.Tensor]) -> bool:
    return any(".encoder.layer." in "." + k or k.startswith("embeddings.") or ".embeddings." in k for k in sd)


_HF_LAYER = re.compile(r"^encoder\.layer\.(\d+)\.(.+)$")
# Per-block renames: HF ViT names and HF Dinov2 names -> timm Block names.
_HF_BLOCK_RENAMES = {
    "layernorm_before.": "norm1.",
    "layernorm_after.": "norm2.",
    "norm1.": "norm1.",
    "norm2.": "norm2.",
    "attention.output.dense.": "attn.proj.",
    "intermediate.dense.": "mlp.fc1.",
    "output.dense.": "mlp.fc2.",  # after attention.output.dense (checked first)
    "mlp.fc1.": "mlp.fc1.",
    "mlp.fc2.": "mlp.fc2.",
    "layer_scale1.lambda1": "ls1.gamma",
    "layer_scale2.lambda1": "ls2.gamma",
}
_HF_GLOBAL_RENAMES = {
    "embeddings.cls_token": "cls_token",
    "embeddings.position_embeddings": "pos_embed",
    "embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
    "embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
    "embeddings.register_tokens": "reg_token",
    "layernorm.weight": "norm.weight",
    "layernorm.bias": "norm.bias",
}


_HF_QKV = re.compile(r"^attention\.attention\.(query|key|value)\.(weight|bias)$")


def hf_to_timm(sd: Mapping[str, torch.Tensor], *, registers: int = 0) -> dict[str, torch.Tensor]:
    """Map a transformers ``ViTModel`` / ``Dinov2Model`` state dict to timm ``VisionTransformer`` names.

    query/key/value Linear weights ``[C, C]`` are stacked into timm's ``qkv`` ``[3C, C]``.
    With ``registers > 0`` (Dinov2WithRegisters) HF adds the CLS position embedding before inserting
    the registers; timm's matching model (``no_embed_class``) has no CLS position, so it is folded
    into the CLS token - exact, since both are constants added to the same token.
    Unknown keys are kept under their HF name so that the fit check reports them.
    """
    out: dict[str, torch.Tensor] = {}
    qkv: dict[tuple[int, str], dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        k = _strip_hf_prefixes(key)
        if k.startswith(("pooler.", "classifier.", "embeddings.mask_token")):
            continue
        m = _HF_LAYER.match(k)
        if k in _HF_GLOBAL_RENAMES:
            out[_HF_GLOBAL_RENAMES[k]] = value
        elif not m:
            out[k] = value
        elif qm := _HF_QKV.match(m.group(2)):
            qkv.setdefault((int(m.group(1)), qm.group(2)), {})[qm.group(1)] = value
        else:
            out[_hf_block_key(k, int(m.group(1)), m.group(2))] = value
    _stack_qkv(qkv, out)
    if registers and "pos_embed" in out and "cls_token" in out:
        pos = out["pos_embed"]
        out["cls_token"] = out["cls_token"] + pos[:, :1]
        out["pos_embed"] = pos[:, 1:].contiguous()
    return out


def _strip_hf_prefixes(key: str) -> str:
    """The key without the task model's prefixes (``vit.``, ``dinov2.``, ``model.``)."""
    for p in ("vit.", "dinov2.", "model."):
        if key.startswith(p):
            key = key[len(p):]
    return key


def _hf_block_key(key: str, idx: int, rest: str) -> str:
    """timm's name of ``encoder.layer.<idx>.<rest>``; the HF name itself when no rename fits."""
    for src, dst in _HF_BLOCK_RENAMES.items():
        if rest.startswith(src):
            return f"blocks.{idx}.{dst}{rest[len(src):]}"
    return key


def _stack_qkv(qkv: dict[tuple[int, str], dict[str, torch.Tensor]], out: dict[str, torch.Tensor]) -> None:
    """Stack each block's query, key, value into timm's ``qkv`` in ``out``; an incomplete set keeps its HF names
    so that the fit check names them."""
    for (idx, kind), parts in sorted(qkv.items()):
        if set(parts) != {"query", "key", "value"}:
            for name, v in parts.items():
                out[f"encoder.layer.{idx}.attention.attention.{name}.{kind}"] = v
            continue
        out[f"blocks.{idx}.attn.qkv.{kind}"] = torch.cat([parts["query"], parts["key"], parts["value"]], dim=0)


@dataclass(frozen=True)
class HFSnapshot:
    """A resolved Hugging Face snapshot folder."""

    folder: Path
    config: dict
    weights_file: Path
    repo_id: str  # "facebook/dino-vits16" when read from the hub cache layout, else the folder name


def is_hf_folder(path: str | Path) -> bool:
    p = Path(path).expanduser()
    return p.is_dir() and ((p / "config.json").exists() or (p / "snapshots").is_dir())


def resolve_hf_snapshot(path: str | Path) -> HFSnapshot:
    """Find ``config.json`` and the weight file in a snapshot folder or a hub cache repo folder
    (``models--org--name`` with ``refs/main`` and ``snapshots/<hash>``)."""
    root = Path(path).expanduser()
    if not root.exists():
        raise WeightsError(f"{root}: Hugging Face folder not found")
    folder = root
    repo_id = root.name
    if (root / "snapshots").is_dir() and not (root / "config.json").exists():
        folder = _cache_snapshot(root)
    elif root.parent.name == "snapshots":
        repo_id = root.parent.parent.name
    if repo_id.startswith("models--"):
        repo_id = repo_id[len("models--"):].replace("--", "/")
    cfg_path = folder / "config.json"
    if not cfg_path.exists():
        raise WeightsError(f"{folder}: no config.json, so this is not a Hugging Face model snapshot")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{cfg_path}: unreadable JSON ({exc})") from exc
    for name in _HF_WEIGHT_FILES:
        if (folder / name).exists():
            return HFSnapshot(folder, config, (folder / name).resolve(), repo_id)
    raise WeightsError(f"{folder}: neither {' nor '.join(_HF_WEIGHT_FILES)} found next to config.json")


def _cache_snapshot(root: Path) -> Path:
    """The snapshot a hub cache repo folder's ``refs/main`` names, else its newest one."""
    ref = root / "refs" / "main"
    snaps = sorted((p for p in (root / "snapshots").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    if ref.exists() and (root / "snapshots" / ref.read_text().strip()).is_dir():
        return root / "snapshots" / ref.read_text().strip()
    if snaps:
        return snaps[-1]
    raise WeightsError(f"{root}: Hugging Face cache folder has no snapshot in snapshots/")


def hf_vit_kwargs(config: Mapping[str, Any], source: str | Path = "config.json") -> dict[str, Any]:
    """timm ``VisionTransformer`` constructor arguments equivalent to a transformers ViT/Dinov2 config."""
    model_type = config.get("model_type", "")
    if model_type not in ("vit", "dinov2", "dinov2_with_registers", "vit_msn"):
        raise WeightsError(f"{source}: model_type {model_type!r} is not a ViT/Dinov2 model this app can map to timm")
    if config.get("use_swiglu_ffn"):
        raise WeightsError(f"{source}: SwiGLU feed-forward (DINOv2 giant) is not supported")
    act = config.get("hidden_act", "gelu")
    if act not in ("gelu", "gelu_python"):
        raise WeightsError(f"{source}: activation {act!r} is not supported (only exact GELU)")
    dim = int(config["hidden_size"])
    if "intermediate_size" in config:
        mlp_ratio = int(config["intermediate_size"]) / dim
    else:
        mlp_ratio = float(config.get("mlp_ratio", 4))
    image_size = config.get("image_size", 224)
    kwargs: dict[str, Any] = dict(
        img_size=image_size,
        patch_size=int(config.get("patch_size", 16)),
        embed_dim=dim,
        depth=int(config["num_hidden_layers"]),
        num_heads=int(config["num_attention_heads"]),
        mlp_ratio=mlp_ratio,
        qkv_bias=bool(config.get("qkv_bias", True)),
        norm_layer=functools.partial(nn.LayerNorm, eps=float(config.get("layer_norm_eps", 1e-6))),
        num_classes=0,
    )
    if model_type.startswith("dinov2"):
        kwargs["init_values"] = float(config.get("layerscale_value", 1.0))
    registers = int(config.get("num_register_tokens", 0)) if model_type == "dinov2_with_registers" else 0
    if registers:
        kwargs.update(reg_tokens=registers, no_embed_class=True)
    return kwargs


def read_hf_snapshot(path: str | Path) -> tuple[dict[str, torch.Tensor], HFSnapshot]:
    """State dict in timm names, and the snapshot it came from."""
    snap = resolve_hf_snapshot(path)
    sd = read_state_dict(snap.weights_file)
    if "architecture" in snap.config or not looks_like_hf(sd):  # a timm model pushed to the hub
        return normalize_vit_keys(sd), snap
    with_registers = snap.config.get("model_type") == "dinov2_with_registers"
    registers = int(snap.config.get("num_register_tokens", 0)) if with_registers else 0
    return hf_to_timm(sd, registers=registers), snap


def hf_mean_std(snap: HFSnapshot) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Normalisation from ``preprocessor_config.json`` if the snapshot has one, else ImageNet's."""
    pp = snap.folder / "preprocessor_config.json"
    try:
        cfg = json.loads(pp.read_text(encoding="utf-8")) if pp.exists() else {}
        mean, std = cfg.get("image_mean"), cfg.get("image_std")
        if mean and std and len(mean) == 3 and len(std) == 3:
            return tuple(map(float, mean)), tuple(map(float, std))  # type: ignore[return-value]
    except (OSError, ValueError):
        pass
    return IMAGENET_MEAN, IMAGENET_STD


