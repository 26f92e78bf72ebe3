"""Built-in demo data set: synthetic drone views of cell-tower sites and of places without one.

``write_demo`` renders a small, deterministic, folder-per-class data set::

    out_dir/images/site/site_0001.jpg ...      lattice tower + fenced compound somewhere in the view
    out_dir/images/no_site/no_site_0001.jpg    the same kinds of landscape and distractors, no tower site
    out_dir/masks/site/site_0001.png           binary mask (0/255) of the tower site, for pixel metrics
    out_dir/ground_truth.json                  COCO: one box per site image, none for no_site images

The scene is rendered with a simple 3-D camera model: a pinhole camera ``alt`` metres above flat
ground whose nadir (the image point straight below it) may lie outside the frame, so vertical
things (tower, poles, walls, trees) lean away from the nadir like in an oblique drone shot and
cast shadows along one sun direction. Every image ``i`` draws from its own
``numpy.random.default_rng([seed, i])`` and its class depends only on ``i`` and ``site_fraction``,
so the first images of a larger set are byte-identical to a smaller one (same size, same seed).
The recipe is described in ``resources/demo_recipe.md``.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

CLASSES: tuple[str, str] = ("site", "no_site")
_STREAM = 0xD1B5  # mixed into every image's seed so the demo's streams differ from other seeded code

# cv2 draws with sub-pixel precision when coordinates are fixed point with this many fractional bits.
_SHIFT = 4
_ONE = float(1 << _SHIFT)


@dataclass(frozen=True)
class DemoInfo:
    """Where ``write_demo`` put things. ``classes`` are folder names = COCO category names."""

    root: Path
    image_dir: Path
    gt_path: Path
    n_images: int
    classes: tuple[str, ...]
    mask_dir: Path | None = None


# ----------------------------------------------------------------------------------------------
# drawing primitives (coordinates are float image pixels, x right, y down)

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
    for c, wt in zip(cells, weights):
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


# ----------------------------------------------------------------------------------------------
# scene: camera, sun, canvas and what is already occupied

@dataclass
class _Scene:
    rng: np.random.Generator
    w: int
    h: int
    ppm: float            # ground sampling: image pixels per metre on the ground
    nadir: np.ndarray     # (2,) image point straight below the camera, px (often outside the frame)
    alt: float            # camera height above ground, m
    sun: np.ndarray       # (2,) unit vector: the direction shadows fall in the image
    shadow_k: float       # shadow length per metre of height = 1 / tan(sun elevation)
    img: np.ndarray       # HxWx3 uint8 RGB canvas
    fine: np.ndarray      # HxW pixel-scale texture, ~N(0,1)
    shadow: _Ink = None   # all cast shadows, applied to the ground before raised things are drawn
    taken: list = field(default_factory=list)   # (x, y, r) px discs already used on the ground
    roads: list = field(default_factory=list)   # (polyline px (N,2), half width px)
    later: list = field(default_factory=list)   # (z order, callable) raised things drawn after shadows

    def up(self, p, z):
        """Image position of the point ``z`` metres above ground point ``p`` (px); broadcasts."""
        p = np.asarray(p, np.float64)
        z = np.asarray(z, np.float64)
        f = self.alt / np.maximum(self.alt - z, 1e-3)
        return self.nadir + (p - self.nadir) * (f[..., None] if f.ndim else f)

    def cast(self, p, z):
        """Ground position of the shadow of the point ``z`` metres above ``p`` (px); broadcasts."""
        p = np.asarray(p, np.float64)
        z = np.asarray(z, np.float64)
        d = z * self.shadow_k * self.ppm
        return p + self.sun * (d[..., None] if d.ndim else d)

    def scale(self, z: float) -> float:
        """Pixels per metre for things ``z`` metres above the ground (closer to the camera)."""
        return self.ppm * self.alt / max(self.alt - z, 1e-3)

    def local(self, c, angle: float, xy_m) -> np.ndarray:
        """Ground pixels of points given in metres in a frame centred at ``c`` and rotated by ``angle``."""
        return np.asarray(c, float) + (np.asarray(xy_m, float) @ _rot(angle).T) * self.ppm

    def free(self, p, r: float, road_gap: float = 1.0) -> bool:
        p = np.asarray(p, float)
        for x, y, rr in self.taken:
            if (p[0] - x) ** 2 + (p[1] - y) ** 2 < (r + rr) ** 2:
                return False
        for pts, hw in self.roads:
            if _dist_to_polyline(p, pts) < r + hw + road_gap * self.ppm:
                return False
        return True

    def inside(self, p, margin: float = 0.0) -> bool:
        return margin <= p[0] <= self.w - margin and margin <= p[1] <= self.h - margin

    def rand_point(self, pad: float = 0.0) -> np.ndarray:
        return np.array([self.rng.uniform(-pad, self.w + pad), self.rng.uniform(-pad, self.h + pad)])

    def paint(self, draw: Callable[[np.ndarray], None], colour, alpha: float = 1.0, amp: float = 0.0) -> None:
        m = np.zeros((self.h, self.w), np.uint8)
        draw(m)
        _blend(self.img, m, colour, alpha, self.fine, amp)


# ----------------------------------------------------------------------------------------------
# ground

_GROUND = {  # RGB pairs the ground colour is mixed between
    "grass": ((80, 104, 50), (116, 128, 66)),
    "lawn": ((74, 112, 48), (104, 134, 64)),
    "lush": ((50, 80, 38), (80, 106, 52)),
    "dry": ((146, 136, 94), (178, 162, 114)),
    "soil": ((108, 88, 68), (142, 118, 92)),
    "stubble": ((174, 160, 118), (198, 184, 140)),
    "paved": ((138, 136, 130), (162, 160, 152)),
}
_KINDS = {  # ground kinds per scene type
    "rural": ("grass", "dry", "soil", "stubble", "lush", "grass"),
    "suburban": ("lawn", "grass", "grass", "dry"),
    "industrial": ("dry", "paved", "grass", "soil"),
    "wooded": ("lush", "grass", "lush"),
}


def _ground(sc: _Scene, scene_type: str) -> list:
    """Fill the canvas with fields/meadows; returns the field-boundary lines (point, direction)."""
    rng, h, w = sc.rng, sc.h, sc.w
    h2, w2 = (h + 1) // 2, (w + 1) // 2   # colours vary slowly: build them at half resolution
    low = _fractal(rng, h2, w2, [22 * sc.ppm, 7 * sc.ppm], [1.0, 0.6])
    mid = _fractal(rng, h, w, [4 * sc.ppm, 1.5 * sc.ppm], [1.0, 0.7])
    yy, xx = np.mgrid[0:h2, 0:w2].astype(np.float32) * 2
    n_lines = int(rng.integers(0, 4)) if scene_type in ("rural", "industrial") else int(rng.integers(0, 2))
    label = np.zeros((h2, w2), np.uint8)
    lines = []
    for i in range(n_lines):
        p = sc.rand_point(-0.15 * min(w, h))
        a = rng.uniform(0, np.pi)
        d = np.array([math.cos(a), math.sin(a)])
        lines.append((p, d))
        label += ((((xx - p[0]) * -d[1] + (yy - p[1]) * d[0]) > 0).astype(np.uint8) << i)
    n_lab = 1 << n_lines
    kinds = _KINDS[scene_type]
    ca = np.zeros((n_lab, 3), np.float32)
    cb = np.zeros((n_lab, 3), np.float32)
    amp = np.zeros(n_lab, np.float32)
    cos_t = np.zeros(n_lab, np.float32)
    sin_t = np.zeros(n_lab, np.float32)
    freq = np.zeros(n_lab, np.float32)
    tint = np.zeros(n_lab, np.float32)
    for k in range(n_lab):
        kind = kinds[int(rng.integers(len(kinds)))]
        jitter = rng.normal(1.0, 0.05, 3)
        ca[k] = np.asarray(_GROUND[kind][0]) * jitter
        cb[k] = np.asarray(_GROUND[kind][1]) * jitter
        tint[k] = rng.uniform(-0.25, 0.25)
        period = rng.uniform(0.9, 3.5) * sc.ppm   # crop rows / mowing stripes
        if kind in ("soil", "stubble", "dry", "lush", "grass") and period >= 3.0 and rng.random() < 0.6:
            amp[k] = rng.uniform(0.04, 0.09)
            t = rng.uniform(0, np.pi)
            cos_t[k], sin_t[k] = math.cos(t), math.sin(t)
            freq[k] = 2 * np.pi / period
    t = np.clip(0.5 + 0.3 * low + tint[label], 0, 1)[..., None]
    col = ca[label] * (1 - t) + cb[label] * t
    bare = np.clip((low - 1.3) * 1.5, 0, 0.6)[..., None]   # worn earth where the slow noise is high
    col = col * (1 - bare) + np.float32([128, 110, 84]) * bare
    col = cv2.resize(col, (w, h), interpolation=cv2.INTER_LINEAR)
    bright = 1.0 + 0.07 * mid + 0.05 * sc.fine
    if amp.any():
        lab = cv2.resize(label, (w, h), interpolation=cv2.INTER_NEAREST)
        fy, fx = np.mgrid[0:h, 0:w].astype(np.float32)
        bright += amp[lab] * np.sin((fx * cos_t[lab] + fy * sin_t[lab]) * freq[lab])
    sc.img[:] = np.clip(col * bright[..., None], 0, 255).astype(np.uint8)
    return lines


def _scrub(sc: _Scene, n: int) -> None:
    """Bushes and tussocks: small dark specks on the ground (drawn before roads cover them)."""
    rng = sc.rng
    centres = np.stack([rng.uniform(0, sc.w, n), rng.uniform(0, sc.h, n)], 1)
    # bushes grow in patches: pull half of them towards a few seeds
    seeds = np.stack([rng.uniform(0, sc.w, 4), rng.uniform(0, sc.h, 4)], 1)
    k = n // 2
    centres[:k] = seeds[rng.integers(0, 4, k)] + rng.normal(0, 12 * sc.ppm, (k, 2))
    radii = rng.uniform(0.5, 1.5, n) * sc.ppm

    def draw(m):
        for c, r in zip(centres, radii):
            _disc(m, c, max(r, 0.6), 255)
    sc.paint(draw, (46, 62, 30), 0.55, 0.3)


def _clip_line(sc: _Scene, p, d) -> np.ndarray:
    ext = 2 * (sc.w + sc.h)
    return np.stack([p - d * ext, p + d * ext])


# ----------------------------------------------------------------------------------------------
# roads and tracks

def _curve(sc: _Scene, p, d, bend: float) -> np.ndarray:
    """A gently curved polyline through ``p`` along ``d`` that crosses the whole image."""
    ext = 1.5 * math.hypot(sc.w, sc.h)
    a, b = p - d * ext, p + d * ext
    n = np.array([-d[1], d[0]])
    c = p + n * bend
    t = np.linspace(0, 1, 48)[:, None]
    return (1 - t) ** 2 * a + 2 * t * (1 - t) * c + t ** 2 * b


def _offset(pts: np.ndarray, off: float) -> np.ndarray:
    tan = np.gradient(pts, axis=0)
    tan /= np.maximum(np.linalg.norm(tan, axis=1, keepdims=True), 1e-9)
    return pts + np.stack([-tan[:, 1], tan[:, 0]], 1) * off


def _dashes(pts: np.ndarray, dash: float, period: float, phase: float):
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0], np.cumsum(seg)])
    for s0 in np.arange(phase, s[-1] - dash, period):
        a = np.array([np.interp(s0, s, pts[:, 0]), np.interp(s0, s, pts[:, 1])])
        b = np.array([np.interp(s0 + dash, s, pts[:, 0]), np.interp(s0 + dash, s, pts[:, 1])])
        yield a, b


def _draw_road(sc: _Scene, pts: np.ndarray, width_m: float, paved: bool) -> None:
    rng, ppm = sc.rng, sc.ppm
    wpx = width_m * ppm
    if paved:
        verge = rng.uniform(0.8, 2.0) * ppm
        sc.paint(lambda m: _polyline(m, pts, 255, wpx + 2 * verge), (140, 128, 104), 0.55, 0.15)
        tone = rng.uniform(82, 118)
        asphalt = (tone, tone * 1.0, tone * 1.03)
        sc.paint(lambda m: _polyline(m, pts, 255, wpx), asphalt, 1.0, 0.06)

        def wear(m):  # the wheel tracks are polished a little darker
            for off in (-0.25, 0.25):
                _polyline(m, _offset(pts, off * wpx), 255, 0.15 * wpx)
        sc.paint(wear, _shade_col(asphalt, 0.92), 0.5, 0.1)
        mark_w = 0.15 * ppm
        white = (226, 226, 218) if rng.random() < 0.8 else (220, 196, 90)
        a_mark = min(1.0, mark_w) * 0.9   # sub-pixel paint lines only tint the asphalt
        dashes = list(_dashes(pts, 3.0 * ppm, rng.uniform(8, 12) * ppm, rng.uniform(0, 6) * ppm)) \
            if width_m >= 5.5 else []
        edges = [_offset(pts, side * (wpx / 2 - 0.4 * ppm)) for side in (-1, 1)] if rng.random() < 0.6 else []

        def marks(m):
            for a, b in dashes:
                _seg(m, a, b, 255, mark_w)
            for e in edges:
                _polyline(m, e, 230, mark_w)
        if dashes or edges:
            sc.paint(marks, white, a_mark)
    else:  # dirt / gravel track: lighter, with two darker wheel ruts
        col = (150, 134, 104) if rng.random() < 0.5 else (168, 160, 142)
        sc.paint(lambda m: _polyline(m, pts, 255, wpx), col, 0.9, 0.1)

        def ruts(m):
            for off in (-0.22, 0.22):
                _polyline(m, _offset(pts, off * wpx), 255, max(1.0, 0.18 * wpx))
        sc.paint(ruts, _shade_col(col, 0.82), 0.5, 0.1)


def _plan_road(sc: _Scene, width_m: float, through=None, tries: int = 20) -> np.ndarray | None:
    rng = sc.rng
    for _ in range(tries):
        p = np.asarray(through, float) if through is not None else sc.rand_point(-0.05 * sc.w)
        a = rng.uniform(0, np.pi)
        pts = _curve(sc, p, np.array([math.cos(a), math.sin(a)]), rng.normal(0, 0.12) * sc.w)
        hw = width_m * sc.ppm / 2
        if all(_dist_to_polyline(np.array([x, y]), pts) > r + hw + 2 * sc.ppm for x, y, r in sc.taken):
            sc.roads.append((pts, hw))
            return pts
    return None


def _track_to(sc: _Scene, start, width_m: float) -> np.ndarray:
    """An access track from ``start`` to the nearest road, or out of the image if there is none."""
    rng = sc.rng
    start = np.asarray(start, float)
    best = None
    for pts, _ in sc.roads:
        d = np.linalg.norm(pts - start, axis=1)
        i = int(d.argmin())
        if best is None or d[i] < best[0]:
            best = (d[i], pts[i])
    if best is not None and best[0] < 0.8 * max(sc.w, sc.h):
        end = best[1]
    else:
        a = rng.uniform(0, 2 * np.pi)
        end = start + np.array([math.cos(a), math.sin(a)]) * 2 * max(sc.w, sc.h)
    mid = (start + end) / 2 + rng.normal(0, 0.08, 2) * np.linalg.norm(end - start)
    t = np.linspace(0, 1, 24)[:, None]
    pts = (1 - t) ** 2 * start + 2 * t * (1 - t) * mid + t ** 2 * end
    sc.roads.append((pts[3:], width_m * sc.ppm / 2))  # keep things off the track, not off its start
    return pts


# ----------------------------------------------------------------------------------------------
# raised things: boxes (buildings, cabinets, cars), trees, tanks, poles, billboards

def _box(sc: _Scene, c, angle: float, l_m: float, w_m: float, h_m: float, wall, roof,
         roof_kind: str = "flat", z0: float = 0.0, mask: np.ndarray | None = None) -> None:
    """A box building (``roof_kind`` flat / gable / hip); queues the drawing, casts its shadow now."""
    hl, hw = l_m / 2, w_m / 2
    foot = sc.local(c, angle, [[-hl, -hw], [hl, -hw], [hl, hw], [-hl, hw]])
    rise = 0.0 if roof_kind == "flat" else min(w_m * 0.32, 3.5)
    if roof_kind == "gable":
        ridge = sc.local(c, angle, [[-hl, 0], [hl, 0]])
    elif roof_kind == "hip":
        ridge = sc.local(c, angle, [[-hl + hw * 0.9, 0], [hl - hw * 0.9, 0]])
    else:
        ridge = None
    top = h_m + z0
    shadow_pts = [foot, sc.cast(foot, top)]
    if ridge is not None:
        shadow_pts.append(sc.cast(ridge, top + rise))
    sc.shadow.poly((0, 0, 0), _hull(np.concatenate(shadow_pts)))
    sun_lit = -sc.sun

    def draw():
        base = sc.up(foot, z0)
        eave = sc.up(foot, top)
        pts = [base, eave] + ([sc.up(ridge, top + rise)] if ridge is not None else [])
        hull = _hull(np.concatenate(pts))
        _fill(sc.img, hull, _shade_col(wall, 0.78))
        if mask is not None:
            _fill(mask, hull, 255)
        if ridge is None:
            _fill(sc.img, eave, roof)
            inset = sc.up(sc.local(c, angle, [[-hl + 0.35, -hw + 0.35], [hl - 0.35, -hw + 0.35],
                                              [hl - 0.35, hw - 0.35], [-hl + 0.35, hw - 0.35]]), top)
            if l_m > 3:  # parapet: the roof field sits a little lower and darker than its rim
                _fill(sc.img, inset, _shade_col(roof, 0.93))
            return
        r = sc.up(ridge, top + rise)
        n_side = np.array([-math.sin(angle), math.cos(angle)])  # outward normal of the +w roof plane
        planes = [(np.array([eave[0], eave[1], r[1], r[0]]), -n_side),
                  (np.array([eave[3], eave[2], r[1], r[0]]), n_side)]
        if roof_kind == "hip":
            n_end = np.array([math.cos(angle), math.sin(angle)])
            planes += [(np.array([eave[0], eave[3], r[0]]), -n_end), (np.array([eave[1], eave[2], r[1]]), n_end)]
        away = np.asarray(c) - sc.nadir
        planes.sort(key=lambda pl: -float(pl[1] @ away))  # planes facing away from the camera first
        for poly, nrm in planes:
            _fill(sc.img, poly, _shade_col(roof, 0.9 + 0.22 * float(nrm @ sun_lit)))
        _seg(sc.img, r[0], r[1], _shade_col(roof, 1.15), max(1.0, 0.2 * sc.ppm))

    sc.later.append((3 + z0 * 0.01, draw))


_ROOFS = [(150, 74, 56), (128, 62, 48), (92, 92, 96), (70, 72, 78), (120, 110, 100),
          (176, 172, 166), (104, 78, 64), (160, 100, 70)]
_WALLS = [(214, 206, 190), (196, 188, 172), (222, 218, 210), (180, 160, 140)]
_CARS = [(232, 232, 230), (200, 202, 206), (30, 32, 36), (60, 62, 70), (150, 30, 34), (40, 60, 120),
         (120, 124, 130), (220, 220, 216)]


def _building(sc: _Scene, c, angle: float, big: bool = False) -> bool:
    rng = sc.rng
    if big:
        l_m, w_m, h_m = rng.uniform(25, 60), rng.uniform(15, 35), rng.uniform(5, 10)
        kind = "flat"
    else:
        l_m, w_m, h_m = rng.uniform(9, 20), rng.uniform(7, 12), rng.uniform(3, 7)
        kind = ("gable", "hip", "flat")[int(rng.choice(3, p=[0.5, 0.3, 0.2]))]
    r = 0.5 * math.hypot(l_m, w_m) * sc.ppm
    if not sc.free(c, r, 2.0):
        return False
    sc.taken.append((c[0], c[1], r))
    roof = (_ROOFS if not big else _ROOFS[2:6] + [(190, 190, 186), (150, 152, 150)])
    roof_col = tuple(int(v) for v in np.asarray(roof[int(rng.integers(len(roof)))]) * rng.uniform(0.9, 1.1))
    _box(sc, c, angle, l_m, w_m, h_m, _WALLS[int(rng.integers(len(_WALLS)))], roof_col, kind)
    if kind == "flat" and rng.random() < 0.7:  # rooftop units
        for _ in range(int(rng.integers(1, 4 if not big else 8))):
            off = rng.uniform(-0.35, 0.35, 2) * [l_m, w_m]
            _box(sc, sc.local(c, angle, off), angle, rng.uniform(1, 3), rng.uniform(1, 2.5), rng.uniform(0.6, 1.5),
                 (170, 170, 168), (196, 196, 194), z0=h_m)
    return True


def _tree(sc: _Scene, g, r_m: float, h_m: float, dark: float = 1.0) -> None:
    rng = sc.rng
    r_g = r_m * sc.ppm
    zc = max(h_m - r_m * 0.8, 1.5)
    # shadow: the crown's ellipse stretched along the sun, plus the trunk
    lo, hi = sc.cast(g, max(zc - 1.2 * r_m, 0.3 * zc)), sc.cast(g, zc + 0.7 * r_m)
    sc.shadow.line((0, 0, 0), g, lo, 0.35 * sc.ppm)
    sc.shadow.poly((0, 0, 0), _hull(np.concatenate([_circle_pts(lo, r_g * 0.85), _circle_pts(hi, r_g * 0.8)])))
    base = np.asarray([58, 84, 40]) * rng.uniform(0.8, 1.15) * dark * rng.normal(1, 0.04, 3)
    lobes = [(rng.normal(0, 0.35, 2), rng.uniform(0.45, 0.7)) for _ in range(int(rng.integers(4, 8)))]
    light = -sc.sun

    def draw():
        c = sc.up(g, zc)
        s = sc.scale(zc)
        _disc(sc.img, c, r_m * s * 0.9, _shade_col(base, 0.55))
        for off, rr in lobes:
            p = c + off * r_m * s * 0.7
            _disc(sc.img, p, rr * r_m * s, _shade_col(base, 0.75 + 0.1 * float(off @ light)))
        for off, rr in lobes[:3]:
            p = c + (off * 0.5 + light * 0.3) * r_m * s
            _disc(sc.img, p, rr * r_m * s * 0.55, _shade_col(base, 1.05))

    sc.later.append((4 + h_m * 0.01, draw))


def _trees_around(sc: _Scene, centre, spread_m: float, n: int, dark: float = 1.0) -> None:
    rng = sc.rng
    for _ in range(n):
        g = np.asarray(centre, float) + rng.normal(0, spread_m * sc.ppm, 2)
        r_m = rng.uniform(1.8, 4.5)
        if sc.inside(g, -r_m * sc.ppm * 2) and sc.free(g, r_m * sc.ppm * 0.8, 0.5):
            sc.taken.append((g[0], g[1], r_m * sc.ppm * 0.5))
            _tree(sc, g, r_m, r_m * rng.uniform(1.8, 3.2), dark)


def _tree_row(sc: _Scene, p, d, spacing_m: float = 6.0) -> None:
    rng = sc.rng
    line = _clip_line(sc, p, d)
    n = int(np.linalg.norm(line[1] - line[0]) / (spacing_m * sc.ppm))
    keep = rng.uniform(0.4, 0.95)
    for t in np.linspace(0, 1, max(n, 2)):
        g = line[0] + (line[1] - line[0]) * t + rng.normal(0, 0.8 * sc.ppm, 2)
        if sc.inside(g, -8 * sc.ppm) and rng.random() < keep:
            r_m = rng.uniform(2.0, 4.0)
            if sc.free(g, r_m * sc.ppm * 0.6, 0.5):
                _tree(sc, g, r_m, r_m * rng.uniform(2.0, 3.0))


def _car(sc: _Scene, c, angle: float) -> None:
    rng = sc.rng
    col = np.asarray(_CARS[int(rng.integers(len(_CARS)))], float)
    l_m, w_m = rng.uniform(4.0, 4.9), rng.uniform(1.7, 1.9)
    body = sc.local(c, angle, [[-l_m / 2, -w_m / 2], [l_m / 2, -w_m / 2], [l_m / 2, w_m / 2], [-l_m / 2, w_m / 2]])
    sc.shadow.poly((0, 0, 0), _hull(np.concatenate([body, sc.cast(body, 1.4)])))
    cab = [[-1.3, -0.75], [0.9, -0.75], [0.9, 0.75], [-1.3, 0.75]]
    glass = sc.local(c, angle, cab)
    roof = sc.local(c, angle, [[-1.0, -0.62], [0.5, -0.62], [0.5, 0.62], [-1.0, 0.62]])

    def draw():
        _fill(sc.img, _hull(np.concatenate([body, sc.up(body, 0.9)])), _shade_col(col, 0.7))
        _fill(sc.img, sc.up(body, 0.9), col)
        _fill(sc.img, sc.up(glass, 1.3), (38, 42, 48))
        _fill(sc.img, sc.up(roof, 1.45), _shade_col(col, 1.05))

    sc.later.append((2.5, draw))


def _cars_on_road(sc: _Scene, pts: np.ndarray, hw: float, n: int) -> None:
    rng = sc.rng
    for _ in range(n):
        i = int(rng.integers(2, len(pts) - 2))
        if not sc.inside(pts[i], -20):
            continue
        d = pts[i + 1] - pts[i - 1]
        ang = math.atan2(d[1], d[0]) + (np.pi if rng.random() < 0.5 else 0)
        lane = hw * 0.45 * (1 if rng.random() < 0.5 else -1)
        n_ = np.array([-d[1], d[0]]) / max(np.linalg.norm(d), 1e-9)
        t = rng.uniform(0, 1)
        p = pts[i] + (pts[i + 1] - pts[i]) * t + n_ * lane
        _car(sc, p, ang)


def _pole(sc: _Scene, ink: _Ink, g, h_m: float, arm_dir, lamp: bool) -> tuple:
    """Utility pole or street lamp at ground point ``g``: casts its shadow now and returns a
    callable that inks it, and the 3-D ends (ground px, height m) of its cross-arm for wires."""
    pole_w = 0.28
    sc.shadow.line((0, 0, 0), g, sc.cast(g, h_m), pole_w * sc.ppm * 1.2, 0.9)
    arm = np.asarray(arm_dir, float)
    if lamp:
        head = g + arm * 1.8 * sc.ppm
        sc.shadow.line((0, 0, 0), sc.cast(g, h_m), sc.cast(head, h_m), 0.15 * sc.ppm * 1.2, 0.8)
        ends = ()
    else:
        a, b = g - arm * 1.2 * sc.ppm, g + arm * 1.2 * sc.ppm
        sc.shadow.line((0, 0, 0), sc.cast(a, h_m - 0.6), sc.cast(b, h_m - 0.6), 0.15 * sc.ppm * 1.2, 0.8)
        ends = ((a, h_m - 0.6), (g, h_m - 0.2), (b, h_m - 0.6))

    def draw():
        top = sc.up(g, h_m)
        ink.line((70, 64, 58) if not lamp else (120, 122, 124), g, top, pole_w * sc.scale(h_m / 2) * 1.3)
        if lamp:
            hp = sc.up(head, h_m)
            ink.line((150, 150, 150), top, hp, 0.15 * sc.scale(h_m) * 1.5)
            ink.disc((225, 225, 215), hp, 0.35 * sc.scale(h_m))
        else:
            ink.line((90, 80, 70), sc.up(ends[0][0], ends[0][1]), sc.up(ends[2][0], ends[2][1]),
                     0.15 * sc.scale(h_m) * 1.4)

    return draw, ends


def _pole_line(sc: _Scene, p, d, along_road: bool) -> None:
    """A line of utility poles with sagging wires, or street lamps when ``along_road``."""
    rng = sc.rng
    lamp = along_road and rng.random() < 0.5
    spacing = rng.uniform(30, 45) * sc.ppm if lamp else rng.uniform(40, 70) * sc.ppm
    h_m = rng.uniform(7, 10) if lamp else rng.uniform(9, 13)
    line = _clip_line(sc, p, d)
    L = np.linalg.norm(line[1] - line[0])
    n_dir = np.array([-d[1], d[0]])
    ink = _Ink(sc.h, sc.w)
    prev = None
    draws, wires = [], []
    for s in np.arange(rng.uniform(0, spacing), L, spacing):
        g = line[0] + d * s
        if not sc.inside(g, -spacing):
            prev = None
            continue
        draw, ends = _pole(sc, ink, g, h_m, n_dir if not lamp else -n_dir, lamp)
        draws.append(draw)
        if prev is not None and not lamp:
            wires.append((prev, ends))
        prev = ends
    if not draws:
        return
    for a_ends, b_ends in wires:  # faint wire shadows
        for (ga, za), (gb, zb) in zip(a_ends, b_ends):
            sc.shadow.line((0, 0, 0), sc.cast(ga, za - 0.6), sc.cast(gb, zb - 0.6), 1.0, 0.25)

    def draw_all():
        for draw in draws:
            draw()
        for a_ends, b_ends in wires:
            for (ga, za), (gb, zb) in zip(a_ends, b_ends):
                t = np.linspace(0, 1, 9)[:, None]
                g = ga + (gb - ga) * t
                z = za + (zb - za) * t[:, 0] - 1.2 * 4 * t[:, 0] * (1 - t[:, 0])   # sag
                pts = sc.up(g, z)
                for i in range(len(pts) - 1):
                    ink.line((40, 40, 42), pts[i], pts[i + 1], 1.0, 0.45)
        for c, m in ink.masks().items():
            _blend(sc.img, m, c)

    sc.later.append((6, draw_all))


def _tank(sc: _Scene, g, elevated: bool) -> bool:
    """A ground water/fuel tank, or an elevated water tower on braced legs (tower-like distractor)."""
    rng = sc.rng
    r_m = rng.uniform(2.5, 5.5) if elevated else rng.uniform(3, 9)
    legs_h = rng.uniform(12, 22) if elevated else 0.0
    h_m = rng.uniform(4, 7) if elevated else rng.uniform(4, 12)
    if not sc.free(g, r_m * sc.ppm * 1.3, 1.0):
        return False
    sc.taken.append((g[0], g[1], r_m * sc.ppm * 1.3))
    col = np.asarray([(200, 200, 196), (150, 160, 150), (120, 140, 120), (210, 206, 196)][int(rng.integers(4))], float)
    base = _circle_pts(g, r_m * sc.ppm)
    z0, z1 = legs_h, legs_h + h_m
    sc.shadow.poly((0, 0, 0), _hull(np.concatenate([sc.cast(base, z0), sc.cast(base, z1)])))
    legs = [g + r_m * 0.75 * sc.ppm * np.array([math.cos(a), math.sin(a)])
            for a in rng.uniform(0, 1) + np.arange(4) * np.pi / 2] if elevated else []
    for lg in legs:
        sc.shadow.line((0, 0, 0), lg, sc.cast(lg, z0), 0.4 * sc.ppm, 0.9)

    def draw():
        if elevated:
            ink = _Ink(sc.h, sc.w)
            for i, lg in enumerate(legs):
                nx = legs[(i + 1) % 4]
                ink.line((90, 92, 90), lg, sc.up(lg, z0), 0.4 * sc.scale(z0 / 2) * 1.3)
                for za, zb in ((0, z0 / 2), (z0 / 2, z0)):
                    ink.line((110, 110, 108), sc.up(lg, za), sc.up(nx, zb), 0.12 * sc.scale(zb) * 1.3)
            for c, m in ink.masks().items():
                _blend(sc.img, m, c)
        body = _hull(np.concatenate([sc.up(base, z0), sc.up(base, z1)]))
        _fill(sc.img, body, _shade_col(col, 0.75))
        topc = sc.up(g, z1)
        _disc(sc.img, topc, r_m * sc.scale(z1), col)
        _disc(sc.img, topc, r_m * sc.scale(z1) * 0.55, _shade_col(col, 0.93))
        _disc(sc.img, topc, max(1.0, 0.4 * sc.scale(z1)), _shade_col(col, 0.7))

    sc.later.append((5, draw))
    return True


def _billboard(sc: _Scene, g, d) -> bool:
    rng = sc.rng
    w_m, h_m, top = rng.uniform(5, 10), rng.uniform(2.5, 4), rng.uniform(6, 10)
    if not sc.free(g, w_m / 2 * sc.ppm, 0.5):
        return False
    sc.taken.append((g[0], g[1], w_m / 2 * sc.ppm))
    d = np.asarray(d, float)
    a, b = g - d * w_m / 2 * sc.ppm, g + d * w_m / 2 * sc.ppm
    posts = [g - d * w_m / 4 * sc.ppm, g + d * w_m / 4 * sc.ppm]
    panel_g = np.array([a, b, b, a])
    panel_z = np.array([top - h_m, top - h_m, top, top])
    sc.shadow.poly((0, 0, 0), sc.cast(panel_g, panel_z))
    for p in posts:
        sc.shadow.line((0, 0, 0), p, sc.cast(p, top - h_m), 0.35 * sc.ppm)
    face = tuple(int(v) for v in rng.uniform(60, 240, 3))

    def draw():
        ink = _Ink(sc.h, sc.w)
        for p in posts:
            ink.line((80, 80, 82), p, sc.up(p, top - h_m), 0.35 * sc.scale(top / 2) * 1.3)
        for c, m in ink.masks().items():
            _blend(sc.img, m, c)
        quad = sc.up(panel_g, panel_z)
        _fill(sc.img, quad, (120, 120, 124))
        inner = quad.mean(0) + (quad - quad.mean(0)) * 0.85
        _fill(sc.img, inner, face)

    sc.later.append((6, draw))
    return True


# ----------------------------------------------------------------------------------------------
# the tower site: fenced gravel compound, cabinets, lattice tower with antennas

_STEEL_LIT = (188, 190, 194)
_STEEL_DARK = (104, 108, 116)


@dataclass
class _SitePlan:
    centre: np.ndarray    # compound centre, ground px
    angle: float          # compound orientation, rad
    size_m: tuple         # compound (length, width), m
    base: np.ndarray      # tower base centre, ground px
    height: float         # tower height, m
    r0: float             # tower base radius, m (corner distance from the axis)
    r1: float             # tower top radius, m


def _plan_site(sc: _Scene, height: float, tries: int = 60) -> _SitePlan | None:
    """Place the compound where the whole site (tower top included) fits in the frame.

    Also sets the camera altitude ``sc.alt`` so that the tower's top appears a chosen distance
    from its base: that lean is what makes a site big or small in the picture.
    """
    rng = sc.rng
    short = min(sc.w, sc.h)
    l_m, w_m = rng.uniform(9, 17), rng.uniform(8, 14)
    r0 = rng.uniform(0.07, 0.1) * height
    r1 = rng.uniform(0.6, 1.0)
    margin = 3.0
    for _ in range(tries):
        c = np.array([rng.uniform(0.1, 0.9) * sc.w, rng.uniform(0.1, 0.9) * sc.h])
        ang = rng.uniform(0, np.pi)
        base = sc.local(c, ang, rng.uniform(-0.15, 0.15, 2) * [l_m, w_m])
        lean_px = min(sc.ppm * height * rng.uniform(0.3, 1.2), 0.28 * short)
        dist = float(np.linalg.norm(base - sc.nadir))
        sc.alt = height * float(np.clip(1 + dist / max(lean_px, 1.0), 1.5, 25.0))
        corners = sc.local(c, ang, np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [l_m / 2, w_m / 2])
        top = sc.up(base, height + 3.0)
        rad = (r1 + 2.5) * sc.scale(height)
        pts = np.concatenate([corners, sc.up(corners, 2.5), top[None] + [[-rad, -rad], [rad, rad]]])
        if (pts.min(0) >= margin).all() and (pts[:, 0].max() <= sc.w - margin) and (pts[:, 1].max() <= sc.h - margin):
            return _SitePlan(c, ang, (l_m, w_m), base, height, r0, r1)
    return None


def _compound(sc: _Scene, plan: _SitePlan, mask: np.ndarray | None, with_tower: bool) -> None:
    """Gravel floor now, fence and cabinets later; ``mask`` (if given) receives the site's pixels."""
    rng = sc.rng
    l_m, w_m = plan.size_m
    corners = sc.local(plan.centre, plan.angle, np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [l_m / 2, w_m / 2])
    gravel = tuple(int(v) for v in np.asarray((160, 156, 146)) * rng.uniform(0.88, 1.06))
    sc.paint(lambda m: _fill(m, corners, 255), gravel, 1.0, 0.13)
    if mask is not None:
        _fill(mask, corners, 255)
    if with_tower:  # concrete pad under the tower
        pad = sc.local(plan.base, plan.angle, np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * (plan.r0 + 0.8))
        sc.paint(lambda m: _fill(m, pad, 255), (196, 194, 188), 0.9, 0.06)
    # equipment: a row of cabinets along one side, sometimes a small shelter
    side = 1 if rng.random() < 0.5 else -1
    n_cab = int(rng.integers(2, 6))
    x0 = rng.uniform(-l_m / 2 + 1.2, 0)
    cab_col = [(228, 228, 224), (200, 204, 206), (214, 206, 184), (150, 160, 156)][int(rng.integers(4))]
    for i in range(n_cab):
        cx = x0 + i * 1.1
        if cx > l_m / 2 - 1.0:
            break
        _box(sc, sc.local(plan.centre, plan.angle, [cx, side * (w_m / 2 - 1.2)]), plan.angle,
             0.9, 0.7, rng.uniform(1.5, 2.0), cab_col, _shade_col(cab_col, 1.05), mask=mask)
    if rng.random() < 0.45:
        _box(sc, sc.local(plan.centre, plan.angle, [l_m / 2 - 2.4, -side * (w_m / 2 - 2.0)]), plan.angle,
             3.2, 2.6, 2.7, (206, 204, 196), (182, 182, 178), mask=mask)
    _fence(sc, corners, rng.uniform(2.0, 2.6), mask)


