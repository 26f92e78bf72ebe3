"""Reading one weight file offline: its format from its first bytes, the tensors inside a checkpoint, and
DINO / DINOv2 / timm key names brought onto timm's ``VisionTransformer`` names.

Formats understood (all read from a local path, nothing is downloaded):

* official DINO checkpoints: plain state dicts (``dino_deitsmall16_pretrain.pth``) whose key names are
  already timm's (``blocks.0.attn.qkv.weight``, ``pos_embed`` ...), and full training checkpoints
  (``teacher`` / ``student`` dicts with ``module.`` / ``backbone.`` prefixes and a DINO head to drop);
* DINOv2 checkpoints (``ls1.gamma``, ``mask_token``, ``register_tokens``);
* timm state dicts (``.pth`` / ``.bin`` / ``.safetensors``) of any timm ViT; a classifier ``head`` is dropped.

Hugging Face folders are ``core.dips.backbones.hf_weights``. Every failure raises :class:`WeightsError`
naming the file and the reason.
"""
from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from core.errors import WeightsError

# the normalisation ViT weights expect unless their folder says otherwise (``hf_weights.hf_mean_std``)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Key prefixes added by DDP, DINO's MultiCropWrapper, HF task models and Lightning.
_STRIP_PREFIXES = ("module.", "backbone.", "encoder.model.", "model.", "vit.", "dinov2.")
# Entries that belong to training heads or masked modelling, never to the frozen backbone.
_DROP_PREFIXES = ("head.", "head_dist.", "fc_norm_head.", "pooler.", "classifier.", "mask_token", "dino_head.")
_CHUNKED_BLOCK = re.compile(r"^blocks\.\d+\.(\d+)\.")


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


def _first(items: list, n: int = 5) -> str:
    shown = ", ".join(str(x) for x in items[:n])
    return shown + (f", ... (+{len(items) - n} more)" if len(items) > n else "")
