"""Box accuracy at a FIXED operating threshold, chosen without ground truth.

MaxBoxAcc picks the best tau with the test boxes in hand; an inspector using the app never has
them. These functions score maps at one tau fixed in advance, score proposal boxes directly, and
give per-image IoU so a GUI can list the worst images first.

Operating thresholds per map type (``OPERATING_THRESHOLDS``) and whether the map is min-max
normalised before thresholding (``OPERATING_NORMALISED``):

* ``"attention"``: 0.5 of the **min-max normalised** map (a raw attention map has no absolute scale).
* ``"predicted"``: a threshold on the foreground probability from the head's softmax, **not normalised**
  (resized cubic to the evaluation grid and clipped to [0, 1]). 0.5 here; the pipeline passes the
  threshold each prediction run calibrated on its training images' pseudo boxes, without ground truth
  (core/pipeline/predict_stage.py).
* ``"proposal"``: None - the top-ranked proposal box is the prediction itself (``box_acc_for_boxes``).

BoxAcc here is multi-contour (V2 boxes: every contour gives a box, the best-matching pair counts).
All results are percent; the IoU uses the inclusive +1 pixel convention of wsolevaluation.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.eval.boxes_from_maps import best_pair, map_to_boxes, resize_boxes
from core.eval.maxboxacc import IOU_THRESHOLDS, EvalConfig, as_gt_boxes, check_lengths, prepare_image

OPERATING_THRESHOLDS: dict[str, float | None] = {
    "attention": 0.5,   # tau on the min-max normalised attention map
    "predicted": 0.5,   # tau on the foreground probability (softmax), NOT normalised
    "proposal": None,   # no map: the box itself
}
OPERATING_NORMALISED: dict[str, bool | None] = {
    "attention": True,
    "predicted": False,
    "proposal": None,
}


def operating_point(map_type: str) -> tuple[float | None, bool | None]:
    """``(tau, normalise)`` for a map type of ``OPERATING_THRESHOLDS``."""
    if map_type not in OPERATING_THRESHOLDS:
        raise ValueError(f"unknown map type {map_type!r}; expected one of {sorted(OPERATING_THRESHOLDS)}")
    return OPERATING_THRESHOLDS[map_type], OPERATING_NORMALISED[map_type]


def box_acc_from_ious(ious: np.ndarray, iou_thresholds: Sequence[int] = IOU_THRESHOLDS) -> dict:
    """``{delta: % of images with IoU >= delta/100, ..., 'mean': mean of those}`` from per-image IoU."""
    iou = np.asarray(ious, dtype=np.float64).reshape(-1)
    if iou.size == 0:
        raise ValueError("no images to score")
    out: dict = {int(d): float((iou >= d / 100).mean() * 100.0) for d in iou_thresholds}
    out["mean"] = float(np.mean([out[int(d)] for d in iou_thresholds]))
    return out


def predicted_boxes_at(maps: Sequence[np.ndarray], gt_boxes: Sequence[np.ndarray], tau: float,
                       image_sizes: Sequence[tuple[int, int]] | None = None, cfg: EvalConfig | None = None,
                       normalise: bool = True, multi_contour: bool = True
                       ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Boxes of each map at tau, with the GT boxes, both in integer pixels of the evaluation grid.

    ``image_sizes=None``: GT boxes are in each map's own pixels and maps are used at their own size.
    """
    cfg = cfg or EvalConfig()
    check_lengths(maps, gt_boxes, image_sizes)
    preds, gts = [], []
    for i in range(len(maps)):
        size = None if image_sizes is None else image_sizes[i]
        m01, gt = prepare_image(maps[i], gt_boxes[i], size, cfg, normalise, i)
        preds.append(map_to_boxes(m01, tau, multi_contour, normalise))
        gts.append(gt)
    return preds, gts


