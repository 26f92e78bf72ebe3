"""What one training image contributes, and how a batch is assembled from the cache.

Pseudo-labels are drawn afresh at every step (paper Sec. 3.3): one box of the image's
top-K pool uniformly, then n+ foreground pixels inside it and n- background pixels
outside every box. Images of a background class (e.g. ``no_site``) have no object:
all their pixels are background candidates.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from core.dips.sampling import IGNORE, SamplingConfig, curated_pixel_labels, sample_pixel_labels
from core.train.feature_cache import FeatureCache


@dataclass
class TrainSample:
    key: str                      # content hash: the feature-cache key
    label: int                    # class index
    maps: np.ndarray              # [M, gh, gw] attention maps (the maps proposals came from)
    pool: list[tuple[tuple[float, float, float, float], int]] = field(default_factory=list)
    #      ^ top-K pool: (normalised xyxy, index into maps); curated boxes replace it when present
    all_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)  # normalised; bg excluded there
    background_only: bool = False
    curated: bool = False         # the pool holds the boxes a person curated (every object of the image)


@dataclass
class Batch:
    tokens: torch.Tensor   # [B, C, gh, gw] float32
    cls: torch.Tensor      # [B, n_blocks, C]
    rgb: torch.Tensor      # [B, 3, R, R] float32 in 0..255
    labels: torch.Tensor   # [B, R, R] long: 0 bg, 1 fg, IGNORE
    targets: torch.Tensor  # [B] class index


def _flip_box(b, flip: bool):
    x0, y0, x1, y1 = b
    return (1.0 - x1, y0, 1.0 - x0, y1) if flip else (x0, y0, x1, y1)


def _map_at(grid: np.ndarray, res: int, flip: bool) -> torch.Tensor:
    """An attention grid upsampled to [res, res], flipped if the image is, min-max normalised."""
    m = torch.from_numpy(np.ascontiguousarray(grid, dtype=np.float32))
    m = F.interpolate(m[None, None], size=(res, res), mode="bilinear", align_corners=False)[0, 0]
    if flip:
        m = m.flip(-1)
    lo, hi = m.min(), m.max()
    return (m - lo) / (hi - lo) if hi > lo else torch.zeros_like(m)


def pseudo_labels(sample: TrainSample, res: int, flip: bool, cfg: SamplingConfig,
                  gen: torch.Generator) -> torch.Tensor:
    """[res, res] labels for one image at one step."""
    if sample.background_only:
        # No object anywhere: every pixel is background. Half the labels go where attention is
        # highest (roads, poles, yards that also catch the ViT's eye in object images: hard
        # negatives), half uniformly over the image.
        labels = torch.full((res, res), IGNORE, dtype=torch.long)
        m = _map_at(sample.maps[0], res, flip).flatten()
        n_hard = int(cfg.n_neg * cfg.bg_hard_frac)
        if float(m.sum()) > 0 and n_hard > 0:
            hard = torch.multinomial(m + 1e-8, n_hard, replacement=False, generator=gen)
            labels.view(-1)[hard] = 0
        uniform = torch.randperm(res * res, generator=gen)[: cfg.n_neg - n_hard]
        labels.view(-1)[uniform] = 0
        return labels
    if not sample.pool:
        return torch.full((res, res), IGNORE, dtype=torch.long)
    if sample.curated and cfg.curated_weight > 0:
        scale = torch.tensor([res, res, res, res], dtype=torch.float32)
        boxes = torch.tensor([_flip_box(b, flip) for b, _ in sample.pool], dtype=torch.float32) * scale
        return curated_pixel_labels(boxes, res, res, int(round(cfg.n_pos * cfg.curated_weight)),
                                    int(round(cfg.n_neg * cfg.curated_weight)), gen)
    k = int(torch.randint(len(sample.pool), (1,), generator=gen))
    box, map_index = sample.pool[k]
    m = _map_at(sample.maps[map_index], res, flip)
    scale = torch.tensor([res, res, res, res], dtype=torch.float32)
    drawn = torch.tensor(_flip_box(box, flip), dtype=torch.float32) * scale
    others = [_flip_box(b, flip) for b in sample.all_boxes] + [_flip_box(b, flip) for b, _ in sample.pool]
    all_boxes = torch.tensor(others, dtype=torch.float32).reshape(-1, 4) * scale
    return sample_pixel_labels(m, drawn, all_boxes, cfg, gen)


def make_batch(samples: list[TrainSample], cache: FeatureCache, flips: list[bool], res: int,
               cfg: SamplingConfig, gen: torch.Generator) -> Batch:
    tokens, cls, rgb, labels = [], [], [], []
    for s, flip in zip(samples, flips, strict=True):
        f = cache.get(s.key, flipped=flip)
        tokens.append(torch.from_numpy(np.array(f.tokens, dtype=np.float32)))
        cls.append(torch.from_numpy(np.array(f.cls, dtype=np.float32)))
        im = torch.from_numpy(np.array(f.rgb, dtype=np.float32))
        if im.shape[-1] != res:
            im = F.interpolate(im[None], size=(res, res), mode="bilinear", align_corners=False)[0]
        rgb.append(im)
        labels.append(pseudo_labels(s, res, flip, cfg, gen))
    return Batch(torch.stack(tokens), torch.stack(cls), torch.stack(rgb), torch.stack(labels),
                 torch.tensor([s.label for s in samples], dtype=torch.long))
