"""From a localisation map to boxes, and the box overlap measures of the WSOL protocol.

Follows the conventions of ``clovaai/wsolevaluation`` (the metric every WSOL paper reports):

* Map preprocessing: cubic resize (``cv2.INTER_CUBIC``) to the evaluation grid, then min-max
  normalisation (``m -= m.min(); m /= m.max()``, the reference's two steps; it runs them in the float
  type it is handed, we in float32, which gave the same levels on 200 real images); a constant map or
  a map holding a NaN becomes all zeros. Maps that are *not* normalised (foreground probabilities) are only clipped to
  ``[0, 1]`` after the resize, because cubic interpolation overshoots.
* Binarisation at a threshold ``tau``: ``uint8(255 * map) > int(tau * m)``. For a normalised map the
  reference uses ``m = max(uint8(255 * map))``, which is 255 for every non-constant map (and 0 for the
  all-zero map, where nothing is foreground either way), i.e. ``int(tau * 255)``. For an absolute
  map (not normalised) ``m = 255`` so that ``tau`` keeps its meaning as a probability.
* Boxes: ``cv2.findContours(RETR_TREE, CHAIN_APPROX_SIMPLE)``; V1 keeps the contour of largest
  ``cv2.contourArea`` (first one on ties), V2 keeps every contour (inner contours of holes too).
  Each box is ``(x, y, x + w, y + h)`` from ``cv2.boundingRect`` with ``x1 <= W - 1``, ``y1 <= H - 1``.
  No contour gives the single box ``(0, 0, 0, 0)``.
* Overlaps use the inclusive pixel convention: a box ``(x0, y0, x1, y1)`` covers
  ``(x1 - x0 + 1) * (y1 - y0 + 1)`` pixels. A pair whose union is ``<= 0`` has IoU 0.
* GT boxes are mapped to the evaluation grid as the reference's ``resize_bbox``: ``int(box * new_w /
  image_w)`` in float64, multiplication first (``box * (new_w / image_w)`` can truncate a border edge
  to 223 instead of 224).

All boxes here are integer pixels ``xyxy`` of the evaluation grid (the map's own pixels). Box area,
intersection and IoU are ``core.dips.boxes``'s with ``inclusive=True`` (the one box toolkit).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from core.dips.boxes import binarize, box_iou, normalize_map, to_levels

_CONTOUR_MODE = cv2.RETR_TREE
_CONTOUR_METHOD = cv2.CHAIN_APPROX_SIMPLE
EMPTY_BOX = np.zeros((1, 4), dtype=np.int64)  # what an empty mask predicts, as in the reference


def threshold_grid(cam_curve_interval: float = 0.01) -> np.ndarray:
    """The map thresholds tau searched by MaxBoxAcc: ``np.arange(0, 1, cam_curve_interval)``.

    wsolevaluation uses 0.001 on the test split; 0.01 (our default) changes MaxBoxAcc by a few
    hundredths of a point and is ten times cheaper.
    """
    if not 0 < cam_curve_interval < 1:
        raise ValueError(f"cam_curve_interval must be in (0, 1), got {cam_curve_interval}")
    return np.arange(0, 1, cam_curve_interval)


def prepare_map(m: np.ndarray, size_wh: tuple[int, int] | None = None,
                normalise: bool = True) -> np.ndarray:
    """Resize a 2-D map to ``size_wh = (width, height)`` (cubic) and normalise or clip it.

    Returns float32 ``(height, width)`` with values in ``[0, 1]``. ``size_wh=None`` keeps the map's
    own size. With ``normalise=False`` the values are taken as probabilities: NaN -> 0, clip to [0, 1].
    """
    a = np.asarray(m)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"a map must be a non-empty 2-D array (H, W), got shape {a.shape}")
    a = a.astype(np.float32, copy=False)
    if size_wh is not None:
        w, h = int(size_wh[0]), int(size_wh[1])
        if w <= 0 or h <= 0:
            raise ValueError(f"evaluation size must be positive, got {size_wh}")
        if a.shape != (h, w):
            a = cv2.resize(a, (w, h), interpolation=cv2.INTER_CUBIC)
    if normalise:
        return normalize_map(a, nan_blanks=True)
    a = np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(a, 0.0, 1.0).astype(np.float32, copy=False)


def integer_thresholds(thresholds: np.ndarray, map_u8: np.ndarray, normalised: bool = True) -> np.ndarray:
    """``int(tau * m)`` per tau: m = max of the uint8 map when normalised (reference), else 255."""
    scale = float(map_u8.max()) if normalised else 255.0
    return (np.asarray(thresholds, dtype=np.float64) * scale).astype(np.int64)


def binarise(map01: np.ndarray, tau: float, normalised: bool = True) -> np.ndarray:
    """Foreground mask (bool, same shape) at threshold ``tau`` under the reference convention:
    ``uint8(255 * map) > int(tau * m)``, m = max of the uint8 map when normalised, else 255."""
    scale = float(to_levels(map01).max()) if normalised else 255.0
    return binarize(map01, tau, scale=scale, snap=False)


def _contours(mask_u8: np.ndarray):
    found = cv2.findContours(mask_u8, _CONTOUR_MODE, _CONTOUR_METHOD)
    # OpenCV 3 returns (image, contours, hierarchy); 4 and 5 return (contours, hierarchy).
    return found[-2]


def _rect(contour, width: int, height: int) -> list[int]:
    x, y, w, h = cv2.boundingRect(contour)
    return [x, y, min(x + w, width - 1), min(y + h, height - 1)]


def boxes_from_binary(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes of a binary mask (bool or uint8 0/255): ``(v2_boxes [M, 4], v1_box [1, 4])``, int64.

    V2 = one box per contour (RETR_TREE), V1 = the box of the largest-area contour.
    An empty mask gives ``(0, 0, 0, 0)`` for both.
    """
    mask_u8 = mask.astype(np.uint8) * 255 if mask.dtype == bool else np.ascontiguousarray(mask, np.uint8)
    height, width = mask_u8.shape
    contours = _contours(mask_u8)
    if len(contours) == 0:
        return EMPTY_BOX.copy(), EMPTY_BOX.copy()
    v2 = np.array([_rect(c, width, height) for c in contours], dtype=np.int64)
    if len(contours) == 1:
        return v2, v2.copy()
    areas = [cv2.contourArea(c) for c in contours]
    return v2, v2[int(np.argmax(areas))][None].copy()  # argmax = first maximum, like Python's max()


