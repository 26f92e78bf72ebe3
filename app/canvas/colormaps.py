"""Colour lookup tables for attention / foreground maps, and map -> QImage."""
from __future__ import annotations

from functools import cache

import numpy as np
from PySide6.QtGui import QImage

COLORMAPS = ("inferno", "viridis", "magma", "turbo", "gray")


@cache
def lut(name: str) -> np.ndarray:
    """[256, 3] uint8 RGB table."""
    if name == "gray":
        ramp = np.arange(256, dtype=np.uint8)
        return np.stack([ramp] * 3, axis=1)
    import pyqtgraph as pg

    table = pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False)
    return np.ascontiguousarray(table[:, :3], dtype=np.uint8)


ROBUST_PERCENTILE = 99.0


def value_range(m: np.ndarray) -> tuple[float, float]:
    """The values ``normalise`` maps to 0 and 1: the minimum and the 99th percentile (the maximum when they
    coincide). What the colour bar shows at its ends."""
    m = np.nan_to_num(np.asarray(m, dtype=np.float32))
    lo, hi = float(m.min()), float(np.percentile(m, ROBUST_PERCENTILE))
    if hi <= lo:
        hi = float(m.max())
    return lo, hi


def normalise(m: np.ndarray) -> np.ndarray:
    """To [0, 1] per map, from the minimum to the 99th percentile (heads differ wildly in scale, and
    ViT attention has a few outlier tokens that would otherwise leave everything else black)."""
    m = np.nan_to_num(np.asarray(m, dtype=np.float32))
    lo, hi = value_range(m)
    return np.clip((m - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(m)


def colorize(m: np.ndarray, name: str = "inferno", scale: bool = True, fade: bool = False) -> QImage:
    """An [h, w] map as a QImage of the same grid size (the caller stretches it over the image).

    ``scale``: normalise first (``normalise``); otherwise values are taken as [0, 1] (a probability).
    ``fade``: low values become transparent, so an overlay tints only where the map is high and
    leaves the rest of the photo readable.
    """
    v = normalise(m) if scale else np.clip(np.nan_to_num(np.asarray(m, np.float32)), 0.0, 1.0)
    idx = np.round(v * 255).astype(np.uint8)
    rgb = lut(name)[idx]                                   # [h, w, 3]
    if not fade:
        return rgb_to_qimage(rgb)
    alpha = np.round(np.sqrt(v) * 255).astype(np.uint8)   # sqrt: mid values stay visible
    rgba = np.ascontiguousarray(np.concatenate([rgb, alpha[..., None]], axis=2))
    h, w = idx.shape
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """HxWx3 uint8 -> an owning QImage (safe to create on a worker thread)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
