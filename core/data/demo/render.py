"""One image: camera, scene composition, sensor look, and the per-image public helpers."""
from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from .drawing import _blend, _coverage, _dist_to_polyline, _fractal, _Ink
from .objects import _billboard, _building, _car, _cars_on_road, _pole_line, _tank, _tree_row, _trees_around
from .scene import _clip_line, _draw_road, _ground, _plan_road, _Scene, _scrub, _track_to
from .site import _compound, _plan_site, _SitePlan, _tower

_STREAM = 0xD1B5  # mixed into every image's seed so the demo's streams differ from other seeded code


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
    """Render one RGB image (HxWx3 uint8) and, for a site image, its site mask (HxW uint8 0/255).

    The steps below draw from ``rng`` in a fixed order: reordering them changes every demo image.
    """
    scene_type = ("rural", "suburban", "industrial", "wooded")[int(rng.choice(4, p=[0.4, 0.25, 0.15, 0.2]))]
    sc, plan = _frame(rng, w, h)
    sc.fine = _fractal(rng, h, w, [1.0, 2.0], [0.6, 1.0])
    sc.shadow = _Ink(h, w)
    mask = np.zeros((h, w), np.uint8) if site else None
    if plan is not None and site:
        sc.taken.append((*plan.centre, 0.55 * math.hypot(*plan.size_m) * sc.ppm))

    _fields(sc, scene_type)
    roads = _roads(sc, scene_type)
    if site and plan is not None:
        _site(sc, plan, mask)
    if rng.random() < (0.15 if site else 0.3):
        _yard(sc)
    _buildings(sc, scene_type, roads)
    _tall_distractors(sc, scene_type, roads)
    _trees(sc, scene_type)
    _shadows_then_raised(sc)
    img = _camera_look(rng, sc.img)
    if mask is not None:
        mask = np.where(mask >= 96, 255, 0).astype(np.uint8)
    return img, mask


def _area_ha(sc: _Scene) -> float:
    """Ground area the frame shows, hectares."""
    return sc.w * sc.h / sc.ppm ** 2 / 1e4


def _frame(rng: np.random.Generator, w: int, h: int) -> tuple[_Scene, _SitePlan | None]:
    """Tower height (m), sun, and camera settings under which the site fits the frame (12 tries)."""
    tower_h = rng.uniform(24, 48)
    elev = math.radians(rng.uniform(22, 68))
    az = rng.uniform(0, 2 * np.pi)
    plan = None
    for _ in range(12):
        ppm, nadir = _camera(rng, w, h)
        sc = _Scene(rng, w, h, ppm, nadir, tower_h * 3, np.array([math.cos(az), math.sin(az)]), 1 / math.tan(elev),
                    np.zeros((h, w, 3), np.uint8), np.zeros((1, 1), np.float32))
        plan = _plan_site(sc, tower_h)
        if plan is not None:
            break
    return sc, plan


def _fields(sc: _Scene, scene_type: str) -> None:
    """Ground, scrub, and the field boundaries: hedgerows with trees, or farm tracks."""
    rng, ppm = sc.rng, sc.ppm
    lines = _ground(sc, scene_type)
    per_ha = {"rural": 30, "suburban": 8, "industrial": 6, "wooded": 60}[scene_type]
    _scrub(sc, min(int(rng.poisson(per_ha * _area_ha(sc) * rng.uniform(0.2, 1.5))), 300))
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


def _roads(sc: _Scene, scene_type: str) -> list[tuple[np.ndarray, float, bool]]:
    """Draw the roads; (polyline px, half width px, paved) each."""
    rng = sc.rng
    n_roads = {"rural": rng.choice(3, p=[0.3, 0.55, 0.15]), "suburban": rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2]),
               "industrial": rng.choice([1, 2]), "wooded": rng.choice(2, p=[0.4, 0.6])}[scene_type]
    roads = []
    for i in range(int(n_roads)):
        wm = rng.uniform(6, 9) if (scene_type != "rural" or i == 0) else rng.uniform(3, 4.5)
        paved = scene_type != "rural" or wm > 5 or rng.random() < 0.3
        pts = _plan_road(sc, wm)
        if pts is not None:
            _draw_road(sc, pts, wm, paved or wm > 5)
            roads.append((pts, wm * sc.ppm / 2, paved or wm > 5))
    return roads


def _site(sc: _Scene, plan: _SitePlan, mask: np.ndarray | None) -> None:
    """The site: a track to its gate, the fenced compound and the tower (drawn into ``mask`` too)."""
    gate = sc.local(plan.centre, plan.angle, [plan.size_m[0] / 2, 0])
    track = _track_to(sc, gate, sc.rng.uniform(3, 4.2))
    _draw_road(sc, track, sc.roads[-1][1] * 2 / sc.ppm, False)
    _compound(sc, plan, mask, True)
    _tower(sc, plan, mask)


