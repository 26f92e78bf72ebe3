"""Localisation error analysis after TS-CAM (Gao et al., ICCV'21), as used in DiPS Sec. 4.1 / 4.3.

Every image falls in exactly one category, checked in this order (percent of all images):

1. ``Cls``: the predicted class is wrong (only when class predictions are given).
2. ``Correct``: localised, i.e. best IoU ``>= iou_threshold`` (0.5).
3. ``MIns`` (multi-instance error): the prediction box overlaps two or more GT boxes with
   ``IoG = |P & G_k| / |G_k| > 0.3`` each - one box spread over several objects.
4. ``LPE`` (localisation part error): ``IoP = |P & G| / |P| > 0.5`` - the box lies mostly inside
   the object but covers only a part of it.
5. ``LME`` (localisation more error): ``IoA = |P & G| / |G| > 0.7`` - the box holds most of the
   annotated object but is much larger (background, neighbouring objects).
6. ``Others``: every remaining failure (box elsewhere, or off in both directions).

``P`` is the predicted box and ``G`` the GT box of the image's best-IoU (predicted, GT) pair (first on
ties), the pair that decides whether the image is localised; with multi-contour boxes that is the
contour box the metric credits. Areas use the inclusive +1 pixel convention; boxes are integer
pixels of one grid (the evaluation grid). Ratios are "greater than", as in the papers.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.dips.boxes import box_area, box_intersection, box_iou

CATEGORIES = ("Correct", "Cls", "MIns", "LPE", "LME", "Others")


@dataclass(frozen=True)
class ErrorThresholds:
    iou: float = 0.5   # localised when IoU >= this
    iop: float = 0.5   # LPE: intersection over the predicted box
    ioa: float = 0.7   # LME: intersection over the annotated (GT) box
    iog: float = 0.3   # MIns: intersection over each GT box, needed on >= 2 GT boxes


def classify_error(pred: np.ndarray, gt: np.ndarray, class_ok: bool | None = None,
                   th: ErrorThresholds = ErrorThresholds()) -> str:
    """Category of one image (see module docstring): pred ``[M, 4]``, gt ``[K, 4]`` int pixels."""
    if class_ok is not None and not class_ok:
        return "Cls"
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    if len(pred) == 0:
        pred = np.zeros((1, 4))
    iou = box_iou(pred, gt, inclusive=True)
    p, g = divmod(int(np.argmax(iou)), iou.shape[1])
    if iou[p, g] >= th.iou:
        return "Correct"
    inter = box_intersection(pred[p:p + 1], gt, inclusive=True)[0]     # [K]
    iog = inter / box_area(gt, inclusive=True)
    if (iog > th.iog).sum() >= 2:
        return "MIns"
    if inter[g] / box_area(pred[p:p + 1], inclusive=True)[0] > th.iop:
        return "LPE"
    if iog[g] > th.ioa:
        return "LME"
    return "Others"


def localization_errors(pred_boxes: Sequence[np.ndarray], gt_boxes: Sequence[np.ndarray],
                        class_ok: np.ndarray | None = None,
                        th: ErrorThresholds = ErrorThresholds()) -> dict[str, float]:
    """Percent of images per category: ``{'Correct', 'Cls', 'MIns', 'LPE', 'LME', 'Others'}``.

    ``pred_boxes[i]`` ``[M, 4]`` and ``gt_boxes[i]`` ``[K, 4]`` are integer pixels of the same grid;
    ``class_ok[i]`` says whether the class prediction is right (None: classes unknown, Cls = 0).
    """
    if len(pred_boxes) != len(gt_boxes):
        raise ValueError(f"{len(pred_boxes)} predicted box lists but {len(gt_boxes)} GT box lists")
    if len(gt_boxes) == 0:
        raise ValueError("no images for the error analysis")
    if class_ok is not None and len(class_ok) != len(gt_boxes):
        raise ValueError(f"{len(gt_boxes)} images but {len(class_ok)} class flags")
    counts = dict.fromkeys(CATEGORIES, 0)
    for i, (p, g) in enumerate(zip(pred_boxes, gt_boxes, strict=True)):
        if np.size(g) == 0:
            raise ValueError(f"image {i} has no ground-truth box")
        counts[classify_error(p, g, None if class_ok is None else bool(class_ok[i]), th)] += 1
    n = len(gt_boxes)
    return {k: v * 100.0 / n for k, v in counts.items()}
