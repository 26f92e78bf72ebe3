"""Fixed-point drawing primitives, the shadow/colour ink and small geometry helpers."""
from __future__ import annotations

import math

import cv2
import numpy as np

# cv2 draws with sub-pixel precision when coordinates are fixed point with this many fractional bits.
_SHIFT = 4
_ONE = float(1 << _SHIFT)


def _fx(p) -> np.ndarray:
    return np.round(np.asarray(p, np.float64) * _ONE).astype(np.int32)


def _pt(p) -> tuple[int, int]:
    q = _fx(p)
    return int(q[0]), int(q[1])


def _fill(img: np.ndarray, pts, colour) -> None:
    cv2.fillPoly(img, [_fx(pts).reshape(-1, 1, 2)], colour, cv2.LINE_AA, _SHIFT)


def _seg(img: np.ndarray, a, b, colour, width: float) -> None:
    cv2.line(img, _pt(a), _pt(b), colour, max(1, int(round(width))), cv2.LINE_AA, _SHIFT)


def _polyline(img: np.ndarray, pts, colour, width: float) -> None:
    cv2.polylines(img, [_fx(pts).reshape(-1, 1, 2)], False, colour, max(1, int(round(width))),
                  cv2.LINE_AA, _SHIFT)


def _disc(img: np.ndarray, c, r: float, colour) -> None:
    cv2.circle(img, _pt(c), max(1, int(round(r * _ONE))), colour, -1, cv2.LINE_AA, _SHIFT)


def _blend(img: np.ndarray, mask: np.ndarray, colour, alpha: float = 1.0,
           tex: np.ndarray | None = None, amp: float = 0.0) -> None:
    """Composite ``colour`` over the (contiguous) uint8 RGB ``img`` where the uint8 coverage ``mask`` is set.

    ``tex`` (HxW, ~N(0,1)) modulates the colour by ``1 + amp*tex`` so painted areas are not flat.
    Only the covered pixels are touched: most strokes cover a small part of their bounding box.
    """
    cov = mask.reshape(-1)
    idx = np.flatnonzero(cov)
    if idx.size == 0:
        return
    a = cov[idx].astype(np.float32)[:, None] * np.float32(alpha / 255.0)
    flat = img.reshape(-1, 3)
    pix = flat[idx].astype(np.float32)
    col = np.asarray(colour, np.float32)[None, :]
    if tex is not None and amp:
        col = col * (1.0 + np.float32(amp) * tex.reshape(-1)[idx])[:, None]
    flat[idx] = np.clip(pix + (col - pix) * a + 0.5, 0, 255).astype(np.uint8)


class _Ink:
    """Coverage masks per colour, composited at once so sub-pixel lines stay faint.

    cv2's antialiased drawing replaces (not accumulates) mask values, so strokes are replayed in
    increasing coverage: a faint brace drawn later cannot erase a solid leg below it.
    """

    def __init__(self, h: int, w: int):
        self.h, self.w = h, w
        self.ops: dict[tuple[int, int, int], list] = {}

    def _add(self, colour, value: float, kind: str, *args) -> None:
        v = int(round(255 * min(1.0, max(0.0, value))))
        if v > 0:
            self.ops.setdefault(tuple(int(c) for c in colour), []).append((v, kind, args))

    def line(self, colour, a, b, width: float, alpha: float = 1.0) -> None:
        self._add(colour, alpha * min(1.0, width), "l", a, b, width)

    def poly(self, colour, pts, alpha: float = 1.0) -> None:
        self._add(colour, alpha, "p", pts)

    def disc(self, colour, c, r: float, alpha: float = 1.0) -> None:
        self._add(colour, alpha * min(1.0, 2 * r), "d", c, r)

    def masks(self) -> dict[tuple[int, int, int], np.ndarray]:
        out = {}
        for colour, ops in self.ops.items():
            m = np.zeros((self.h, self.w), np.uint8)
            for v, kind, args in sorted(ops, key=lambda o: o[0]):
                if kind == "l":
                    _seg(m, args[0], args[1], v, args[2])
                elif kind == "p":
                    _fill(m, args[0], v)
                else:
                    _disc(m, args[0], max(0.5, args[1]), v)
            out[colour] = m
        return out


def _coverage(masks: dict) -> np.ndarray | None:
    cov = None
    for m in masks.values():
        cov = m.copy() if cov is None else np.maximum(cov, m)
    return cov


def _fractal(rng: np.random.Generator, h: int, w: int, cells, weights=None) -> np.ndarray:
    """Smooth value noise (HxW float32, unit std); ``cells`` are feature sizes in pixels."""
    out = np.zeros((h, w), np.float32)
    weights = weights if weights is not None else [1.0] * len(cells)
    for c, wt in zip(cells, weights, strict=True):
        c = max(float(c), 1.0)
        gh, gw = int(h / c) + 3, int(w / c) + 3
        small = rng.standard_normal((gh, gw), dtype=np.float32)
        if c <= 1.0:
            big = small[:h, :w]
        else:
            big = cv2.resize(small, (int(gw * c), int(gh * c)), interpolation=cv2.INTER_CUBIC)[:h, :w]
        out += np.float32(wt) * big
    s = float(out.std())
    return out / s if s > 0 else out


def _hull(pts) -> np.ndarray:
    p = np.asarray(pts, np.float32).reshape(-1, 2)
    return cv2.convexHull(p).reshape(-1, 2).astype(np.float64)


def _rot(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def _circle_pts(c, r: float, n: int = 20) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.asarray(c, float) + r * np.stack([np.cos(t), np.sin(t)], 1)


def _shade_col(colour, f: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(c * f, 0, 255)) for c in colour)


def _dist_to_polyline(p, pts: np.ndarray) -> float:
    a, b = pts[:-1], pts[1:]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-9), 0, 1)
    d = a + ab * t[:, None] - p
    return float(np.sqrt((d * d).sum(1)).min())