def _fence(sc: _Scene, corners: np.ndarray, h_m: float, mask: np.ndarray | None) -> None:
    rng = sc.rng
    col = (194, 196, 194) if rng.random() < 0.8 else (76, 96, 72)
    sides = [(corners[i], corners[(i + 1) % 4]) for i in range(4)]
    for a, b in sides:
        sc.shadow.poly((0, 0, 0), np.array([a, b, sc.cast(b, h_m), sc.cast(a, h_m)]), 0.22)
        sc.shadow.line((0, 0, 0), sc.cast(a, h_m), sc.cast(b, h_m), 0.1 * sc.ppm * 1.5, 0.6)

    def draw():
        ink = _Ink(sc.h, sc.w)
        post = _shade_col(col, 0.75)
        for a, b in sides:
            ta, tb = sc.up(a, h_m), sc.up(b, h_m)
            ink.poly(col, np.array([a, b, tb, ta]), 0.2)   # chain-link mesh, see-through
            ink.line(col, ta, tb, 0.09 * sc.scale(h_m) * 2)
            ink.line(col, a, b, 0.06 * sc.ppm * 2)
            n_posts = max(2, int(np.linalg.norm(b - a) / (3.0 * sc.ppm)) + 1)
            for t in np.linspace(0, 1, n_posts):
                p = a + (b - a) * t
                ink.line(post, p, sc.up(p, h_m), 0.1 * sc.scale(h_m) * 2)
        masks = ink.masks()
        for c, m in masks.items():
            _blend(sc.img, m, c)
        if mask is not None:
            np.maximum(mask, _coverage(masks), out=mask)

    sc.later.append((2, draw))


