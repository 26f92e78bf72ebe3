"""The scene (camera, sun, canvas, occupancy), the ground, scrub, roads and tracks."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from .drawing import _blend, _disc, _dist_to_polyline, _fractal, _Ink, _polyline, _rot, _seg, _shade_col


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
        return all(_dist_to_polyline(p, pts) >= r + hw + road_gap * self.ppm for pts, hw in self.roads)

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
        for c, r in zip(centres, radii, strict=True):
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

