"""How boxes are drawn from the predicted maps, judged by what the inspector is shown.

Run from the repository root:
    .venv/bin/python bench/box_drawing.py PROJECT [--runs 3] [--splits train,val] [--variants NAME,...]

Takes the last ``--runs`` prediction runs of PROJECT (one per training seed, e.g. left by
bench/real_aerial.py), draws the boxes again from their stored foreground maps at each run's own
operating threshold with every variant of ``VARIANTS`` (core/dips/map_boxes.py settings), and prints per
variant (mean [min-max] over the runs): precision / recall at IoU 0.5, the share of object images whose
top-scored box hits an object at IoU 0.5, boxes per object image, and the simulated inspector's time
(bench/inspector_sim.py, no retraining, file order) looking at the top 1 and top 3 suggestions, as a
ratio to drawing every box by extreme clicking. Training is not repeated: box drawing does not change
what the heads learn, so replaying stored maps judges it end to end at a fraction of the cost.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.inspector_sim import Costs, replay_gated, replay_image
from core.dips.boxes import box_iou
from core.dips.map_boxes import BoxDrawConfig, draw_boxes
from core.dips.suggest import SuggestionGate
from core.eval.detection import precision_recall
from core.pipeline.config import load_config
from core.pipeline.encoding import feature_cache
from core.store.project import Project
from core.store.repos.images import ImageFilter

# every variant spelled out from the drawing before issue 14 (no relative floor, mean score), as measured
BASE = BoxDrawConfig(min_rel_area=0.0, merge_gap=0.0, nms_cover=0.0, score="mean", grabcut=False)
VARIANTS = {
    "before": BASE,
    "default": BoxDrawConfig(),
    "rel0.1": replace(BASE, min_rel_area=0.1),
    "rel0.25": replace(BASE, min_rel_area=0.25),
    "mass": replace(BASE, score="mass"),
    "rel0.1+mass": replace(BASE, min_rel_area=0.1, score="mass"),
    "rel0.25+mass": replace(BASE, min_rel_area=0.25, score="mass"),
    "merge0.5+mass": replace(BASE, merge_gap=0.5, score="mass"),
    "rel0.1+merge0.5+mass": replace(BASE, min_rel_area=0.1, merge_gap=0.5, score="mass"),
    "rel0.1+merge0.5+nms+mass": replace(BASE, min_rel_area=0.1, merge_gap=0.5, nms_cover=0.8, score="mass"),
    "rel0.25+merge0.5+mass": replace(BASE, min_rel_area=0.25, merge_gap=0.5, score="mass"),
    "rel0.1+merge1+mass": replace(BASE, min_rel_area=0.1, merge_gap=1.0, score="mass"),
    "split0.06": replace(BoxDrawConfig(), split_touching=0.06),
    "split0.1": replace(BoxDrawConfig(), split_touching=0.1),
    "split0.15": replace(BoxDrawConfig(), split_touching=0.15),
    "split0.1+rel0.1": replace(BoxDrawConfig(), split_touching=0.1, min_rel_area=0.1),
    "rel0.1+mass+grabcut": replace(BASE, min_rel_area=0.1, score="mass", grabcut=True),
    "rel0.25+mass+grabcut": replace(BASE, min_rel_area=0.25, score="mass", grabcut=True),
    "rel0.1+merge0.5+mass+grabcut": replace(BASE, min_rel_area=0.1, merge_gap=0.5, score="mass", grabcut=True),
}


def ground_truth(project) -> dict[int, np.ndarray]:
    """image id -> its ground-truth boxes ``[M, 4]`` (xyxy, image pixels, float64)."""
    gt: dict[int, list] = {}
    for g in project.boxes.gt():
        gt.setdefault(g.image_id, []).append(g.xyxy)
    return {k: np.asarray(v, dtype=np.float64) for k, v in gt.items()}


def _rgb(cache, content_hash: str, shape) -> np.ndarray:
    import cv2
    rgb = np.ascontiguousarray(np.asarray(cache.get(content_hash).rgb, dtype=np.uint8).transpose(1, 2, 0))
    return rgb if rgb.shape[:2] == tuple(shape) else cv2.resize(rgb, (shape[1], shape[0]),
                                                                interpolation=cv2.INTER_AREA)


def judge(project, run_id: int, records, gt, cfg: BoxDrawConfig, cache, threshold: float | None = None) -> dict:
    tau = project.maps.prediction_run_config(run_id).get("operating_threshold", 0.5)
    shown, hits, sims = {}, [], {1: 0.0, 3: 0.0, "gate": 0.0}
    gate = SuggestionGate()
    for rec in records:
        p = project.maps.prediction(rec.id, run_id)
        if p is None:
            continue
        m = p.fg_map
        h, w = m.shape
        rgb = _rgb(cache, rec.content_hash, m.shape) if cfg.grabcut and cache.has(rec.content_hash) else None
        c = cfg if rgb is not None or not cfg.grabcut else replace(cfg, grabcut=False)
        drawn = draw_boxes(m, tau if threshold is None else threshold, c, rgb)
        b = np.asarray([(x0 / w * rec.width, y0 / h * rec.height, x1 / w * rec.width, y1 / h * rec.height)
                        for x0, y0, x1, y1, _ in drawn], dtype=np.float64).reshape(-1, 4)
        scores = np.asarray([d[4] for d in drawn], dtype=np.float64)
        shown[rec.id] = b
        g = gt.get(rec.id)
        if g is not None:
            hits.append(bool(len(b)) and box_iou(b[:1], g).max() >= 0.5)
        g0 = g if g is not None else np.zeros((0, 4))
        for look in (1, 3):
            sims[look] += replay_image(b, g0, Costs(), look).seconds
        sims["gate"] += replay_gated(b, scores, g0, Costs(), gate).seconds
    obj = [r for r in records if r.id in gt and r.id in shown]
    pr = precision_recall([shown[r.id] for r in obj], [gt[r.id] for r in obj])
    hand = sum(len(gt[r.id]) for r in obj) * Costs().draw
    return {"P@.5": pr.precision, "R@.5": pr.recall, "top1@.5": 100.0 * float(np.mean(hits)),
            "box/img": pr.n_pred / max(len(obj), 1), "sim top1": sims[1] / hand, "sim top3": sims[3] / hand,
            "sim gate": sims["gate"] / hand}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("project")
    ap.add_argument("--runs", type=int, default=3, help="the last N prediction runs")
    ap.add_argument("--run-ids", help="these prediction runs instead, comma-separated (one per training run)")
    ap.add_argument("--splits", help="only these splits, e.g. train,val (default: every image)")
    ap.add_argument("--variants", help="comma-separated names of VARIANTS (default: all)")
    ap.add_argument("--thresholds", default="run", help="operating thresholds, comma-separated; 'run' = each "
                    "prediction run's own (default)")
    a = ap.parse_args()
    project = Project.open(Path(a.project))
    last = project.maps.latest_run_id()
    runs = [int(x) for x in a.run_ids.split(",")] if a.run_ids else list(range(last - a.runs + 1, last + 1))
    records = [r for r in project.images.list(ImageFilter(include_missing=False))
               if not a.splits or r.split in a.splits.split(",")]
    gt = ground_truth(project)
    cache = feature_cache(project, load_config(project))
    names = a.variants.split(",") if a.variants else list(VARIANTS)
    cols = ("P@.5", "R@.5", "top1@.5", "box/img", "sim top1", "sim top3", "sim gate")
    print(f"{project.path.name}, prediction runs {runs}, splits {a.splits or 'all'}; mean [min-max] over runs; "
          "sim = simulated inspector time / drawing every box by extreme clicking")
    print(f"{'variant':<30}" + "".join(f"{c:>20}" for c in cols))
    for name, th in ((n, t) for t in a.thresholds.split(",") for n in names):
        tv = None if th == "run" else float(th)
        res = [judge(project, r, records, gt, VARIANTS[name], cache, tv) for r in runs]
        name = name if th == "run" else f"{name} @{th}"
        cells = []
        for c in cols:
            v = [x[c] for x in res]
            fmt = ".2f" if c.startswith("sim") or c == "box/img" else ".1f"
            cells.append(f"{statistics.fmean(v):{fmt}} [{min(v):{fmt}}-{max(v):{fmt}}]".rjust(20))
        print(f"{name:<30}" + "".join(cells), flush=True)


if __name__ == "__main__":
    main()