def _tower(sc: _Scene, plan: _SitePlan, mask: np.ndarray) -> None:
    """Self-supporting lattice tower: tapering legs, X-bracing, platform, panel antennas, dishes."""
    rng = sc.rng
    H, r0, r1 = plan.height, plan.r0, plan.r1
    n_legs = 4 if rng.random() < 0.6 else 3
    theta = plan.angle + (np.pi / 4 if n_legs == 4 else rng.uniform(0, np.pi))
    z_straight = H * (1 - rng.uniform(0.1, 0.3))   # the top section does not taper
    painted = rng.random() < 0.15   # aviation red/white bands

    def radius(z: float) -> float:
        return r1 if z >= z_straight else r1 + (r0 - r1) * (1 - z / z_straight)

    dirs = [np.array([math.cos(theta + 2 * np.pi * i / n_legs), math.sin(theta + 2 * np.pi * i / n_legs)])
            for i in range(n_legs)]

    def corner(i: int, z: float) -> np.ndarray:
        return plan.base + dirs[i % n_legs] * radius(z) * sc.ppm

    levels = [0.0]
    while levels[-1] < H - 0.5:
        z = levels[-1]
        step = 2 * radius(z) * math.sin(np.pi / n_legs) * rng.uniform(0.8, 1.0)
        levels.append(min(H, z + float(np.clip(step, 1.4, 6.0))))
    levels[-1] = H
    lit_dir = -sc.sun
    band = H / 7

    def colour(z: float, lit: bool):
        if painted:
            return (196, 64, 52) if int(z / band) % 2 == 0 else (226, 224, 218)
        return _STEEL_LIT if lit else _STEEL_DARK

    segs = []  # (ground a, z a, ground b, z b, width m, lit)
    for k in range(len(levels) - 1):
        za, zb = levels[k], levels[k + 1]
        for i in range(n_legs):
            j = i + 1
            face_n = (dirs[i] + dirs[j % n_legs])
            face_lit = float(face_n @ lit_dir) > 0
            segs.append((corner(i, za), za, corner(i, zb), zb, 0.32, float(dirs[i] @ lit_dir) > -0.2))
            segs.append((corner(i, za), za, corner(j, zb), zb, 0.08, face_lit))
            segs.append((corner(j, za), za, corner(i, zb), zb, 0.08, face_lit))
            segs.append((corner(i, zb), zb, corner(j, zb), zb, 0.12, face_lit))
    # platform with railing near the top, and a lightning rod
    zp = H - 0.6
    plat = [plan.base + d * (r1 + 1.0) * sc.ppm for d in dirs]
    for i in range(n_legs):
        a, b = plat[i], plat[(i + 1) % n_legs]
        segs.append((a, zp, b, zp, 0.15, True))
        segs.append((a, zp + 1.1, b, zp + 1.1, 0.08, True))
    segs.append((plan.base, H, plan.base, H + rng.uniform(2, 4), 0.08, True))

    # antennas: sectors of vertical panels on the platform (one or two tiers), microwave dishes lower
    panels = []  # (ground centre, z centre, tangent, width m, height m)
    n_sec = 3
    for tier_z in [H - 1.6] + ([H - rng.uniform(4.5, 6.5)] if rng.random() < 0.45 else []):
        for s in range(n_sec):
            a = theta + np.pi / n_legs + 2 * np.pi * s / n_sec
            out = np.array([math.cos(a), math.sin(a)])
            tan = np.array([-out[1], out[0]])
            for p in range(int(rng.integers(1, 4))):
                off = (p - 1) * 0.65
                g = plan.base + (out * (radius(tier_z) + 1.0) + tan * off) * sc.ppm
                panels.append((g, tier_z, tan, 0.32, rng.uniform(1.3, 2.6)))
    dishes = []
    for _ in range(int(rng.integers(0, 4))):
        z = H * rng.uniform(0.5, 0.88)
        i = int(rng.integers(n_legs))
        dishes.append((plan.base + dirs[i] * (radius(z) + 0.5) * sc.ppm, z, rng.uniform(0.3, 0.6)))

    # shadows, at ground scale
    for ga, za, gb, zb, wm, _ in segs:
        sc.shadow.line((0, 0, 0), sc.cast(ga, za), sc.cast(gb, zb), wm * sc.ppm * 1.4)
    for g, z, tan, wm, hm in panels:
        e = tan * wm / 2 * sc.ppm
        quad_g = np.array([g - e, g + e, g + e, g - e])
        quad_z = np.array([z - hm / 2, z - hm / 2, z + hm / 2, z + hm / 2])
        sc.shadow.poly((0, 0, 0), sc.cast(quad_g, quad_z))
        sc.shadow.line((0, 0, 0), sc.cast(g, z - hm / 2), sc.cast(g, z + hm / 2), wm * sc.ppm)
    for g, z, r in dishes:
        sc.shadow.disc((0, 0, 0), sc.cast(g, z), r * sc.ppm)

    def draw():
        ink = _Ink(sc.h, sc.w)
        vis = 1.15  # thin steel against the ground reads a bit wider than its width (glare, blur)
        for ga, za, gb, zb, wm, lit in segs:
            zm = (za + zb) / 2
            ink.line(colour(zm, lit), sc.up(ga, za), sc.up(gb, zb), wm * sc.scale(zm) * vis)
        plat_px = sc.up(np.array(plat), zp)
        ink.poly(_STEEL_DARK, plat_px, 0.45)  # grating
        for g, z, tan, wm, hm in panels:
            e = tan * wm / 2 * sc.ppm
            quad = sc.up(np.array([g - e, g + e, g + e, g - e]), z + np.array([-1, -1, 1, 1]) * hm / 2)
            ink.poly((232, 232, 228), quad)
            ink.line((232, 232, 228), sc.up(g, z - hm / 2), sc.up(g, z + hm / 2), wm * sc.scale(z) * vis)
        for g, z, r in dishes:
            ink.disc((214, 214, 210), sc.up(g, z), r * sc.scale(z))
        masks = ink.masks()
        for c, m in masks.items():
            _blend(sc.img, m, c)
        np.maximum(mask, _coverage(masks), out=mask)

    sc.later.append((9, draw))


