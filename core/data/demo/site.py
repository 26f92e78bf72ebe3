"""The tower site: fenced gravel compound, cabinets, lattice tower with antennas."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .drawing import _blend, _coverage, _fill, _Ink, _shade_col
from .objects import _box
from .scene import _Scene

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


@dataclass
class _Lattice:
    """A lattice tower's shape: legs around the base, tapering up to ``z_straight``."""
    plan: _SitePlan
    n_legs: int
    theta: float          # angle of the first leg, rad
    z_straight: float     # the top section (above this height, m) does not taper
    ppm: float
    dirs: list = field(default_factory=list)   # (2,) unit vector per leg

    def __post_init__(self) -> None:
        self.dirs = [np.array([math.cos(self.theta + 2 * np.pi * i / self.n_legs),
                               math.sin(self.theta + 2 * np.pi * i / self.n_legs)]) for i in range(self.n_legs)]

    def radius(self, z: float) -> float:
        r0, r1 = self.plan.r0, self.plan.r1
        return r1 if z >= self.z_straight else r1 + (r0 - r1) * (1 - z / self.z_straight)

    def corner(self, i: int, z: float) -> np.ndarray:
        return self.plan.base + self.dirs[i % self.n_legs] * self.radius(z) * self.ppm


def _tower(sc: _Scene, plan: _SitePlan, mask: np.ndarray) -> None:
    """Self-supporting lattice tower: tapering legs, X-bracing, platform, panel antennas, dishes."""
    rng = sc.rng
    H = plan.height
    n_legs = 4 if rng.random() < 0.6 else 3
    theta = plan.angle + (np.pi / 4 if n_legs == 4 else rng.uniform(0, np.pi))
    lat = _Lattice(plan, n_legs, theta, H * (1 - rng.uniform(0.1, 0.3)), sc.ppm)
    painted = rng.random() < 0.15   # aviation red/white bands
    segs = _lattice_segments(lat, _lattice_levels(rng, lat), -sc.sun)
    zp = H - 0.6   # platform with railing near the top, and a lightning rod
    plat = [plan.base + d * (plan.r1 + 1.0) * sc.ppm for d in lat.dirs]
    for i in range(n_legs):
        a, b = plat[i], plat[(i + 1) % n_legs]
        segs.append((a, zp, b, zp, 0.15, True))
        segs.append((a, zp + 1.1, b, zp + 1.1, 0.08, True))
    segs.append((plan.base, H, plan.base, H + rng.uniform(2, 4), 0.08, True))
    panels = _antenna_panels(rng, lat)
    dishes = _dishes(rng, lat)
    _tower_shadows(sc, segs, panels, dishes)
    sc.later.append((9, _tower_drawer(sc, mask, segs, (plat, zp), panels, dishes, painted, H / 7)))


def _lattice_levels(rng: np.random.Generator, lat: _Lattice) -> list[float]:
    """Heights (m) of the bracing levels, about as far apart as the tower is wide there."""
    H = lat.plan.height
    levels = [0.0]
    while levels[-1] < H - 0.5:
        z = levels[-1]
        step = 2 * lat.radius(z) * math.sin(np.pi / lat.n_legs) * rng.uniform(0.8, 1.0)
        levels.append(min(H, z + float(np.clip(step, 1.4, 6.0))))
    levels[-1] = H
    return levels


def _lattice_segments(lat: _Lattice, levels: list[float], lit_dir: np.ndarray) -> list[tuple]:
    """Legs, X-bracing and horizontals: (ground a, z a, ground b, z b, width m, lit) each."""
    segs = []
    for k in range(len(levels) - 1):
        za, zb = levels[k], levels[k + 1]
        for i in range(lat.n_legs):
            j = i + 1
            face_n = (lat.dirs[i] + lat.dirs[j % lat.n_legs])
            face_lit = float(face_n @ lit_dir) > 0
            segs.append((lat.corner(i, za), za, lat.corner(i, zb), zb, 0.32, float(lat.dirs[i] @ lit_dir) > -0.2))
            segs.append((lat.corner(i, za), za, lat.corner(j, zb), zb, 0.08, face_lit))
            segs.append((lat.corner(j, za), za, lat.corner(i, zb), zb, 0.08, face_lit))
            segs.append((lat.corner(i, zb), zb, lat.corner(j, zb), zb, 0.12, face_lit))
    return segs


def _antenna_panels(rng: np.random.Generator, lat: _Lattice) -> list[tuple]:
    """Sectors of vertical panels on the platform, one or two tiers: (ground centre, z, tangent, w m, h m)."""
    H = lat.plan.height
    panels = []
    n_sec = 3
    for tier_z in [H - 1.6] + ([H - rng.uniform(4.5, 6.5)] if rng.random() < 0.45 else []):
        for s in range(n_sec):
            a = lat.theta + np.pi / lat.n_legs + 2 * np.pi * s / n_sec
            out = np.array([math.cos(a), math.sin(a)])
            tan = np.array([-out[1], out[0]])
            for p in range(int(rng.integers(1, 4))):
                off = (p - 1) * 0.65
                g = lat.plan.base + (out * (lat.radius(tier_z) + 1.0) + tan * off) * lat.ppm
                panels.append((g, tier_z, tan, 0.32, rng.uniform(1.3, 2.6)))
    return panels


def _dishes(rng: np.random.Generator, lat: _Lattice) -> list[tuple]:
    """Microwave dishes lower on the legs: (ground centre, z m, radius m)."""
    H = lat.plan.height
    dishes = []
    for _ in range(int(rng.integers(0, 4))):
        z = H * rng.uniform(0.5, 0.88)
        i = int(rng.integers(lat.n_legs))
        dishes.append((lat.plan.base + lat.dirs[i] * (lat.radius(z) + 0.5) * lat.ppm, z, rng.uniform(0.3, 0.6)))
    return dishes


def _tower_shadows(sc: _Scene, segs: list, panels: list, dishes: list) -> None:
    """The tower's cast shadow, at ground scale."""
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


def _tower_drawer(sc: _Scene, mask: np.ndarray, segs: list, platform: tuple, panels: list, dishes: list,
                  painted: bool, band: float):
    """The callable that draws the tower (after the shadows) into the image and the site mask."""
    def colour(z: float, lit: bool):
        if painted:
            return (196, 64, 52) if int(z / band) % 2 == 0 else (226, 224, 218)
        return _STEEL_LIT if lit else _STEEL_DARK

    def draw():
        ink = _Ink(sc.h, sc.w)
        vis = 1.15  # thin steel against the ground reads a bit wider than its width (glare, blur)
        for ga, za, gb, zb, wm, lit in segs:
            zm = (za + zb) / 2
            ink.line(colour(zm, lit), sc.up(ga, za), sc.up(gb, zb), wm * sc.scale(zm) * vis)
        plat, zp = platform
        ink.poly(_STEEL_DARK, sc.up(np.array(plat), zp), 0.45)  # grating
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

    return draw

