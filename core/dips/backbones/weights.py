"""Reading user weight files offline and fitting them onto timm Vision Transformers.

Formats understood (all read from a local path, nothing is downloaded):

* official DINO checkpoints: plain state dicts (``dino_deitsmall16_pretrain.pth``) whose key names are
  already timm's (``blocks.0.attn.qkv.weight``, ``pos_embed`` ...), and full training checkpoints
  (``teacher`` / ``student`` dicts with ``module.`` / ``backbone.`` prefixes and a DINO head to drop);
* DINOv2 checkpoints (``ls1.gamma``, ``mask_token``, ``register_tokens``);
* timm state dicts (``.pth`` / ``.bin`` / ``.safetensors``) of any timm ViT; a classifier ``head`` is dropped;
* a Hugging Face cache folder (a snapshot with ``config.json`` + ``model.safetensors`` or
  ``pytorch_model.bin`` of a transformers ``ViTModel`` / ``Dinov2Model``), mapped to timm key names.

Every failure raises :class:`WeightsError` naming the file and the reason.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

STATE_DICT_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".safetensors")
_HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# Key prefixes added by DDP, DINO's MultiCropWrapper, HF task models and Lightning.
_STRIP_PREFIXES = ("module.", "backbone.", "encoder.model.", "model.", "vit.", "dinov2.")
# Entries that belong to training heads or masked modelling, never to the frozen backbone.
_DROP_PREFIXES = ("head.", "head_dist.", "fc_norm_head.", "pooler.", "classifier.", "mask_token", "dino_head.")


from core.errors import WeightsError  # noqa: E402 - raised here; importable from here as before

# --------------------------------------------------------------------------------------------- reading


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from a file (``.pth/.pt/.bin/.ckpt/.safetensors``) onto the CPU.

    Training checkpoints are unwrapped (``teacher`` preferred over ``student``, then ``state_dict`` /
    ``model``). Keys are returned as stored; see :func:`normalize_vit_keys` for the timm names.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise WeightsError(f"{path}: weight file not found")
    if path.is_dir():
        raise WeightsError(f"{path}: is a folder, expected a weight file (or a Hugging Face snapshot with config.json)")
    if path.stat().st_size == 0:
        raise WeightsError(f"{path}: file is empty")
    kind = sniff_format(path)
    if kind == "safetensors":
        obj: Any = _read_safetensors(path)
    elif kind in ("torch-zip", "torch-legacy"):
        obj = _read_torch(path)
    else:
        raise WeightsError(f"{path}: not a weight file: neither a PyTorch checkpoint nor safetensors "
                           f"(it starts with bytes {_head(path)})")
    return unwrap_checkpoint(obj, path)


def sniff_format(path: Path) -> str:
    """The file's format from its first bytes, whatever its name says: "safetensors", "torch-zip"
    (``torch.save`` since 1.6), "torch-legacy" (an older pickle stream) or "unknown"."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head[:4] == b"PK\x03\x04":
        return "torch-zip"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle PROTO opcode, protocols 2-5
        return "torch-legacy"
    # safetensors: an 8-byte little-endian header length (safetensors caps it at 100 MB), then a JSON object;
    # a header longer than the file is a truncated safetensors file, which its reader reports as such
    if len(head) >= 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") <= 100_000_000:
        return "safetensors"
    return "unknown"


def _head(path: Path, n: int = 8) -> str:
    with open(path, "rb") as fh:
        return fh.read(n).hex(" ")


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path}: damaged safetensors file (truncated?): {exc}") from exc


