"""Pixel pseudo-labels drawn from a box proposal and its attention map (journal Sec. 3.3, Eq. 1).

At every training step and for every image, one box is drawn uniformly from the image's top-K pool
(Sec. 3.4), then a few pixels are labelled:

* foreground (1): the candidates are the top ``floor(pos_top_frac * |box|)`` activations of the map
  inside the drawn box; ``n+`` of them are drawn multinomially, without replacement, weighted by the
  map value;
* background (0): the candidates are the lowest ``neg_low_frac`` of the activations among the pixels
  lying outside *all* boxes of the image (top-K pool and curated boxes). The paper asks for this; the
  authors' public code forgets the exclusion, we follow the paper. ``n-`` of them are drawn uniformly;
* everything else is ``IGNORE``.

Coordinates: ``attn`` is a map at label resolution ``h x w``; boxes are ``xyxy`` floats in pixels of that
same resolution (pixel ``(i, j)`` covers ``[j, j+1) x [i, i+1)``). A pixel is *inside* the drawn box when its
centre ``(j+0.5, i+0.5)`` lies in the box; a pixel is *outside all boxes* only when its square does not
overlap any box at all, so a background seed can never touch a box.

Balance: the draws are balanced as asked (``n+`` vs ``n-``); when candidates run short both counts are
scaled down by the same factor, so with ``n+ == n-`` both become the smaller of the two. When one side has
no candidate at all (a box covering the whole image, say) the image gets no label at all: one-sided
labels would teach the decoder "everything is foreground".

Dilation: seeds are dilated by a 3x3 max-pool, then *clipped* - dilated foreground is kept only inside the
drawn box, dilated background only outside all boxes - so dilation cannot move a label across a box
border. A pixel labelled both foreground and background is dropped (ignored); after clipping this cannot
happen, the rule is kept for safety.

All random draws go through the given ``torch.Generator`` (a CPU generator): the same generator state
gives the same labels. The work is done on the CPU (maps at label resolution are small); the result is
returned on the device of ``attn``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from core.settings import TrainConfig

IGNORE = 255  # label of unlabelled pixels (ignore_index of the partial cross-entropy)

_WHERE = "core/dips/sampling.py"


@dataclass
class SamplingConfig:
    # Defaults are the settings' (core/settings.py: TrainConfig), so the method alone samples as training does.
    n_pos: int = TrainConfig.n_pos    # n+: foreground pixels drawn per image per step (at label resolution)
    n_neg: int = TrainConfig.n_neg    # n-: background pixels drawn per image per step (balanced with n+)
    pos_top_frac: float = TrainConfig.pos_top_frac  # fg candidates: top floor(frac*|box|) activations inside the box
                                                    # (authors: max_p)
    neg_low_frac: float = TrainConfig.neg_low_frac  # bg candidates: lowest frac of activations among pixels outside
                                                    # ALL boxes (authors: min_p)
    dilate: bool = True          # seeds dilated 3x3, then clipped back to their region
    bg_hard_frac: float = TrainConfig.bg_hard_frac  # object-free images: share of n- where attention is highest
    curated_weight: float = TrainConfig.curated_weight  # curated boxes: 0 = like a proposal; W = W x n+/n- uniform

    def __post_init__(self) -> None:
        if self.n_pos < 0 or self.n_neg < 0:
            raise ValueError(f"{_WHERE}: n_pos and n_neg must be >= 0, got {self.n_pos}, {self.n_neg}")
        for name in ("pos_top_frac", "neg_low_frac"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise ValueError(f"{_WHERE}: {name} must be in (0, 1], got {v}")
        if not 0.0 <= self.bg_hard_frac <= 1.0:
            raise ValueError(f"{_WHERE}: bg_hard_frac must be in [0, 1], got {self.bg_hard_frac}")
        if self.curated_weight < 0:
            raise ValueError(f"{_WHERE}: curated_weight must be >= 0, got {self.curated_weight}")


def _check_boxes(boxes: Tensor, what: str) -> Tensor:
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{_WHERE}: {what} must have shape [M, 4] (xyxy pixels), got {tuple(boxes.shape)}")
    b = boxes.detach().to("cpu", torch.float64)
    if not torch.isfinite(b).all():
        raise ValueError(f"{_WHERE}: {what} contains NaN or inf")
    if (b[:, 2] < b[:, 0]).any() or (b[:, 3] < b[:, 1]).any():
        raise ValueError(f"{_WHERE}: {what} has a box with x1 < x0 or y1 < y0 (expected xyxy)")
    return b


def box_centre_mask(box: Tensor, h: int, w: int) -> Tensor:
    """Bool ``[h, w]``: pixels whose centre lies inside ``box`` (xyxy pixels).

    A box too small to contain any pixel centre still marks the pixel holding its centre, as long as the
    box overlaps the image; a box entirely outside the image marks nothing.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    cx = torch.arange(w, dtype=torch.float64) + 0.5
    cy = torch.arange(h, dtype=torch.float64) + 0.5
    mask = ((cy >= y0) & (cy <= y1))[:, None] & ((cx >= x0) & (cx <= x1))[None, :]
    if not mask.any() and x1 > 0 and y1 > 0 and x0 < w and y0 < h:
        # tiny box: fall back to the pixel under its (clipped) centre
        j = min(max(int(math.floor((max(x0, 0.0) + min(x1, float(w))) / 2)), 0), w - 1)
        i = min(max(int(math.floor((max(y0, 0.0) + min(y1, float(h))) / 2)), 0), h - 1)
        mask[i, j] = True
    return mask


