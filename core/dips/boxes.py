"""Box utilities on numpy arrays: map normalisation, Otsu threshold, components -> tight boxes, IoU.

Coordinates: every box here is ``xyxy`` float in *pixel units of the array at hand* with the
exclusive convention of slicing, i.e. a component covering columns 3..5 gives ``x0 = 3, x1 = 6``
(``x1 - x0`` is the width in pixels). IoU uses the same continuous convention (no ``+1``).
Callers that need normalised boxes divide by the array's width/height.
"""
from __future__ import annotations

import cv2
import numpy as np

Box = tuple[float, float, float, float]

# The authors clamp Otsu's level into [1, 254] so that a degenerate histogram never yields an
# all-foreground (t = 0) or all-background (t = 255) mask.
_OTSU_MIN_LEVEL = 1
_OTSU_MAX_LEVEL = 254


def normalize_map(m: np.ndarray) -> np.ndarray:
    """Min-max normalise a map to ``[0, 1]`` (float32, same shape).

    Non-finite values (NaN, +-inf: attention of a fully masked row) become 0 *before* the
    min/max are taken. A constant map becomes all zeros, so it yields no foreground.
    """
    a = np.asarray(m, dtype=np.float32)
    a = np.where(np.isfinite(a), a, np.float32(0.0))
    if a.size == 0:
        return a
    lo, hi = float(a.min()), float(a.max())
    if hi - lo <= 0.0:
        return np.zeros_like(a)
    return ((a - lo) / (hi - lo)).astype(np.float32, copy=False)


def to_levels(m: np.ndarray) -> np.ndarray:
    """Map in ``[0, 1]`` -> uint8 grey levels ``floor(255 * m)`` (values outside are clipped)."""
    a = np.nan_to_num(np.asarray(m, dtype=np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    return np.floor(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)


def otsu_level(levels: np.ndarray) -> int:
    """Otsu's level ``t`` on uint8 grey levels: foreground is ``levels > t``; clamped to [1, 254].

    Maximises the between-class variance ``w0 * w1 * (mu0 - mu1)^2`` over ``t`` where class 0 is
    ``levels <= t``; the first maximum wins (same choice as OpenCV).
    """
    hist = np.bincount(np.asarray(levels, dtype=np.uint8).ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return _OTSU_MIN_LEVEL
    p = hist / total
    w0 = np.cumsum(p)                       # weight of class 0 for each t
    m0 = np.cumsum(p * np.arange(256))       # first moment of class 0
    mu_t = m0[-1]
    w1 = 1.0 - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu_t * w0 - m0) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = -1.0  # t where one class is empty is not a split
    t = int(np.argmax(between)) if between.max() >= 0 else 0
    return int(min(max(t, _OTSU_MIN_LEVEL), _OTSU_MAX_LEVEL))


def otsu_threshold(m: np.ndarray) -> float:
    """Otsu threshold of a map in ``[0, 1]``, returned in map units (``t / 255``).

    The histogram is over ``floor(255 * m)``; the level ``t`` is clamped to ``[1, 254]`` as the
    authors do. Binarise with :func:`binarize` (``floor(255 * m) > t``) to reproduce the split.
    """
    return otsu_level(to_levels(m)) / 255.0


def binarize(m: np.ndarray, threshold: float) -> np.ndarray:
    """Foreground mask ``floor(255 * m) > int(255 * threshold)`` (wsolevaluation's rule).

    ``threshold`` is in map units. A tiny epsilon absorbs float error so that
    ``binarize(m, otsu_threshold(m))`` uses exactly Otsu's integer level.
    """
    level = int(np.floor(float(threshold) * 255.0 + 1e-6))
    return to_levels(m) > level


def _component_stats(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8-connected components of ``mask``: (label image, boxes [K,4] xyxy, pixel counts [K]).

    Label ``k + 1`` in the label image is box ``k`` (0 is background).
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"core/dips/boxes.py: mask must be 2-D, got shape {m.shape}")
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
    st = stats[1:n].astype(np.float64)
    boxes = np.stack([st[:, cv2.CC_STAT_LEFT], st[:, cv2.CC_STAT_TOP],
                      st[:, cv2.CC_STAT_LEFT] + st[:, cv2.CC_STAT_WIDTH],
                      st[:, cv2.CC_STAT_TOP] + st[:, cv2.CC_STAT_HEIGHT]], axis=1) if n > 1 \
        else np.zeros((0, 4), dtype=np.float64)
    return labels, boxes, stats[1:n, cv2.CC_STAT_AREA].astype(np.int64)


def components_to_boxes(mask: np.ndarray) -> list[Box]:
    """Tight ``xyxy`` box of every 8-connected component of a boolean mask.

    Pixel units of the mask, ``x1``/``y1`` exclusive (``x1 = last column + 1``). Order: OpenCV's
    label order (raster scan of each component's first pixel).
    """
    _, boxes, _ = _component_stats(mask)
    return [tuple(float(v) for v in b) for b in boxes]


def component_boxes_with_activation(m01: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes [K,4] (pixels, exclusive) of the components of ``mask`` and the mean of ``m01`` inside each."""
    labels, boxes, counts = _component_stats(mask)
    if len(boxes) == 0:
        return boxes, np.zeros(0, dtype=np.float64)
    sums = np.bincount(labels.ravel(), weights=np.asarray(m01, dtype=np.float64).ravel(),
                       minlength=len(boxes) + 1)[1:len(boxes) + 1]
    return boxes, sums / np.maximum(counts, 1)


def box_area(b: np.ndarray) -> np.ndarray:
    """Areas of ``xyxy`` boxes [N,4] (continuous convention, empty boxes -> 0)."""
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU [N,M] of ``xyxy`` boxes a [N,4] and b [M,4] (any common unit, no ``+1``).

    Pairs whose union is empty get IoU 0.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def boxes_from_map(m: np.ndarray, threshold: float | None = None, min_area_px: float = 0.0) -> np.ndarray:
    """Threshold a map and return the tight box of every 8-connected foreground region.

    ``m`` is expected in ``[0, 1]`` (use :func:`normalize_map` first for raw maps); ``threshold`` is
    in map units, ``None`` = Otsu. Foreground is ``floor(255*m) > int(255*threshold)``.
    Returns float64 [N,4] ``xyxy`` in pixels of ``m`` (exclusive ``x1, y1``), boxes with area below
    ``min_area_px`` removed, largest first.
    """
    a = np.asarray(m)
    if a.ndim != 2:
        raise ValueError(f"core/dips/boxes.py: map must be 2-D, got shape {a.shape}")
    thr = otsu_threshold(a) if threshold is None else float(threshold)
    _, boxes, _ = _component_stats(binarize(a, thr))
    areas = box_area(boxes)
    keep = areas >= min_area_px
    boxes, areas = boxes[keep], areas[keep]
    return boxes[np.argsort(-areas, kind="stable")]
