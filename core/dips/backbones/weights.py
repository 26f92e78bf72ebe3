"""Fitting user weights onto timm Vision Transformers: any supported source (a weight file, see
``weight_files``; a Hugging Face folder, see ``hf_weights``) read as timm names, checked against the model
and loaded strictly; and the fingerprint that keys everything computed with those weights.

Every failure raises :class:`WeightsError` naming the file and the reason.
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from core.errors import WeightsError
from core.result_checks import plural

from .hf_weights import hf_to_timm, is_hf_folder, looks_like_hf, read_hf_snapshot, resolve_hf_snapshot
from .weight_files import _first, normalize_vit_keys, read_state_dict

__all__ = ["WeightsError", "check_fit", "load_state_dict_checked", "load_weights", "read_vit_weights",
           "weights_fingerprint"]


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
        parts.append(f"{plural(len(missing), 'missing key')}: {_first(missing)}")
    if unexpected:
        parts.append(f"{plural(len(unexpected), 'unexpected key')}: {_first(unexpected)}")
    if shapes:
        parts.append(f"{plural(len(shapes), 'shape mismatch', 'shape mismatches')}: {_first(shapes)}")
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
