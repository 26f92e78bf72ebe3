"""PxAP: pixel average precision of maps against GT foreground masks (wsolevaluation, OpenImages).

Scores are binned on the edges ``[0, s, 2s, ..., 1 - s, 1, 2, 3]`` (s = ``cam_curve_interval``)
separately for GT-foreground and GT-background pixels, summed over all images. Reading the bins
from the top down gives, at each threshold, TP (foreground pixels at or above it) and FP; then
``precision = TP / (TP + FP)``, ``recall = TP / #foreground`` and

    PxAP = 100 * sum_i precision_i * (recall_i - recall_{i-1})

over the operating points whose ``TP + FP > 0``. Mask pixels: 1 = foreground, 0 = background,
anything else (e.g. 255, the reference's "ignore" label) is left out. A bool mask is fg/bg only.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from core.eval.boxes_from_maps import threshold_grid


def mask_to_grid(mask: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """Resize a label mask to ``(width, height)`` with nearest neighbour (labels must not blend)."""
    m = np.asarray(mask)
    if m.dtype == bool:
        m = m.astype(np.uint8)
    if m.ndim != 2:
        raise ValueError(f"a mask must be 2-D (H, W), got shape {m.shape}")
    w, h = int(size_wh[0]), int(size_wh[1])
    if m.shape == (h, w):
        return m
    if m.dtype not in (np.uint8, np.uint16, np.float32, np.int16):
        m = m.astype(np.uint16 if m.max(initial=0) > 255 else np.uint8)
    return cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST)


@dataclass
class PxAPAccumulator:
    """Streaming PxAP: ``add`` one (map, mask) pair at a time, ``compute`` at the end."""
    cam_curve_interval: float = 0.01
    edges: np.ndarray = field(init=False)
    fg_hist: np.ndarray = field(init=False)
    bg_hist: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.edges = np.append(threshold_grid(self.cam_curve_interval), [1.0, 2.0, 3.0])
        self.fg_hist = np.zeros(len(self.edges) - 1, dtype=np.float64)
        self.bg_hist = np.zeros(len(self.edges) - 1, dtype=np.float64)

    def add(self, map01: np.ndarray, mask: np.ndarray) -> None:
        """Add one map (values in [0, 1]) and its label mask of the same shape."""
        m = np.asarray(map01)
        g = np.asarray(mask)
        if m.shape != g.shape:
            raise ValueError(f"map shape {m.shape} differs from mask shape {g.shape}")
        fg = g.astype(bool) if g.dtype == bool else g == 1
        bg = ~g.astype(bool) if g.dtype == bool else g == 0
        self.fg_hist += np.histogram(m[fg], bins=self.edges)[0]
        self.bg_hist += np.histogram(m[bg], bins=self.edges)[0]

    def curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(precision, recall, valid)`` from the highest threshold down; ``valid`` = TP + FP > 0."""
        tp = self.fg_hist[::-1].cumsum()
        fp = self.bg_hist[::-1].cumsum()
        n_fg = self.fg_hist.sum()
        if n_fg <= 0:
            raise ValueError("PxAP: no foreground pixel in any GT mask")
        valid = (tp + fp) > 0
        if not valid.any():
            raise ValueError("PxAP: no scored pixel (all masks empty or ignored)")
        precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=valid)
        recall = tp / n_fg
        return precision, recall, valid

    def compute(self) -> float:
        """PxAP in percent."""
        precision, recall, valid = self.curve()
        return float((precision[1:] * np.diff(recall))[valid[1:]].sum() * 100.0)


def pxap(maps01: Sequence[np.ndarray], masks: Sequence[np.ndarray], cam_curve_interval: float = 0.01) -> float:
    """PxAP (percent) of prepared maps (values in [0, 1]) against masks of the same shapes."""
    if len(maps01) != len(masks):
        raise ValueError(f"{len(maps01)} maps but {len(masks)} masks")
    acc = PxAPAccumulator(cam_curve_interval)
    for i, (m, g) in enumerate(zip(maps01, masks, strict=True)):
        try:
            acc.add(m, g)
        except ValueError as e:
            raise ValueError(f"image {i}: {e}") from None
    return acc.compute()