def _ious(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> np.ndarray:
    return np.array([best_pair(p, g)[0] for p, g in zip(preds, gts, strict=True)], dtype=np.float64)


def per_image_iou(maps: Sequence[np.ndarray], gt_boxes: Sequence[np.ndarray], tau: float,
                  image_sizes: Sequence[tuple[int, int]] | None = None, cfg: EvalConfig | None = None,
                  normalise: bool = True, multi_contour: bool = True) -> np.ndarray:
    """Best IoU per image ``[N]`` at the fixed threshold tau (sort ascending for worst-first)."""
    return _ious(*predicted_boxes_at(maps, gt_boxes, tau, image_sizes, cfg, normalise, multi_contour))


def box_acc_at_threshold(maps: Sequence[np.ndarray], gt_boxes: Sequence[np.ndarray], tau: float,
                         image_sizes: Sequence[tuple[int, int]] | None = None, cfg: EvalConfig | None = None,
                         normalise: bool = True) -> dict:
    """BoxAccV2 at one fixed tau: ``{30: %, 50: %, 70: %, 'mean': %}`` (multi-contour boxes)."""
    cfg = cfg or EvalConfig()
    ious = per_image_iou(maps, gt_boxes, tau, image_sizes, cfg, normalise, multi_contour=True)
    return box_acc_from_ious(ious, cfg.iou_thresholds)


def boxes_on_grid(pred_boxes: Sequence[np.ndarray], gt_boxes: Sequence[np.ndarray],
                  image_sizes: Sequence[tuple[int, int]] | None, cfg: EvalConfig
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Predicted and GT boxes (xyxy image pixels) as int pixels of the evaluation grid."""
    if len(pred_boxes) != len(gt_boxes):
        raise ValueError(f"{len(pred_boxes)} predicted box lists but {len(gt_boxes)} GT box lists")
    if image_sizes is not None and len(image_sizes) != len(gt_boxes):
        raise ValueError(f"{len(gt_boxes)} images but {len(image_sizes)} image sizes")
    if len(gt_boxes) == 0:
        raise ValueError("nothing to evaluate: no images")
    preds, gts = [], []
    for i, (p, g) in enumerate(zip(pred_boxes, gt_boxes, strict=True)):
        g = as_gt_boxes(g, i)
        p = np.asarray(p, dtype=np.float64).reshape(-1, 4) if np.size(p) else np.zeros((1, 4))
        if image_sizes is None:
            preds.append(resize_boxes(p, (1, 1), (1, 1)))
            gts.append(resize_boxes(g, (1, 1), (1, 1)))
            continue
        size = image_sizes[i]
        grid = cfg.grid_size(size, (0, 0))
        preds.append(resize_boxes(p, size, grid))
        gts.append(resize_boxes(g, size, grid))
    return preds, gts


def per_image_iou_for_boxes(pred_boxes: Sequence[np.ndarray], gt_boxes: Sequence[np.ndarray],
                            image_sizes: Sequence[tuple[int, int]] | None = None,
                            cfg: EvalConfig | None = None) -> np.ndarray:
    """Best IoU per image ``[N]`` of predicted boxes (xyxy image pixels; ``[M, 4]`` each, M >= 0).

    Boxes are put on the same evaluation grid as maps (``cfg.eval_size``, int truncation); with
    ``image_sizes=None`` they are only truncated to int. An image with no predicted box scores
    the box (0, 0, 0, 0), like an empty map.
    """
    cfg = cfg or EvalConfig()
    return _ious(*boxes_on_grid(pred_boxes, gt_boxes, image_sizes, cfg))


def box_acc_for_boxes(pred_boxes: Sequence[np.ndarray], gt_boxes: Sequence[np.ndarray],
                      image_sizes: Sequence[tuple[int, int]] | None = None,
                      cfg: EvalConfig | None = None) -> dict:
    """BoxAcc of boxes used directly as predictions (``--maps proposal``): ``{30, 50, 70, 'mean'}`` %."""
    cfg = cfg or EvalConfig()
    return box_acc_from_ious(per_image_iou_for_boxes(pred_boxes, gt_boxes, image_sizes, cfg),
                             cfg.iou_thresholds)