def map_to_boxes(map01: np.ndarray, tau: float, multi_contour: bool = True,
                 normalised: bool = True) -> np.ndarray:
    """Boxes ``[M, 4]`` (int pixels of the map) of a prepared map at threshold tau; V2 if multi_contour."""
    v2, v1 = boxes_from_binary(binarise(map01, tau, normalised))
    return v2 if multi_contour else v1


def best_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[float, int, int]:
    """Best IoU over all (estimated, GT) pairs: ``(iou, pred_index, gt_index)``, first on ties."""
    iou = box_iou(pred, gt, inclusive=True)
    flat = int(np.argmax(iou))
    p, g = divmod(flat, iou.shape[1])
    return float(iou[p, g]), p, g


def resize_boxes(boxes: np.ndarray, image_size_wh: tuple[float, float],
                 target_size_wh: tuple[float, float]) -> np.ndarray:
    """Scale ``[K, 4]`` xyxy boxes from image pixels to a target grid, truncating with ``int()``.

    This is the reference's ``resize_bbox``: ``box * new_w / image_w`` in float64, in that order (scaling by
    the ratio ``new_w / image_w`` instead can round a border edge down a pixel); with equal sizes it only
    truncates to int.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    iw, ih = map(float, image_size_wh)
    tw, th = map(float, target_size_wh)
    if iw <= 0 or ih <= 0:
        raise ValueError(f"image size must be positive, got {image_size_wh}")
    scaled = b * np.array([tw, th, tw, th]) / np.array([iw, ih, iw, ih])
    return np.trunc(scaled).astype(np.int64)


@dataclass
class ThresholdIoU:
    """Best IoU of one image at every tau of a grid, for V2 (all contours) and V1 (largest)."""
    v2: np.ndarray  # [T] float
    v1: np.ndarray  # [T] float


def iou_over_thresholds(map01: np.ndarray, gt: np.ndarray, thresholds: np.ndarray,
                        normalised: bool = True) -> ThresholdIoU:
    """Per-tau best IoU of one prepared map against its GT boxes (both in the map's pixels).

    The binary masks are nested in tau, so two taus give the same mask exactly when they leave the
    same number of pixels above threshold: contours are computed once per distinct mask, and the
    IoU of all boxes of all masks in one vectorised call.
    """
    u8 = to_levels(map01)
    height, width = u8.shape
    t_int = np.clip(integer_thresholds(thresholds, u8, normalised), 0, 255)
    hist = np.bincount(u8.ravel(), minlength=256)
    n_above = u8.size - np.cumsum(hist)  # n_above[t] = pixels with value > t
    keys = n_above[t_int]
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rects: list[Sequence[int]] = []    # cv2 (x, y, w, h), converted below in one go
    starts = np.empty(len(first), dtype=np.int64)   # first box of each distinct mask
    largest = np.empty(len(first), dtype=np.int64)  # its V1 (largest-contour) box
    for j, i in enumerate(first):
        starts[j] = largest[j] = len(rects)
        if keys[i] == 0:
            rects.append((0, 0, 0, 0))  # empty mask: the reference's (0, 0, 0, 0) box
            continue
        _, mask = cv2.threshold(u8, int(t_int[i]), 255, cv2.THRESH_BINARY)
        contours = _contours(mask)
        if len(contours) > 1:
            areas = list(map(cv2.contourArea, contours))
            largest[j] += areas.index(max(areas))  # first maximum, like Python's max()
        rects.extend(cv2.boundingRect(c) for c in contours)
    r = np.array(rects, dtype=np.int64).reshape(-1, 4)
    boxes = np.stack([r[:, 0], r[:, 1], np.minimum(r[:, 0] + r[:, 2], width - 1),
                      np.minimum(r[:, 1] + r[:, 3], height - 1)], axis=1)
    iou = box_iou(boxes, gt, inclusive=True).max(axis=1)
    v2_u = np.maximum.reduceat(iou, starts)
    v1_u = iou[largest]
    inverse = inverse.reshape(-1)
    return ThresholdIoU(v2=v2_u[inverse], v1=v1_u[inverse])