# ----------------------------------------------------------------------------------------------
# one image

def _camera(rng: np.random.Generator, w: int, h: int) -> tuple[float, np.ndarray]:
    """Ground sampling (px per metre) and the nadir point (px); the altitude comes from the site plan."""
    short = min(w, h)
    # from a far-away site (~1.6 px/m at 480 px) to a close one (~7 px/m)
    ppm = math.exp(rng.uniform(math.log(1.6), math.log(7.0))) * short / 480
    if rng.random() < 0.25:   # near top-down: nadir inside the frame
        nadir = np.array([rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h])
    else:                     # oblique: the camera looks forward, its nadir lies below the frame
        nadir = np.array([rng.normal(0.5, 0.25) * w, rng.uniform(1.1, 2.2) * h])
    return ppm, nadir


def _render(rng: np.random.Generator, w: int, h: int, site: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Render one RGB image (HxWx3 uint8) and, for a site image, its site mask (HxW uint8 0/255)."""
    scene_type = ("rural", "suburban", "industrial", "wooded")[int(rng.choice(4, p=[0.4, 0.25, 0.15, 0.2]))]
    tower_h = rng.uniform(24, 48)
    elev = math.radians(rng.uniform(22, 68))
    az = rng.uniform(0, 2 * np.pi)
    plan = None
    for _ in range(12):   # camera settings under which the site fits the frame
        ppm, nadir = _camera(rng, w, h)
        sc = _Scene(rng, w, h, ppm, nadir, tower_h * 3, np.array([math.cos(az), math.sin(az)]), 1 / math.tan(elev),
                    np.zeros((h, w, 3), np.uint8), np.zeros((1, 1), np.float32))
        plan = _plan_site(sc, tower_h)
        if plan is not None:
            break
    sc.fine = _fractal(rng, h, w, [1.0, 2.0], [0.6, 1.0])
    sc.shadow = _Ink(h, w)
    mask = np.zeros((h, w), np.uint8) if site else None
    if plan is not None and site:
        sc.taken.append((*plan.centre, 0.55 * math.hypot(*plan.size_m) * ppm))

    lines = _ground(sc, scene_type)
    area_ha = w * h / ppm ** 2 / 1e4
    per_ha = {"rural": 30, "suburban": 8, "industrial": 6, "wooded": 60}[scene_type]
    _scrub(sc, min(int(rng.poisson(per_ha * area_ha * rng.uniform(0.2, 1.5))), 300))
    # field boundaries: hedgerows with trees, or farm tracks
    for p, d in lines:
        u = rng.random()
        if u < 0.4:
            _tree_row(sc, p, d)
        elif u < 0.6:
            pts = _clip_line(sc, p, d)
            pts = np.linspace(pts[0], pts[1], 40)
            if all(_dist_to_polyline(np.array([x, y]), pts) > r + 3 * ppm for x, y, r in sc.taken):
                sc.roads.append((pts, 1.6 * ppm))
                _draw_road(sc, pts, 3.2, False)

    # roads
    n_roads = {"rural": rng.choice(3, p=[0.3, 0.55, 0.15]), "suburban": rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2]),
               "industrial": rng.choice([1, 2]), "wooded": rng.choice(2, p=[0.4, 0.6])}[scene_type]
    roads = []
    for i in range(int(n_roads)):
        wm = rng.uniform(6, 9) if (scene_type != "rural" or i == 0) else rng.uniform(3, 4.5)
        paved = scene_type != "rural" or wm > 5 or rng.random() < 0.3
        pts = _plan_road(sc, wm)
        if pts is not None:
            _draw_road(sc, pts, wm, paved or wm > 5)
            roads.append((pts, wm * ppm / 2, paved or wm > 5))

    # the site (or, in either class, a fenced yard without a tower as a distractor)
    if site and plan is not None:
        gate = sc.local(plan.centre, plan.angle, [plan.size_m[0] / 2, 0])
        track = _track_to(sc, gate, rng.uniform(3, 4.2))
        _draw_road(sc, track, sc.roads[-1][1] * 2 / ppm, False)
        _compound(sc, plan, mask, True)
        _tower(sc, plan, mask)
    if rng.random() < (0.15 if site else 0.3):
        for _ in range(20):
            c = sc.rand_point(-0.05 * w)
            l_m, w_m = rng.uniform(8, 20), rng.uniform(7, 15)
            r = 0.55 * math.hypot(l_m, w_m) * ppm
            if sc.free(c, r, 2.0):
                sc.taken.append((c[0], c[1], r))
                yard = _SitePlan(c, rng.uniform(0, np.pi), (l_m, w_m), c, 0.0, 1.0, 1.0)
                if rng.random() < 0.8:  # like a site, a yard is reached by a track
                    track = _track_to(sc, sc.local(c, yard.angle, [l_m / 2, 0]), rng.uniform(3, 4.2))
                    _draw_road(sc, track, sc.roads[-1][1] * 2 / ppm, False)
                _compound(sc, yard, None, False)
                break

    # buildings, mostly lined up along roads
    area_ha = w * h / ppm ** 2 / 1e4
    per_ha = {"rural": 0.25, "suburban": 2.5, "industrial": 0.5, "wooded": 0.15}[scene_type]
    n_build = min(int(rng.poisson(per_ha * area_ha)), 40)
    for _ in range(n_build):
        big = scene_type == "industrial" and rng.random() < 0.6
        if roads and rng.random() < 0.75:
            pts, hw, _ = roads[int(rng.integers(len(roads)))]
            i = int(rng.integers(1, len(pts) - 1))
            d = pts[i + 1] - pts[i - 1]
            d /= max(np.linalg.norm(d), 1e-9)
            nrm = np.array([-d[1], d[0]]) * (1 if rng.random() < 0.5 else -1)
            t = rng.uniform(0, 1)
            setback = hw + rng.uniform(6, 14) * ppm * (2.5 if big else 1)
            c = pts[i] + (pts[i + 1] - pts[i]) * t + nrm * setback
            ang = math.atan2(d[1], d[0]) + rng.normal(0, 0.04) + (np.pi / 2 if rng.random() < 0.3 else 0)
        else:
            c = sc.rand_point(0.05 * w)
            ang = rng.uniform(0, np.pi)
        if sc.inside(c, -20 * ppm):
            if _building(sc, c, ang, big) and not big and rng.random() < 0.3:
                _car(sc, c + rng.normal(0, 6, 2) * ppm, rng.uniform(0, np.pi))

    # distractors that stand up like a tower: utility poles / street lamps, tanks, billboards
    for pts, hw, paved in roads:
        if rng.random() < 0.55:
            i = len(pts) // 2
            d = pts[i + 1] - pts[i - 1]
            d /= max(np.linalg.norm(d), 1e-9)
            side = 1 if rng.random() < 0.5 else -1
            p0 = pts[i] + np.array([-d[1], d[0]]) * side * (hw + rng.uniform(1.5, 4) * ppm)
            _pole_line(sc, p0, d, along_road=paved)
        if paved:
            _cars_on_road(sc, pts, hw, int(rng.poisson(0.6 + 2.5 * (scene_type != "rural"))))
    if rng.random() < 0.3:  # power line across the fields
        a = rng.uniform(0, np.pi)
        _pole_line(sc, sc.rand_point(), np.array([math.cos(a), math.sin(a)]), along_road=False)
    for _ in range(int(rng.poisson(0.45 if scene_type == "industrial" else 0.2))):
        _tank(sc, sc.rand_point(), elevated=rng.random() < 0.35)
    if rng.random() < 0.15 and roads:
        pts, hw, _ = roads[0]
        i = int(rng.integers(1, len(pts) - 1))
        d = pts[i + 1] - pts[i - 1]
        d /= max(np.linalg.norm(d), 1e-9)
        _billboard(sc, pts[i] + np.array([-d[1], d[0]]) * (hw + 6 * ppm), d)

    # trees: clusters, plus a few loners
    per_ha = {"rural": 6, "suburban": 12, "industrial": 3, "wooded": 40}[scene_type]
    n_trees = min(int(rng.poisson(per_ha * area_ha)) + 2, 140)
    while n_trees > 0:
        k = int(min(n_trees, rng.integers(1, 14 if scene_type == "wooded" else 7)))
        _trees_around(sc, sc.rand_point(0.05 * w), rng.uniform(4, 18 if scene_type == "wooded" else 10), k)
        n_trees -= k

    # cast shadows, then everything that stands up, lowest first
    strength = rng.uniform(0.45, 0.62) if rng.random() < 0.8 else rng.uniform(0.15, 0.3)
    smask = _coverage(sc.shadow.masks())
    if smask is not None:
        soft = rng.uniform(0.4, 1.0) if strength > 0.35 else rng.uniform(1.5, 3.0)
        smask = cv2.GaussianBlur(smask, (0, 0), soft)
        _blend(sc.img, smask, (20, 22, 32), strength)
    for _, draw in sorted(sc.later, key=lambda t: t[0]):
        draw()
    img = _camera_look(rng, sc.img)
    if mask is not None:
        mask = np.where(mask >= 96, 255, 0).astype(np.uint8)
    return img, mask


@lru_cache(maxsize=8)
def _radius2(w: int, h: int) -> np.ndarray:
    """Squared distance from the image centre, 1 at the middle of each edge (HxW float32)."""
    yy, xx = np.ogrid[0:h, 0:w]
    return (((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2).astype(np.float32)


def _camera_look(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Lighting and sensor: softness, haze, exposure, contrast, colour cast, vignette, noise."""
    h, w = img.shape[:2]
    out = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.35, 0.8))
    haze = rng.uniform(0.0, 0.16)
    contrast = rng.uniform(0.85, 1.18)
    gain = rng.uniform(0.82, 1.15)
    cast = rng.normal(1.0, 0.035, 3)
    # per channel: v -> ((v*(1-haze) + 255*haze*tint - 0.45*255) * contrast + 0.45*255) * gain * cast,
    # applied as a lookup table
    tint = np.array([0.74, 0.77, 0.82])
    v = np.arange(256, dtype=np.float64)[:, None]
    lut = ((v * (1 - haze) + 255 * haze * tint - 0.45 * 255) * contrast + 0.45 * 255) * gain * cast
    out = cv2.LUT(out, np.clip(lut + 0.5, 0, 255).astype(np.uint8).reshape(1, 256, 3))
    vign = 1 - rng.uniform(0, 0.18) / 2 * _radius2(w, h)
    noise = rng.standard_normal((h, w), dtype=np.float32) * np.float32(rng.uniform(1.0, 3.0))
    f = out.astype(np.float32) * vign[..., None] + noise[..., None]
    return np.clip(f + 0.5, 0, 255).astype(np.uint8)


