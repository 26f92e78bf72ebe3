"""Precision and recall of box *lists* (what an inspector is shown), not of maps.

MaxBoxAcc asks whether the best of an image's boxes hits an object; an inspector sees every box. Here
each predicted box may match one ground-truth box (greedy, in the order given: highest score first), at
IoU >= ``iou`` in the continuous convention of ``core.dips.boxes`` on image pixels.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.dips.boxes import box_iou


def match_boxes(pred: np.ndarray, gt: np.ndarray, iou: float = 0.5) -> np.ndarray:
    """For each predicted box ``[N, 4]`` (best first) the index of the GT box ``[M, 4]`` it matches, or -1.

    Greedy one-to-one matching as in PASCAL VOC: each predicted box in turn takes the unmatched GT box of
    highest IoU when that IoU is >= ``iou``.
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    out = np.full(len(pred), -1, dtype=np.int64)
    if len(pred) == 0 or len(gt) == 0:
        return out
    ious = box_iou(pred, gt)
    free = np.ones(len(gt), dtype=bool)
    for i in range(len(pred)):
        cand = np.where(free, ious[i], -1.0)
        j = int(np.argmax(cand))
        if cand[j] >= iou:
            out[i], free[j] = j, False
    return out


@dataclass
class BoxListStats:
    """Totals over images: true positives, predicted boxes, GT boxes (precision/recall in percent)."""
    tp: int
    n_pred: int
    n_gt: int

    @property
    def precision(self) -> float:
        return 100.0 * self.tp / self.n_pred if self.n_pred else float("nan")

    @property
    def recall(self) -> float:
        return 100.0 * self.tp / self.n_gt if self.n_gt else float("nan")


def precision_recall(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray], iou: float = 0.5) -> BoxListStats:
    """Precision/recall of predicted box lists (one ``[N_i, 4]`` per image, best first) against GT lists."""
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predicted box lists but {len(gts)} GT box lists")
    tp = n_pred = n_gt = 0
    for p, g in zip(preds, gts, strict=True):
        m = match_boxes(p, g, iou)
        tp += int((m >= 0).sum())
        n_pred += len(m)
        n_gt += len(np.asarray(g).reshape(-1, 4))
    return BoxListStats(tp, n_pred, n_gt)