def _read_torch(path: Path) -> Any:
    # weights_only refuses arbitrary pickled code; DINO's full checkpoints also pickle their
    # argparse.Namespace of training arguments, which is harmless and allowed explicitly.
    try:
        # From an open file: given a name, torch.load picks its reader by the suffix (.safetensors), not the content.
        with torch.serialization.safe_globals([argparse.Namespace]), open(path, "rb") as fh:
            return torch.load(fh, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, zipfile errors...
        text = str(exc)
        if "Unsupported global" in text or "weights_only" in text:
            found = re.search(r"GLOBAL ([\w.]+)", text)
            what = f" ({found.group(1)})" if found else ""
            reason = (f"it holds pickled Python objects other than tensors{what} and is not loaded, for safety "
                      "(a whole saved model must be re-saved as its state_dict())")
        else:
            first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
            reason = f"the file is damaged or truncated ({first})"
        raise WeightsError(f"{path}: cannot read this PyTorch checkpoint: {reason}") from None


def unwrap_checkpoint(obj: Any, path: str | Path = "<memory>") -> dict[str, torch.Tensor]:
    """Find the tensor dict inside a checkpoint: the object itself, or its teacher/student/model entry."""
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path}: expected a state dict (a mapping of names to tensors), found {type(obj).__name__}")
    for key in ("teacher", "student", "state_dict", "model", "model_state_dict", "module"):
        inner = obj.get(key)
        if isinstance(inner, Mapping) and any(isinstance(v, torch.Tensor) for v in inner.values()):
            # DINO saves the EMA teacher and the student; the teacher is the model the paper evaluates.
            return unwrap_checkpoint(inner, path)
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    for branch in ("teacher.", "student."):
        # DINOv2's training code flattens both branches into one dict ("teacher.backbone.blocks..."):
        # the teacher, as above.
        picked = {k[len(branch):]: v for k, v in tensors.items() if k.startswith(branch + "backbone.")}
        if picked:
            return picked
    if not tensors:
        raise WeightsError(f"{path}: contains no tensors (keys: {_first(list(obj.keys()))})")
    return tensors


# ------------------------------------------------------------------------------------------ key names


