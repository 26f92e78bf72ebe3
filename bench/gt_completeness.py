"""How complete is the aerial development set's ground truth? Crowns that a window shows but its boxes leave out.

Run from the repository root:
    .venv/bin/python bench/gt_completeness.py SET_DIR [--min-visible 0.2] [--out complete.json]
                                               [--data-script ../shared/data/aerial_trees.py]

``SET_DIR`` is a set built by ``../shared/data/aerial_trees.py`` (``images/`` + ``gt.json``; bench/real_aerial.py
keeps one under its ``--work`` folder as ``src``). That script cuts square windows out of three annotated NEON
tiles and boxes, per tree window, only the crowns with at least half their area inside it. A crown cut by the
window's edge is left out of the ground truth although the window shows part of it. This bench finds each window
in its tile again (exact pixel match; the script does not record where it cut), reads the tile's annotation, and
prints per class: the crowns boxed, the crowns cut by the edge and left out (all, and those with at least
``--min-visible`` of their area inside), the windows that show such a crown, and the share of the crown-covered
window area that no ground-truth box covers. ``--out`` writes a COCO file with every crown whose visible part is
at least ``--min-visible`` of it, clipped to the window: the "every visible crown" ground truth, to score maps
against with ``main.py import-coco --as gt`` on a copy of a project.

Only the development tiles the set was built from are read (the builder's ``DEV_TILES``).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.result_checks import plural

REPO = Path(__file__).resolve().parents[1]
DATA_SCRIPT = REPO.parent / "shared" / "data" / "aerial_trees.py"
PATCH = 16          # side of the corner patch searched for first (cheap), before the whole window is compared
CANDIDATES = 64     # best-matching positions of the patch checked pixel for pixel


def locate(window: np.ndarray, tile: np.ndarray) -> tuple[int, int] | None:
    """(x0, y0) of ``window`` ``[S, S, 3]`` inside ``tile`` ``[H, W, 3]`` where it is an exact crop, or None.

    The top-left ``PATCH`` x ``PATCH`` corner is matched with OpenCV's squared-difference template match, and the
    ``CANDIDATES`` best positions are compared in full: a corner can repeat (uniform shadow), the window cannot.
    """
    h, w = window.shape[:2]
    if h > tile.shape[0] or w > tile.shape[1]:
        return None
    patch = np.ascontiguousarray(window[:PATCH, :PATCH]).astype(np.float32)
    score = cv2.matchTemplate(tile.astype(np.float32), patch, cv2.TM_SQDIFF)
    for flat in np.argsort(score.ravel())[:CANDIDATES]:
        y, x = np.unravel_index(flat, score.shape)
        if y + h <= tile.shape[0] and x + w <= tile.shape[1] and np.array_equal(tile[y:y + h, x:x + w], window):
            return int(x), int(y)
    return None


@dataclass
class WindowCrowns:
    """The tile's crowns that a window at (x0, y0) of side ``size`` shows, clipped to it (window pixels)."""
    boxed: np.ndarray      # [K, 4] xyxy: at least half of the crown inside (the builder's ground-truth rule)
    cut: np.ndarray        # [L, 4] xyxy: inside by less than half, but visible
    cut_share: np.ndarray  # [L] share of each cut crown's area inside the window


def crowns_in_window(crowns: np.ndarray, x0: float, y0: float, size: float) -> WindowCrowns:
    """Split the tile's crowns ``[N, 4]`` (xyxy tile pixels) that overlap the window into boxed and cut ones."""
    c = np.asarray(crowns, dtype=np.float64).reshape(-1, 4)
    ix0, iy0 = np.maximum(c[:, 0], x0), np.maximum(c[:, 1], y0)
    ix1, iy1 = np.minimum(c[:, 2], x0 + size), np.minimum(c[:, 3], y0 + size)
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = np.maximum((c[:, 2] - c[:, 0]) * (c[:, 3] - c[:, 1]), 1e-9)
    share = inter / area
    clipped = np.stack([ix0 - x0, iy0 - y0, ix1 - x0, iy1 - y0], 1)
    boxed, cut = share >= 0.5, (share > 0) & (share < 0.5)
    return WindowCrowns(clipped[boxed], clipped[cut], share[cut])


def covered(boxes: np.ndarray, size: int) -> np.ndarray:
    """[size, size] bool: pixels whose centre lies in any of ``boxes`` (xyxy window pixels)."""
    c = np.arange(size) + 0.5
    out = np.zeros((size, size), dtype=bool)
    for x0, y0, x1, y1 in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        out |= ((c[:, None] >= y0) & (c[:, None] < y1)) & ((c[None, :] >= x0) & (c[None, :] < x1))
    return out


def tile_of(file_name: str, tiles: tuple[str, ...]) -> str:
    """The tile a window's file (``CLASS/TILE_0001.png``) was cut from."""
    stem = Path(file_name).stem.rsplit("_", 1)[0]
    if stem not in tiles:
        raise ValueError(f"{file_name}: not cut from one of the development tiles {tiles}")
    return stem


