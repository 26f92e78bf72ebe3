"""The one box toolkit: map normalisation, Otsu, binarisation, components -> boxes, box area and IoU.

Two pixel conventions meet here; every function that cares takes ``inclusive`` and says which it uses.

* **Continuous** (``inclusive=False``, the method's convention): ``xyxy`` floats with the exclusive end of
  slicing, so a component covering columns 3..5 gives ``x0 = 3, x1 = 6``; width ``x1 - x0``, area
  ``(x1 - x0) * (y1 - y0)``. Used for proposals, pseudo-labels and predicted boxes, in pixels of the
  array at hand (callers that need normalised boxes divide by its width/height) or image pixels.
* **Inclusive** (``inclusive=True``, wsolevaluation's metric convention): integer pixel boxes whose
  ``x1``/``y1`` are the last covered column/row, area ``(x1 - x0 + 1) * (y1 - y0 + 1)``; the box
  ``(3, 3, 3, 3)`` is one pixel. Used by ``core.eval`` so MaxBoxAcc equals the reference.

IoU is ``torchvision.ops.box_iou`` in float64 in both conventions (an inclusive box is the continuous
box ``(x0, y0, x1 + 1, y1 + 1)``, exactly); a pair whose union is not positive gets IoU 0, as in
wsolevaluation's ``calculate_multiple_iou``.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
from torchvision.ops import box_iou as _tv_box_iou

Box = tuple[float, float, float, float]

# The authors clamp Otsu's level into [1, 254] so that a degenerate histogram never yields an
# all-foreground (t = 0) or all-background (t = 255) mask.
_OTSU_MIN_LEVEL = 1
_OTSU_MAX_LEVEL = 254


def normalize_map(m: np.ndarray, nan_blanks: bool = False) -> np.ndarray:
    """Min-max normalise a map to ``[0, 1]`` (float32, same shape); a constant map becomes all zeros.

    Non-finite values: by default (the method's maps: attention of a fully masked row) each becomes 0
    *before* the min/max are taken. ``nan_blanks=True`` is wsolevaluation's ``normalize_scoremap``: a map
    holding any NaN becomes all zeros. Both compute ``m -= min; m /= max`` in float32, the reference's two
    steps (the reference works in whatever float type it is handed; float32 gave the same uint8 levels as
    the reference on 200 real images, issue 13).
    """
    a = np.array(m, dtype=np.float32, copy=True)
    if a.size == 0:
        return a
    if nan_blanks and np.isnan(a).any():
        return np.zeros_like(a)
    a[~np.isfinite(a)] = 0.0
    lo, hi = a.min(), a.max()
    if lo == hi:
        return np.zeros_like(a)
    a -= lo
    a /= a.max()
    return a


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


def binarize(m: np.ndarray, threshold: float, scale: float = 255.0, snap: bool = True) -> np.ndarray:
    """Foreground mask ``floor(255 * m) > int(scale * threshold)`` (wsolevaluation's rule).

    ``threshold`` is in map units, ``m`` in ``[0, 1]``. ``scale`` is 255 for the method; the metric passes
    the reference's ``max(uint8 map)`` for normalised maps. ``snap`` adds a tiny epsilon so that
    ``binarize(m, otsu_threshold(m))`` uses exactly Otsu's integer level; the metric turns it off to keep
    the reference's plain ``int()`` of its threshold grid.
    """
    level = int(np.floor(float(threshold) * float(scale) + (1e-6 if snap else 0.0)))
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
    return [(float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in boxes]


def component_boxes_with_activation(m01: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes [K,4] (pixels, exclusive) of the components of ``mask`` and the mean of ``m01`` inside each."""
    labels, boxes, counts = _component_stats(mask)
    if len(boxes) == 0:
        return boxes, np.zeros(0, dtype=np.float64)
    sums = np.bincount(labels.ravel(), weights=np.asarray(m01, dtype=np.float64).ravel(),
                       minlength=len(boxes) + 1)[1:len(boxes) + 1]
    return boxes, sums / np.maximum(counts, 1)


def _as_boxes(b) -> np.ndarray:
    return np.asarray(b, dtype=np.float64).reshape(-1, 4)


def box_area(b: np.ndarray, inclusive: bool = False) -> np.ndarray:
    """Areas ``[N]`` of ``xyxy`` boxes ``[N, 4]``: continuous (empty or inverted boxes -> 0) or inclusive
    (``(x1 - x0 + 1) * (y1 - y0 + 1)``, as the reference computes it, no clipping)."""
    b = _as_boxes(b)
    if inclusive:
        return (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def box_intersection(a: np.ndarray, b: np.ndarray, inclusive: bool = False) -> np.ndarray:
    """Pairwise intersection areas ``[N, M]`` of ``xyxy`` boxes a ``[N, 4]`` and b ``[M, 4]``."""
    a, b = _as_boxes(a), _as_boxes(b)
    one = 1.0 if inclusive else 0.0
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + one
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + one
    return np.maximum(0, iw) * np.maximum(0, ih)


def box_iou(a: np.ndarray, b: np.ndarray, inclusive: bool = False) -> np.ndarray:
    """Pairwise IoU ``[N, M]`` (float64) of ``xyxy`` boxes a ``[N, 4]`` and b ``[M, 4]`` in one common unit.

    ``torchvision.ops.box_iou``; inclusive boxes are passed as ``(x0, y0, x1 + 1, y1 + 1)``. Pairs whose
    union is not positive (degenerate boxes) get 0.
    """
    a, b = _as_boxes(a), _as_boxes(b)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    if inclusive:
        a, b = a + (0.0, 0.0, 1.0, 1.0), b + (0.0, 0.0, 1.0, 1.0)
    iou = _tv_box_iou(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    # a non-positive union gives nan, inf or a negative ratio: the reference scores such pairs 0
    return np.where(np.isfinite(iou) & (iou > 0), iou, 0.0)


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