def normalize_vit_keys(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Bring DINO / DINOv2 / timm ViT key names onto timm's ``VisionTransformer`` names.

    Strips wrapper prefixes (``module.``, ``backbone.``, ...), drops heads and the masked-modelling
    token, renames DINOv2's ``register_tokens`` to ``reg_token``. Hugging Face names are handled
    by :func:`hf_to_timm`.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        k = key
        changed = True
        while changed:  # prefixes can be stacked: module.backbone.blocks...
            changed = False
            for p in _STRIP_PREFIXES:
                if k.startswith(p):
                    k, changed = k[len(p):], True
        if k.startswith(_DROP_PREFIXES):
            continue
        if k == "register_tokens":
            k = "reg_token"
        # DINOv2 trained with block_chunks > 0 stores block i of chunk c as blocks.c.i (i counts globally)
        k = _CHUNKED_BLOCK.sub(r"blocks.\1.", k)
        out[k] = value
    return out


def looks_like_hf(sd: Mapping[str, torch.Tensor]) -> bool:
    return any(".encoder.layer." in "." + k or k.startswith("embeddings.") or ".embeddings." in k for k in sd)


_CHUNKED_BLOCK = re.compile(r"^blocks\.\d+\.(\d+)\.")
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
        k = key
        for p in ("vit.", "dinov2.", "model."):
            if k.startswith(p):
                k = k[len(p):]
        if k.startswith(("pooler.", "classifier.", "embeddings.mask_token")):
            continue
        if k in _HF_GLOBAL_RENAMES:
            out[_HF_GLOBAL_RENAMES[k]] = value
            continue
        m = _HF_LAYER.match(k)
        if not m:
            out[k] = value
            continue
        idx, rest = int(m.group(1)), m.group(2)
        qm = re.match(r"^attention\.attention\.(query|key|value)\.(weight|bias)$", rest)
        if qm:
            qkv.setdefault((idx, qm.group(2)), {})[qm.group(1)] = value
            continue
        for src, dst in _HF_BLOCK_RENAMES.items():
            if rest.startswith(src):
                out[f"blocks.{idx}.{dst}{rest[len(src):]}"] = value
                break
        else:
            out[k] = value
    for (idx, kind), parts in sorted(qkv.items()):
        if set(parts) != {"query", "key", "value"}:
            for name, v in parts.items():  # incomplete: keep so the fit check names them
                out[f"encoder.layer.{idx}.attention.attention.{name}.{kind}"] = v
            continue
        out[f"blocks.{idx}.attn.qkv.{kind}"] = torch.cat([parts["query"], parts["key"], parts["value"]], dim=0)
    if registers and "pos_embed" in out and "cls_token" in out:
        pos = out["pos_embed"]
        out["cls_token"] = out["cls_token"] + pos[:, :1]
        out["pos_embed"] = pos[:, 1:].contiguous()
    return out


# ------------------------------------------------------------------------------- Hugging Face folders


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
        ref = root / "refs" / "main"
        snaps = sorted((p for p in (root / "snapshots").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        if ref.exists() and (root / "snapshots" / ref.read_text().strip()).is_dir():
            folder = root / "snapshots" / ref.read_text().strip()
        elif snaps:
            folder = snaps[-1]
        else:
            raise WeightsError(f"{root}: Hugging Face cache folder has no snapshot in snapshots/")
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


def weights_fingerprint(path: str | Path) -> str:
    """Short content hash of a user's weight file, or of a Hugging Face folder's weight file.

    Attention maps, cached features and trained heads are keyed by it: pointing the same architecture
    at other weights (DINO teacher vs student, a fine-tuned copy) must not reuse what the old weights
    computed. Hashed once per (file, size, mtime). A file that cannot be read gives "unreadable"; loading
    it then raises the clear :class:`WeightsError`.
    """
    p = Path(path).expanduser()
    try:
        f = resolve_hf_snapshot(p).weights_file if is_hf_folder(p) else p.resolve(strict=True)
        st = f.stat()
        return _content_hash(str(f), st.st_size, st.st_mtime_ns)
    except (OSError, WeightsError):
        return "unreadable"


@functools.lru_cache(maxsize=32)
def _content_hash(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            h.update(block)
    return h.hexdigest()[:12]


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


# ---------------------------------------------------------------------------------- loading into models


def read_vit_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Any supported ViT weight source (file or HF folder) as a state dict in timm names."""
    p = Path(path).expanduser()
    if p.is_dir():
        return read_hf_snapshot(p)[0]
    sd = read_state_dict(p)
    if looks_like_hf(normalize_vit_keys(sd)) and not any(k.startswith("blocks.") for k in sd):
        return hf_to_timm(sd)
    return normalize_vit_keys(sd)


def check_fit(model: nn.Module, sd: Mapping[str, torch.Tensor], source: str | Path, arch: str = "") -> None:
    """Raise WeightsError listing the first missing / unexpected keys and shape mismatches."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    shapes = [
        f"{k}: file {tuple(sd[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in expected
        if k in sd and tuple(sd[k].shape) != tuple(expected[k].shape)
    ]
    if not (missing or unexpected or shapes):
        return
    what = f" the architecture {arch!r}" if arch else " this architecture"
    parts = [f"{source}: the weights do not fit{what}"]
    if missing:
        parts.append(f"{len(missing)} missing key(s): {_first(missing)}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s): {_first(unexpected)}")
    if shapes:
        parts.append(f"{len(shapes)} shape mismatch(es): {_first(shapes)}")
    raise WeightsError("; ".join(parts))


def load_weights(model: nn.Module, path: str | Path, arch: str = "") -> nn.Module:
    """Load a ViT weight file / HF folder into a timm ViT, strictly (after key normalisation)."""
    sd = read_vit_weights(path)
    load_state_dict_checked(model, sd, path, arch)
    return model


def load_state_dict_checked(model: nn.Module, sd: Mapping[str, torch.Tensor], source: str | Path,
                            arch: str = "") -> None:
    """Strict load after :func:`check_fit`. A model built on the ``meta`` device gets the tensors assigned."""
    check_fit(model, sd, source, arch)
    expected = model.state_dict()
    # Cast to the model's dtype: checkpoints are sometimes stored in float16.
    cast = {k: v.to(expected[k].dtype) for k, v in sd.items()}
    on_meta = any(t.is_meta for t in expected.values())
    model.load_state_dict(cast, strict=True, assign=on_meta)
    if on_meta:
        left = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
        if left:  # non-persistent buffers are not in a state dict: such a model must be built normally
            raise WeightsError(f"{source}: the model keeps uninitialised tensors after loading: {_first(left)}")


def _first(items: list, n: int = 5) -> str:
    shown = ", ".join(str(x) for x in items[:n])
    return shown + (f", ... (+{len(items) - n} more)" if len(items) > n else "")