def load_builder(script: Path):
    if not script.is_file():
        raise SystemExit(f"{script}: the data set builder is not there (give its path with --data-script)")
    spec = importlib.util.spec_from_file_location("aerial_trees", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def completeness(set_dir: Path, tiles: dict[str, np.ndarray], crowns: dict[str, np.ndarray],
                 min_visible: float) -> tuple[dict, dict]:
    """(figures per class, COCO ground truth with every crown at least ``min_visible`` inside its window)."""
    coco = json.loads((set_dir / "gt.json").read_text())
    boxed_in_gt: dict[int, int] = {}
    for ann in coco["annotations"]:
        boxed_in_gt[ann["image_id"]] = boxed_in_gt.get(ann["image_id"], 0) + 1
    out = {**coco, "annotations": []}
    per_class: dict[str, dict] = {}
    for im in coco["images"]:
        name = tile_of(im["file_name"], tuple(tiles))
        path = set_dir / "images" / im["file_name"]
        window = cv2.imread(str(path))
        if window is None:
            raise SystemExit(f"{path}: cannot be read")
        where = locate(window, tiles[name])
        if where is None:
            raise SystemExit(f"{path}: not found in tile {name} (was the set built from other tiles?)")
        size = int(im["width"])
        wc = crowns_in_window(crowns[name], where[0], where[1], size)
        if len(wc.boxed) != boxed_in_gt.get(im["id"], 0):
            raise SystemExit(f"{path}: {plural(len(wc.boxed), 'crown')} at least half inside, but gt.json boxes "
                             f"{boxed_in_gt.get(im['id'], 0)}: the set was not built by the rule this bench assumes")
        keep_cut = wc.cut[wc.cut_share >= min_visible]
        every = covered(np.concatenate([wc.boxed, wc.cut]), size)
        cls = im["file_name"].split("/")[0]
        f = per_class.setdefault(cls, {"windows": 0, "boxed": 0, "cut": 0, "cut_visible": 0,
                                       "windows_with_cut": 0, "crown_px": 0, "unboxed_crown_px": 0})
        f["windows"] += 1
        f["boxed"] += len(wc.boxed)
        f["cut"] += len(wc.cut)
        f["cut_visible"] += len(keep_cut)
        f["windows_with_cut"] += bool(len(wc.cut))
        f["crown_px"] += int(every.sum())
        f["unboxed_crown_px"] += int((every & ~covered(wc.boxed, size)).sum())
        for x0, y0, x1, y1 in np.concatenate([wc.boxed, keep_cut]):
            out["annotations"].append({"id": len(out["annotations"]) + 1, "image_id": im["id"], "category_id": 1,
                                       "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                                       "area": float((x1 - x0) * (y1 - y0)), "iscrowd": 0})
    return per_class, out


def print_figures(per_class: dict, min_visible: float) -> None:
    print(f"| class | windows | crowns boxed | crowns cut by the edge, left out (>= {min_visible:.0%} visible) "
          "| windows showing a left-out crown | crown area no box covers |")
    print("| --- | --- | --- | --- | --- | --- |")
    for cls, f in per_class.items():
        share = f["unboxed_crown_px"] / f["crown_px"] if f["crown_px"] else 0.0
        print(f"| {cls} | {f['windows']} | {f['boxed']} | {f['cut']} ({f['cut_visible']}) | "
              f"{f['windows_with_cut']} | {share:.1%} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("set_dir", type=Path, help="a set built by aerial_trees.py (images/ and gt.json)")
    ap.add_argument("--min-visible", type=float, default=0.2,
                    help="share of a cut crown's area that must lie inside the window for --out to box it "
                         "(default: %(default)s)")
    ap.add_argument("--out", type=Path, help="write the every-visible-crown ground truth here (COCO)")
    ap.add_argument("--data-script", type=Path, default=DATA_SCRIPT, help="the set's builder, aerial_trees.py")
    a = ap.parse_args()
    if not 0.0 < a.min_visible <= 0.5:
        raise SystemExit(f"--min-visible must be in (0, 0.5], got {a.min_visible}")
    builder = load_builder(a.data_script)
    data = Path(builder.source_dir())
    tiles = {t: cv2.imread(str(data / f"{t}.png")) for t in builder.DEV_TILES}
    crowns = {t: builder.crowns(str(data / f"{t}.xml")) for t in builder.DEV_TILES}
    per_class, coco = completeness(a.set_dir, tiles, crowns, a.min_visible)
    print_figures(per_class, a.min_visible)
    if a.out:
        a.out.write_text(json.dumps(coco))
        print(f"{len(coco['annotations'])} crown boxes written to {a.out}")


if __name__ == "__main__":
    sys.exit(main())