def boxes_overlap_mask(boxes: Tensor, h: int, w: int) -> Tensor:
    """Bool ``[h, w]``: pixels whose square ``[j, j+1) x [i, i+1)`` overlaps any of ``boxes`` ([M, 4] xyxy).

    Degenerate (zero-width) boxes still claim the pixels they touch, to stay on the safe side for
    background sampling.
    """
    mask = torch.zeros(h, w, dtype=torch.bool)
    if boxes.numel() == 0:
        return mask
    px0 = torch.arange(w, dtype=torch.float64)
    py0 = torch.arange(h, dtype=torch.float64)
    for x0, y0, x1, y1 in boxes.tolist():
        # overlap test with closed box edges: pixel [j, j+1) overlaps [x0, x1] if j < x1 (or j <= x1 when
        # x1 == x0) and j + 1 > x0
        col = (px0 + 1 > x0) & ((px0 < x1) | ((px0 <= x1) & (x1 == x0)))
        row = (py0 + 1 > y0) & ((py0 < y1) | ((py0 <= y1) & (y1 == y0)))
        mask |= row[:, None] & col[None, :]
    return mask


def _balanced_counts(n_pos: int, n_neg: int, avail_pos: int, avail_neg: int) -> tuple[int, int]:
    """Seed counts after scaling both requests by the same factor when candidates are short."""
    if avail_pos == 0 or avail_neg == 0 or n_pos == 0 or n_neg == 0:
        return 0, 0
    factor = min(1.0, avail_pos / n_pos, avail_neg / n_neg)
    if factor >= 1.0:
        return n_pos, n_neg
    k_pos = min(avail_pos, max(1, int(math.floor(n_pos * factor + 1e-9))))
    k_neg = min(avail_neg, max(1, int(math.floor(n_neg * factor + 1e-9))))
    return k_pos, k_neg


def _dilate(mask: Tensor) -> Tensor:
    return F.max_pool2d(mask[None, None].float(), kernel_size=3, stride=1, padding=1)[0, 0] > 0


def sample_pixel_labels(attn: Tensor, box: Tensor, all_boxes: Tensor, cfg: SamplingConfig,
                        generator: torch.Generator) -> Tensor:
    """Partial pseudo-label mask for one image and one drawn box.

    Args:
        attn: ``[h, w]`` attention map in ``[0, 1]`` at label resolution (NaN read as 0).
        box: ``[4]`` the drawn top-K box, xyxy pixels of that resolution.
        all_boxes: ``[M, 4]`` every box of the image (top-K pool and curated boxes); background is drawn
            outside all of them and outside ``box``. May be empty (``[0, 4]``).
        cfg: counts and candidate fractions (n+, n-, max_p, min_p).
        generator: CPU ``torch.Generator`` driving every random draw.

    Returns:
        ``[h, w]`` long tensor on ``attn``'s device: 0 background, 1 foreground, ``IGNORE`` elsewhere.
    """
    if attn.ndim != 2:
        raise ValueError(f"{_WHERE}: attn must be a 2-D map [h, w], got shape {tuple(attn.shape)}")
    box = torch.as_tensor(box)
    if box.shape != (4,):
        raise ValueError(f"{_WHERE}: box must have shape [4] (xyxy pixels), got {tuple(box.shape)}")
    box_b = _check_boxes(box[None], "box")
    others = _check_boxes(torch.as_tensor(all_boxes).reshape(-1, 4), "all_boxes")
    h, w = attn.shape
    a = torch.nan_to_num(attn.detach().to("cpu", torch.float64), nan=0.0).reshape(-1)
    labels = torch.full((h * w,), IGNORE, dtype=torch.long)

    inside = box_centre_mask(box_b[0], h, w).reshape(-1)
    outside_all = ~boxes_overlap_mask(torch.cat([box_b, others]), h, w).reshape(-1)

    # candidates (indices into the flattened map)
    in_idx = inside.nonzero().squeeze(1)
    n_top = max(1, int(math.floor(cfg.pos_top_frac * in_idx.numel()))) if in_idx.numel() else 0
    pos_cand = in_idx[torch.topk(a[in_idx], n_top, largest=True).indices] if n_top else in_idx
    out_idx = outside_all.nonzero().squeeze(1)
    n_low = max(1, int(math.floor(cfg.neg_low_frac * out_idx.numel()))) if out_idx.numel() else 0
    neg_cand = out_idx[torch.topk(a[out_idx], n_low, largest=False).indices] if n_low else out_idx

    k_pos, k_neg = _balanced_counts(cfg.n_pos, cfg.n_neg, pos_cand.numel(), neg_cand.numel())
    if k_pos == 0:
        return labels.reshape(h, w).to(attn.device)

    # fg: multinomial without replacement, weights = map values; the tiny floor keeps zero-valued
    # candidates drawable when more are asked for than there are positive weights
    weights = a[pos_cand].clamp_min(0.0) + 1e-12
    fg = pos_cand[torch.multinomial(weights, k_pos, replacement=False, generator=generator)]
    bg = neg_cand[torch.randperm(neg_cand.numel(), generator=generator)[:k_neg]]

    fg_mask = torch.zeros(h * w, dtype=torch.bool)
    bg_mask = torch.zeros(h * w, dtype=torch.bool)
    fg_mask[fg] = True
    bg_mask[bg] = True
    if cfg.dilate:
        fg_mask = _dilate(fg_mask.reshape(h, w)).reshape(-1) & inside
        bg_mask = _dilate(bg_mask.reshape(h, w)).reshape(-1) & outside_all
    labels[bg_mask] = 0
    labels[fg_mask] = 1
    labels[fg_mask & bg_mask] = IGNORE
    return labels.reshape(h, w).to(attn.device)