def _yard(sc: _Scene) -> None:
    """A distractor in either class: a fenced yard without a tower, where one fits (20 tries)."""
    rng, ppm = sc.rng, sc.ppm
    for _ in range(20):
        c = sc.rand_point(-0.05 * sc.w)
        l_m, w_m = rng.uniform(8, 20), rng.uniform(7, 15)
        r = 0.55 * math.hypot(l_m, w_m) * ppm
        if sc.free(c, r, 2.0):
            sc.taken.append((c[0], c[1], r))
            yard = _SitePlan(c, rng.uniform(0, np.pi), (l_m, w_m), c, 0.0, 1.0, 1.0)
            if rng.random() < 0.8:  # like a site, a yard is reached by a track
                track = _track_to(sc, sc.local(c, yard.angle, [l_m / 2, 0]), rng.uniform(3, 4.2))
                _draw_road(sc, track, sc.roads[-1][1] * 2 / ppm, False)
            _compound(sc, yard, None, False)
            return


def _road_direction(pts: np.ndarray, i: int) -> np.ndarray:
    """Unit direction of polyline ``pts`` at vertex ``i``."""
    d = pts[i + 1] - pts[i - 1]
    d /= max(np.linalg.norm(d), 1e-9)
    return d


def _buildings(sc: _Scene, scene_type: str, roads: list) -> None:
    """Buildings, mostly lined up along roads, some with a car beside them."""
    rng, ppm = sc.rng, sc.ppm
    per_ha = {"rural": 0.25, "suburban": 2.5, "industrial": 0.5, "wooded": 0.15}[scene_type]
    n_build = min(int(rng.poisson(per_ha * _area_ha(sc))), 40)
    for _ in range(n_build):
        big = scene_type == "industrial" and rng.random() < 0.6
        if roads and rng.random() < 0.75:
            c, ang = _roadside_spot(sc, roads, big)
        else:
            c = sc.rand_point(0.05 * sc.w)
            ang = rng.uniform(0, np.pi)
        if sc.inside(c, -20 * ppm) and _building(sc, c, ang, big) and not big and rng.random() < 0.3:
            _car(sc, c + rng.normal(0, 6, 2) * ppm, rng.uniform(0, np.pi))


def _roadside_spot(sc: _Scene, roads: list, big: bool) -> tuple[np.ndarray, float]:
    """Centre (px) and angle (rad) of a building set back from a random point of a random road."""
    rng, ppm = sc.rng, sc.ppm
    pts, hw, _ = roads[int(rng.integers(len(roads)))]
    i = int(rng.integers(1, len(pts) - 1))
    d = _road_direction(pts, i)
    nrm = np.array([-d[1], d[0]]) * (1 if rng.random() < 0.5 else -1)
    t = rng.uniform(0, 1)
    setback = hw + rng.uniform(6, 14) * ppm * (2.5 if big else 1)
    c = pts[i] + (pts[i + 1] - pts[i]) * t + nrm * setback
    ang = math.atan2(d[1], d[0]) + rng.normal(0, 0.04) + (np.pi / 2 if rng.random() < 0.3 else 0)
    return c, ang


def _tall_distractors(sc: _Scene, scene_type: str, roads: list) -> None:
    """What stands up like a tower: utility poles / street lamps, cars, power lines, tanks, billboards."""
    rng, ppm = sc.rng, sc.ppm
    for pts, hw, paved in roads:
        if rng.random() < 0.55:
            i = len(pts) // 2
            d = _road_direction(pts, i)
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
        d = _road_direction(pts, i)
        _billboard(sc, pts[i] + np.array([-d[1], d[0]]) * (hw + 6 * ppm), d)


def _trees(sc: _Scene, scene_type: str) -> None:
    """Tree clusters, plus a few loners."""
    rng = sc.rng
    per_ha = {"rural": 6, "suburban": 12, "industrial": 3, "wooded": 40}[scene_type]
    n_trees = min(int(rng.poisson(per_ha * _area_ha(sc))) + 2, 140)
    while n_trees > 0:
        k = int(min(n_trees, rng.integers(1, 14 if scene_type == "wooded" else 7)))
        _trees_around(sc, sc.rand_point(0.05 * sc.w), rng.uniform(4, 18 if scene_type == "wooded" else 10), k)
        n_trees -= k


def _shadows_then_raised(sc: _Scene) -> None:
    """Cast shadows onto the ground, then draw everything that stands up, lowest first."""
    rng = sc.rng
    strength = rng.uniform(0.45, 0.62) if rng.random() < 0.8 else rng.uniform(0.15, 0.3)
    smask = _coverage(sc.shadow.masks())
    if smask is not None:
        soft = rng.uniform(0.4, 1.0) if strength > 0.35 else rng.uniform(1.5, 3.0)
        smask = cv2.GaussianBlur(smask, (0, 0), soft)
        _blend(sc.img, smask, (20, 22, 32), strength)
    for _, draw in sorted(sc.later, key=lambda t: t[0]):
        draw()


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

