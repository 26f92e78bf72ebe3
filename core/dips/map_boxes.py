"""From a foreground map to the boxes an inspector is shown: size floor, fragment merging, duplicate
suppression, a ranking score and optional GrabCut tightening.

A thresholded map breaks one object into fragments and leaves specks around it; every box it draws costs
the inspector a look. Steps, in order (each off when its setting is 0 / False; on by default: the floors
and the mass score, see core/settings.py):

1. components of ``fg > threshold`` (``core.dips.boxes.boxes_from_map``, continuous pixels of the map); with
   ``split_touching`` a component holding several peaks of the map is shared among them by a watershed
   (touching tree crowns, one box each);
2. drop components below ``min_frac`` of the map and below ``min_rel_area`` of the image's largest one
   (a speck beside the object is not another object);
3. merge boxes whose gap is at most ``merge_gap`` times the side (square root of the area) of the smaller
   one, repeated until nothing merges (fragments of one crown);
4. drop a box whose area lies at least ``nms_cover`` inside a better-ranked box (duplicates);
5. score each box: ``mean`` = mean foreground probability inside (favours specks, where every pixel is
   high), ``mass`` = that mean times the square root of the box's share of the image's largest foreground
   mass, so a big confident region ranks before a small one;
6. optionally tighten each box with OpenCV's GrabCut on the image, seeded by the map (``grabcut``).

Boxes come back as ``(x0, y0, x1, y1, score)`` in pixels of the map, best first.
"""
from __future__ import annotations

import cv2
import numpy as np

from core.dips.boxes import binarize, box_area, box_intersection, components_to_boxes
from core.settings import BoxDrawConfig


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    """Largest axis gap between two boxes (0 when they touch or overlap)."""
    dx = max(a[0] - b[2], b[0] - a[2], 0.0)
    dy = max(a[1] - b[3], b[1] - a[3], 0.0)
    return float(max(dx, dy))


def merge_fragments(boxes: np.ndarray, gap: float) -> np.ndarray:
    """Union boxes ``[N, 4]`` (continuous ``xyxy``) whose gap is <= ``gap`` x the smaller box's side.

    Repeats until no pair merges; order of the result follows the first box of each group.
    """
    b = [np.asarray(x, dtype=np.float64) for x in np.asarray(boxes, dtype=np.float64).reshape(-1, 4)]
    if gap <= 0 or len(b) < 2:
        return np.asarray(b, dtype=np.float64).reshape(-1, 4)
    merged = True
    while merged:
        merged = False
        for i in range(len(b)):
            for j in range(i + 1, len(b)):
                side = float(np.sqrt(min(box_area(b[i])[0], box_area(b[j])[0])))
                if _gap(b[i], b[j]) <= gap * side:
                    b[i] = np.array([min(b[i][0], b[j][0]), min(b[i][1], b[j][1]),
                                     max(b[i][2], b[j][2]), max(b[i][3], b[j][3])])
                    del b[j]
                    merged = True
                    break
            if merged:
                break
    return np.asarray(b, dtype=np.float64).reshape(-1, 4)


def suppress_covered(boxes: np.ndarray, cover: float) -> np.ndarray:
    """Indices of boxes ``[N, 4]`` (best first) to keep: a box whose area lies >= ``cover`` inside a kept,
    better box is dropped."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if cover <= 0 or len(boxes) < 2:
        return np.arange(len(boxes))
    inter = box_intersection(boxes, boxes)
    area = np.maximum(box_area(boxes), 1e-9)
    keep: list[int] = []
    for i in range(len(boxes)):
        if all(inter[i, k] / area[i] < cover for k in keep):
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


def grabcut_box(rgb: np.ndarray, fg: np.ndarray, box: np.ndarray, threshold: float, iters: int = 3) -> np.ndarray:
    """Box ``xyxy`` (map pixels) tightened to the object's edges by GrabCut on ``rgb`` ``[H, W, 3]`` uint8 (same
    grid as ``fg``), seeded by the map: outside the box enlarged by half its size is background, pixels above
    ``threshold`` inside the box probably foreground, the rest probably background. Falls back to ``box`` when
    GrabCut keeps nothing. Deterministic: OpenCV's generator is seeded before each call."""
    h, w = fg.shape
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    ex0, ey0 = int(max(0, np.floor(x0 - bw / 2))), int(max(0, np.floor(y0 - bh / 2)))
    ex1, ey1 = int(min(w, np.ceil(x1 + bw / 2))), int(min(h, np.ceil(y1 + bh / 2)))
    mask = np.full((h, w), cv2.GC_BGD, np.uint8)
    mask[ey0:ey1, ex0:ex1] = cv2.GC_PR_BGD
    inside = np.zeros((h, w), bool)
    inside[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))] = True
    mask[inside & (fg > threshold)] = cv2.GC_PR_FGD
    if not (mask == cv2.GC_PR_FGD).any():
        return np.asarray(box, dtype=np.float64)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut's k-means start draws from OpenCV's per-thread generator: seeded, a prediction run draws the same
    # boxes whatever ran before it on that thread (as the click box does)
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(np.ascontiguousarray(rgb[:, :, ::-1]), mask, None, bgd, fgd, iters, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return np.asarray(box, dtype=np.float64)
    out = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    parts = components_to_boxes(out)
    if not parts:
        return np.asarray(box, dtype=np.float64)
    parts = np.asarray(parts)
    # the part that overlaps the seed box most is the object
    best = int(np.argmax(box_intersection(parts, np.asarray(box, dtype=np.float64)[None])[:, 0]))
    return parts[best]


def split_touching(fg: np.ndarray, mask: np.ndarray, min_dist_frac: float) -> np.ndarray:
    """Boxes ``[N, 4]`` of the regions of ``mask`` with touching objects split apart: every local peak of the map
    ``fg`` inside the mask at least ``min_dist_frac`` x the map's shorter side from a higher one seeds one object,
    and a watershed on the map (flooding down from the peaks) shares the region's pixels among them. A region
    with one peak keeps its box. Continuous ``xyxy`` pixels of the map, x1/y1 exclusive."""
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed
    h, w = fg.shape
    md = max(1, int(round(min_dist_frac * min(h, w))))
    smooth = cv2.GaussianBlur(fg.astype(np.float32), (0, 0), sigmaX=max(md / 4.0, 0.5))
    n, regions = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    peaks = peak_local_max(smooth, min_distance=md, labels=regions, exclude_border=False)
    markers = np.zeros((h, w), np.int32)
    for k, (y, x) in enumerate(peaks):
        markers[y, x] = k + 1
    # a region the peak search left without a seed (flat map) is one object, seeded anywhere inside
    for r in range(1, n):
        inside = regions == r
        if not markers[inside].any():
            ys, xs = np.nonzero(inside)
            markers[ys[0], xs[0]] = markers.max() + 1
    parts = watershed(-smooth, markers, mask=mask.astype(bool))
    out = []
    for k in range(1, int(parts.max()) + 1):
        ys, xs = np.nonzero(parts == k)
        if len(ys):
            out.append((float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)))
    return np.asarray(out, dtype=np.float64).reshape(-1, 4)