def curated_pixel_labels(boxes: Tensor, h: int, w: int, n_pos: int, n_neg: int,
                         generator: torch.Generator) -> Tensor:
    """Labels from boxes a person curated: every pixel inside them is object, every pixel outside background.

    ``n_pos`` pixels are drawn uniformly among those whose centre lies inside any of ``boxes`` (``[M, 4]`` xyxy
    pixels of ``h x w``) and ``n_neg`` uniformly among those that touch none (the same inside / outside rules as
    ``sample_pixel_labels``); fewer when fewer are there, and none at all when either side is empty. Unlike
    proposals, curated boxes are not second-guessed by the attention map: the map plays no part.

    Returns ``[h, w]`` long labels in {0, 1, ``IGNORE``} on the CPU.
    """
    b = _check_boxes(torch.as_tensor(boxes).reshape(-1, 4), "boxes")
    labels = torch.full((h * w,), IGNORE, dtype=torch.long)
    inside = torch.zeros(h, w, dtype=torch.bool)
    for box in b:
        inside |= box_centre_mask(box, h, w)
    in_idx = inside.reshape(-1).nonzero().squeeze(1)
    out_idx = (~boxes_overlap_mask(b, h, w)).reshape(-1).nonzero().squeeze(1)
    if in_idx.numel() == 0 or out_idx.numel() == 0 or n_pos <= 0 or n_neg <= 0:
        return labels.reshape(h, w)
    fg = in_idx[torch.randperm(in_idx.numel(), generator=generator)[:n_pos]]
    bg = out_idx[torch.randperm(out_idx.numel(), generator=generator)[:n_neg]]
    labels[bg] = 0
    labels[fg] = 1
    return labels.reshape(h, w)


def sample_batch(attn: Tensor, pools: list[Tensor], all_boxes: list[Tensor], cfg: SamplingConfig,
                 generator: torch.Generator) -> Tensor:
    """Pseudo-labels for a batch: per image one box drawn uniformly from its top-K pool, then sampled.

    Args:
        attn: ``[B, h, w]`` maps in ``[0, 1]`` at label resolution.
        pools: B tensors ``[K_i, 4]``: each image's top-K boxes (xyxy pixels of ``h x w``).
        all_boxes: B tensors ``[M_i, 4]``: every box of each image (pool and curated boxes).
        cfg, generator: see ``sample_pixel_labels``.

    Returns:
        ``[B, h, w]`` long labels in {0, 1, IGNORE}; an image whose pool is empty is all ``IGNORE``.
    """
    if attn.ndim != 3:
        raise ValueError(f"{_WHERE}: attn must be [B, h, w], got shape {tuple(attn.shape)}")
    b = attn.shape[0]
    if len(pools) != b or len(all_boxes) != b:
        raise ValueError(f"{_WHERE}: need one pool and one all_boxes entry per image: batch {b}, "
                         f"{len(pools)} pools, {len(all_boxes)} all_boxes")
    out = torch.full(attn.shape, IGNORE, dtype=torch.long, device=attn.device)
    for i in range(b):
        pool = torch.as_tensor(pools[i]).reshape(-1, 4)
        if pool.shape[0] == 0:
            continue
        k = int(torch.randint(pool.shape[0], (1,), generator=generator))
        out[i] = sample_pixel_labels(attn[i], pool[k], torch.as_tensor(all_boxes[i]).reshape(-1, 4),
                                     cfg, generator)
    return out
