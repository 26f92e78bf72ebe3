"""Raised things: boxes (buildings, cabinets, cars), trees, poles, tanks, billboards."""
from __future__ import annotations

import math

import numpy as np

from .drawing import _blend, _circle_pts, _disc, _fill, _hull, _Ink, _seg, _shade_col
from .scene import _clip_line, _Scene


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
        for (ga, za), (gb, zb) in zip(a_ends, b_ends, strict=True):
            sc.shadow.line((0, 0, 0), sc.cast(ga, za - 0.6), sc.cast(gb, zb - 0.6), 1.0, 0.25)

    def draw_all():
        for draw in draws:
            draw()
        _draw_wires(sc, ink, wires)
        for c, m in ink.masks().items():
            _blend(sc.img, m, c)

    sc.later.append((6, draw_all))


def _draw_wires(sc: _Scene, ink: _Ink, wires: list) -> None:
    """Sagging wires between neighbouring poles' ends, as seen from the camera."""
    for a_ends, b_ends in wires:
        for (ga, za), (gb, zb) in zip(a_ends, b_ends, strict=True):
            t = np.linspace(0, 1, 9)[:, None]
            g = ga + (gb - ga) * t
            z = za + (zb - za) * t[:, 0] - 1.2 * 4 * t[:, 0] * (1 - t[:, 0])   # sag
            pts = sc.up(g, z)
            for i in range(len(pts) - 1):
                ink.line((40, 40, 42), pts[i], pts[i + 1], 1.0, 0.45)


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

