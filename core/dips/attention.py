"""Attention maps and token features of the frozen SST for batches of images (paper Sec. 3.1).

Images are stretched to a square ``S x S`` (``S`` a multiple of the patch, see docs/design.md); the
maps live on the ``S/patch x S/patch`` grid and are stretched back over the image by the caller.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from core.settings import AttentionConfig  # noqa: F401 - the settings live in core.settings; kept importable here

from .backbones.vit import Backbone, ViTFeatures


def to_square_batch(images: list[np.ndarray], size: int) -> torch.Tensor:
    """``HxWx3`` (or ``HxW``, ``HxWx4``) arrays -> ``[B, 3, size, size]`` float32 in [0, 1], stretched.

    uint8 images are divided by 255; float images are taken as already in [0, 1] (clipped).
    Resizing is bilinear with antialias, so large drone frames shrink without aliasing.
    """
    out = []
    for i, img in enumerate(images):
        a = np.asarray(img)
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
            raise ValueError(f"image {i}: expected HxWx3, got shape {a.shape}")
        a = a[:, :, :3] if a.shape[2] >= 3 else np.repeat(a, 3, axis=2)
        if a.dtype == np.uint8:
            # .float() copies anyway; a read-only source (a memory-mapped file) just needs a writable view first
            t = torch.from_numpy(a if a.flags.writeable and a.flags.c_contiguous else a.copy()).float().div_(255.0)
        elif np.issubdtype(a.dtype, np.integer):  # e.g. 16-bit frames
            t = torch.from_numpy(a.astype(np.float32) / float(np.iinfo(a.dtype).max))
        else:
            t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).clamp_(0.0, 1.0)
        t = t.permute(2, 0, 1)[None]
        if t.shape[-2:] != (size, size):
            t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out.append(t.clamp_(0.0, 1.0))
    if not out:
        raise ValueError("no images given")
    return torch.cat(out, dim=0)


def extract_batch(backbone: Backbone, images01: list[np.ndarray], size: int) -> ViTFeatures:
    """Stretch each image to ``size x size`` and run the backbone; tensors stay on its device."""
    if size % backbone.patch_size:
        raise ValueError(f"size {size} is not a multiple of the patch size {backbone.patch_size}")
    return backbone.features(to_square_batch(images01, size))


def attention_maps(feats: ViTFeatures) -> np.ndarray:
    """``[B, heads, gh, gw]`` float32 CPU array of the last block's CLS attention, NaN -> 0."""
    a = feats.attn.detach().float().cpu().numpy()
    return np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32, copy=False)