def render_demo_image(seed: int, index: int, size: tuple[int, int] = (640, 480),
                      site: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Image ``index`` of the demo with ``seed``: (HxWx3 uint8 RGB, HxW uint8 0/255 site mask or None).

    ``size`` is (width, height) in pixels. Deterministic in (seed, index, size, site).
    """
    rng = np.random.default_rng([_STREAM, int(seed), int(index)])
    return _render(rng, int(size[0]), int(size[1]), site)


def is_site_index(index: int, site_fraction: float) -> bool:
    """Whether image ``index`` (0-based) is a site image: sites are spread evenly through the sequence,
    so any prefix of n images holds ceil(n * site_fraction) of them."""
    def count(n: int) -> int:
        return math.ceil(round(n * site_fraction, 9))
    return count(index + 1) > count(index)


def mask_box(mask: np.ndarray) -> list[float] | None:
    """Tightest COCO box ``[x, y, w, h]`` (pixel edges, floats) around the non-zero pixels of ``mask``."""
    ys = np.flatnonzero(mask.any(1))
    xs = np.flatnonzero(mask.any(0))
    if len(xs) == 0:
        return None
    return [float(xs[0]), float(ys[0]), float(xs[-1] + 1 - xs[0]), float(ys[-1] + 1 - ys[0])]


# ----------------------------------------------------------------------------------------------
# the data set

def write_demo(out_dir: Path, n_images: int = 240, size: tuple[int, int] = (640, 480), seed: int = 0,
               site_fraction: float = 0.5, progress: Callable[[int, int], None] | None = None) -> DemoInfo:
    """Write the demo data set under ``out_dir`` and return where everything is.

    ``size`` is (width, height) px. Images go to ``images/<class>/<class>_NNNN.jpg``, site masks to
    ``masks/site/site_NNNN.png``, boxes to ``ground_truth.json`` (COCO, ``file_name`` relative to
    ``images/``, bbox ``[x, y, w, h]`` in pixels). Re-running into the same folder replaces the demo's
    own files and removes stale ones left by a larger earlier run. ``progress(done, total)`` is
    called after every image.
    """
    w, h = (int(v) for v in size)
    if n_images < 1:
        raise ValueError(f"demo: n_images must be >= 1, got {n_images}")
    if w < 64 or h < 48:
        raise ValueError(f"demo: image size must be at least 64x48 px, got {w}x{h}")
    if not 0.0 <= site_fraction <= 1.0:
        raise ValueError(f"demo: site_fraction must be in [0, 1], got {site_fraction}")
    if seed < 0:
        raise ValueError(f"demo: seed must be >= 0, got {seed}")
    root = Path(out_dir)
    image_dir = root / "images"
    mask_dir = root / "masks" / "site"
    for d in (image_dir / "site", image_dir / "no_site", mask_dir):
        d.mkdir(parents=True, exist_ok=True)

    images, annotations = [], []
    written: set[Path] = set()
    counts = {"site": 0, "no_site": 0}
    for i in range(n_images):
        site = is_site_index(i, site_fraction)
        cls = "site" if site else "no_site"
        counts[cls] += 1
        name = f"{cls}_{counts[cls]:04d}"
        rgb, mask = render_demo_image(seed, i, (w, h), site)
        quality = int(np.random.default_rng([_STREAM, int(seed), i, 1]).integers(78, 96))
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError(f"demo: could not encode {name}.jpg")
        path = image_dir / cls / f"{name}.jpg"
        path.write_bytes(buf.tobytes())
        written.add(path)
        image_id = i + 1
        images.append({"id": image_id, "file_name": f"{cls}/{name}.jpg", "width": w, "height": h})
        if site:
            box = mask_box(mask) if mask is not None else None
            if box is None:  # cannot happen with the fitted camera; never write an empty site
                raise RuntimeError(f"demo: image {i} ({name}) has no visible site")
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "bbox": box, "area": box[2] * box[3], "iscrowd": 0})
            ok, png = cv2.imencode(".png", mask)
            mpath = mask_dir / f"{name}.png"
            mpath.write_bytes(png.tobytes())
            written.add(mpath)
        if progress is not None:
            progress(i + 1, n_images)

    stale = re.compile(r"^(site|no_site)_\d{4,}\.(jpg|png)$")
    for d in (image_dir / "site", image_dir / "no_site", mask_dir):
        for p in d.iterdir():
            if p not in written and stale.match(p.name):
                p.unlink()

    coco = {
        "info": {"description": "DiPS Studio synthetic demo: drone views of cell-tower sites",
                 "version": "1", "seed": int(seed), "site_fraction": float(site_fraction)},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "site", "supercategory": "tower_site"},
                       {"id": 2, "name": "no_site", "supercategory": "tower_site"}],
    }
    gt_path = root / "ground_truth.json"
    tmp = gt_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(coco, indent=1), encoding="utf-8")
    tmp.replace(gt_path)
    return DemoInfo(root=root, image_dir=image_dir, gt_path=gt_path, n_images=n_images,
                    classes=CLASSES, mask_dir=mask_dir)