def draw_boxes(fg: np.ndarray, threshold: float, cfg: BoxDrawConfig | None = None,
               rgb: np.ndarray | None = None) -> list[tuple[float, float, float, float, float]]:
    """Boxes ``(x0, y0, x1, y1, score)`` (continuous pixels of ``fg`` ``[h, w]``, probabilities in [0, 1]) of
    the regions above ``threshold``, after the steps of the module docstring; best first. ``rgb`` ``[h, w, 3]``
    uint8 is needed only with ``cfg.grabcut``."""
    cfg = cfg or BoxDrawConfig()
    fg = np.asarray(fg, dtype=np.float32)
    mask = binarize(fg, threshold)
    comps = _regions(fg, mask, cfg)
    if len(comps) == 0:
        return []
    scores = _scores(fg, mask, comps, cfg.score)
    order = np.argsort(-scores, kind="stable")
    comps, scores = comps[order], scores[order]
    kept = suppress_covered(comps, cfg.nms_cover)
    comps, scores = comps[kept], scores[kept]
    if cfg.max_boxes:
        comps, scores = comps[:cfg.max_boxes], scores[:cfg.max_boxes]
    if cfg.grabcut:
        if rgb is None:
            raise ValueError("GrabCut tightening needs the image (rgb)")
        comps = np.asarray([grabcut_box(rgb, fg, b, threshold) for b in comps])
    return [(float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(s)) for b, s in zip(comps, scores, strict=True)]


def _regions(fg: np.ndarray, mask: np.ndarray, cfg: BoxDrawConfig) -> np.ndarray:
    """The candidate boxes ``[N, 4]`` of ``mask``: components (split where objects touch), the small ones dropped,
    fragments of one object merged."""
    h, w = fg.shape
    if cfg.split_touching > 0:
        comps = split_touching(fg, mask, cfg.split_touching)
    else:
        comps = np.asarray(components_to_boxes(mask), dtype=np.float64).reshape(-1, 4)
    if len(comps) == 0:
        return comps
    area = box_area(comps)
    keep = area >= cfg.min_frac * h * w
    if cfg.min_rel_area > 0 and keep.any():
        keep &= area >= cfg.min_rel_area * area[keep].max()
    return merge_fragments(comps[keep], cfg.merge_gap)


def _scores(fg: np.ndarray, mask: np.ndarray, comps: np.ndarray, score: str) -> np.ndarray:
    """Each box's score ``[N]``: "mean" (mean probability inside) or "mass" (that mean times the square root of
    its share of the largest mass above the threshold: a speck cannot outrank the object)."""
    means, masses = [], []
    for x0, y0, x1, y1 in comps:
        inside = fg[int(y0):int(y1), int(x0):int(x1)]
        on = inside[mask[int(y0):int(y1), int(x0):int(x1)]]
        means.append(float(inside.mean()))
        masses.append(float(on.sum()))
    mean_arr, mass_arr = np.asarray(means), np.asarray(masses)
    if score == "mass":
        return mean_arr * np.sqrt(mass_arr / max(mass_arr.max(), 1e-9))
    if score == "mean":
        return mean_arr
    raise ValueError(f"unknown box score {score!r}; expected 'mean' or 'mass'")
