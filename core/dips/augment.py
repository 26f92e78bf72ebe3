"""Augmentations that move the image, its attention map and its boxes together.

The frozen encoder's tokens are cached per image, so the encoder input cannot be cropped or rescaled
freely; the cache holds each image's tokens computed on the image and on its mirror, which makes the
horizontal flip the one augmentation the training step can use without re-running the encoder. (The
reference trains with resize + random crop + h-flip; a crop would need the encoder again, or a crop of the
token grid on patch boundaries, which changes the decoder's output size per batch - left out on purpose.)

Conventions: images ``[..., C, H, W]`` and maps ``[..., H, W]`` are flipped along the last axis; boxes are
``xyxy`` in pixels of a canvas ``width`` wide (pass ``width=1`` for normalised boxes).
"""
from __future__ import annotations

import torch
from torch import Tensor

_WHERE = "core/dips/augment.py"


def flip_boxes(boxes: Tensor, width: float) -> Tensor:
    """Mirror ``[..., 4]`` xyxy boxes left-right on a canvas ``width`` wide: x0' = W - x1, x1' = W - x0."""
    boxes = torch.as_tensor(boxes)
    if boxes.shape[-1] != 4:
        raise ValueError(f"{_WHERE}: boxes must end with 4 xyxy coordinates, got shape {tuple(boxes.shape)}")
    out = boxes.clone()
    out[..., 0] = width - boxes[..., 2]
    out[..., 2] = width - boxes[..., 0]
    return out


def flip_maps(x: Tensor) -> Tensor:
    """Mirror images / maps / labels / token grids left-right (last axis is x)."""
    return torch.flip(x, dims=(-1,))


def hflip(image: Tensor, attn: Tensor, boxes_px: Tensor, width: float) -> tuple[Tensor, Tensor, Tensor]:
    """Flip one image ``[C, H, W]`` (or a batch), its map ``[H, W]`` and its boxes ``[M, 4]`` (pixels)."""
    return flip_maps(image), flip_maps(attn), flip_boxes(boxes_px, width)


def random_flips(batch: int, generator: torch.Generator, p: float = 0.5) -> Tensor:
    """Bool ``[batch]``: which samples of a batch to mirror, drawn with ``generator``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{_WHERE}: flip probability must be in [0, 1], got {p}")
    return torch.rand(batch, generator=generator) < p


def flip_where(flip: Tensor, x: Tensor) -> Tensor:
    """Mirror the samples of a batch ``[B, ...]`` selected by the bool mask ``flip`` ``[B]``."""
    if flip.shape != (x.shape[0],):
        raise ValueError(f"{_WHERE}: flip mask {tuple(flip.shape)} does not match batch {x.shape[0]}")
    m = flip.to(x.device).view(-1, *([1] * (x.ndim - 1)))
    return torch.where(m, flip_maps(x), x)


def flip_boxes_where(flip: Tensor, boxes: list[Tensor], width: float) -> list[Tensor]:
    """Mirror the per-image box lists whose entry in ``flip`` is true."""
    if len(boxes) != flip.shape[0]:
        raise ValueError(f"{_WHERE}: {len(boxes)} box lists for a batch of {flip.shape[0]}")
    return [flip_boxes(b, width) if bool(f) else torch.as_tensor(b) for f, b in zip(flip.tolist(), boxes)]
