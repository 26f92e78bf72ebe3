"""Does the predicted-box score rank? Better-scored boxes should overlap ground truth more often.

Run from the repository root:
    .venv/bin/python bench/prediction_score_rank.py PROJECT [--runs 1,2,3] [--splits train,val,test]

For each prediction run of PROJECT (default: the newest prediction of every training run) the boxes are
drawn again from the run's stored foreground maps, at the run's own operating threshold, exactly as the
predict stage stores them today (``core.pipeline.predict_stage.boxes_for_map`` with the project's box
settings: the ``core/dips/map_boxes.py`` score times the probability that the image shows an object).
Every box of every image is pooled and sorted by score, the order "accept all above score s" follows.
A box is a hit when its IoU with a ground-truth box of its image is >= 0.5. Printed per run: the hit
rate of the better-scored half against the worse-scored half, per score quartile, and the chance that
a hit outscores a miss (ROC AUC; 0.5 = the score does not rank).
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

from bench.box_drawing import ground_truth
from core.dips.boxes import box_iou
from core.dips.map_boxes import BoxDrawConfig
from core.pipeline.config import load_config
from core.pipeline.predict_stage import boxes_for_map
from core.store.project import Project
from core.store.repos.images import ImageFilter


def scored_boxes(project, run_id: int, records, gt: dict, cfg) -> list[tuple[float, bool]]:
    """(score, hit at IoU 0.5) of every box the run's maps give, as the predict stage draws them today."""
    tau = project.maps.prediction_run_config(run_id).get("operating_threshold", 0.5)
    out = []
    for rec in records:
        p = project.maps.prediction(rec.id, run_id)
        if p is None:
            continue
        label = project.class_names().get(rec.class_id)
        p_object = 0.0 if label is not None and cfg.is_background(label) else 1.0
        g = gt.get(rec.id, np.zeros((0, 4)))
        for *xyxy, score in boxes_for_map(p.fg_map, rec.width, rec.height, p_object, tau, cfg.boxes):
            hit = bool(len(g)) and float(box_iou(np.asarray([xyxy], dtype=np.float64), g).max()) >= 0.5
            out.append((float(score), hit))
    return out


def auc(pairs: list[tuple[float, bool]]) -> float:
    """P(a hit outscores a miss), ties counted half (Mann-Whitney U / n_hit n_miss)."""
    hits = np.asarray([s for s, h in pairs if h])
    miss = np.asarray([s for s, h in pairs if not h])
    if not len(hits) or not len(miss):
        return float("nan")
    greater = (hits[:, None] > miss[None, :]).sum() + 0.5 * (hits[:, None] == miss[None, :]).sum()
    return float(greater / (len(hits) * len(miss)))


def rate(pairs) -> float:
    return 100.0 * float(np.mean([h for _, h in pairs])) if pairs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("project")
    ap.add_argument("--runs", help="prediction run ids, comma-separated (default: newest per training run)")
    ap.add_argument("--splits", help="only these splits, e.g. train,val (default: every image)")
    ap.add_argument("--score", choices=("default", "mass", "mean", "project"), default="default",
                    help="box settings: today's defaults (default), them with this score, or the project's saved ones")
    a = ap.parse_args()
    project = Project.open(Path(a.project))
    cfg = load_config(project)
    if a.score != "project":
        boxes = BoxDrawConfig()
        cfg = replace(cfg, boxes=boxes if a.score == "default" else replace(boxes, score=a.score))
    if a.runs:
        runs = [int(r) for r in a.runs.split(",")]
    else:
        newest: dict[int | None, int] = {}
        for pr in project.maps.prediction_runs():
            newest[pr.training_run_id] = max(newest.get(pr.training_run_id, 0), pr.id)
        runs = sorted(newest.values())
    records = [r for r in project.images.list(ImageFilter(include_missing=False))
               if not a.splits or r.split in a.splits.split(",")]
    gt = ground_truth(project)
    print(f"{project.path.name}: {len(records)} images ({a.splits or 'all splits'}), {len(gt)} with ground truth; "
          f"boxes drawn as predict draws them today ({cfg.boxes.score} score, min_rel_area {cfg.boxes.min_rel_area})")
    print(f"{'pred. run (training run)':<26}{'boxes':>7}{'hit@.5 all':>12}{'top half':>10}{'bottom half':>13}"
          f"{'quartiles best->worst':>28}{'AUC':>7}")
    training_run = {pr.id: pr.training_run_id for pr in project.maps.prediction_runs()}
    tops, bottoms, aucs = [], [], []
    for run in runs:
        pairs = sorted(scored_boxes(project, run, records, gt, cfg), key=lambda p: -p[0])
        n = len(pairs)
        half = n // 2
        q = [pairs[i * n // 4:(i + 1) * n // 4] for i in range(4)]
        tr = training_run.get(run)
        name = f"{run} (#{tr})" if tr is not None else str(run)
        top, bottom, u = rate(pairs[:half]), rate(pairs[n - half:]), auc(pairs)
        tops.append(top)
        bottoms.append(bottom)
        aucs.append(u)
        quart = " / ".join(f"{rate(x):.0f}" for x in q)
        print(f"{name:<26}{n:>7}{rate(pairs):>11.1f}%{top:>9.1f}%{bottom:>12.1f}%{quart:>28}{u:>7.2f}", flush=True)
    if len(runs) > 1:
        print(f"{'mean':<26}{'':>7}{'':>12}{statistics.fmean(tops):>9.1f}%{statistics.fmean(bottoms):>12.1f}%"
              f"{'':>28}{statistics.fmean(aucs):>7.2f}")


if __name__ == "__main__":
    main()
