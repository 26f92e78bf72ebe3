"""Does a second look at each box, zoomed in, rank the proposals better? Checked on train + val (never test).

Run from the repository root:
    .venv/bin/python bench/zoom_score.py [--project /tmp/dips_quality/demo_240_0/demo.dips]

Alg. 1 scores a box by f_x on the image blurred outside it, at the scorer's 224 px: a small object
shrinks to a few pixels there. The zoom score (``proposals.zoom_context`` = C) also classifies a square
crop around the box, (1 + C) x its longer side, at the scorer's full resolution, and ranks by the
product of both probabilities. Candidates, the blur-outside score and the ranking are the app's
(core/dips/scoring.py). Printed per C: percent of site images whose top-1 / top-3 / any proposal
overlaps a ground-truth box with IoU >= 0.5; what training gets from the top-1 box (the pool at K = 1):
its area, and the precision of its foreground seed candidates - the top ``pos_top_frac`` of its source
map inside it at ``train_res``, where pixel labels are drawn (core/dips/sampling.py) - as the share of
them inside a ground-truth box, and the share of images where none is. Ground truth only judges.
Whether training gains is a separate question: `bench/head_quality.py --zoom-context C`.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cv2
import numpy as np
import torch

from bench.demo_project import DEMO_PROJECT, open_demo_project
from core.dips.boxes import box_iou
from core.dips.proposals import candidate_boxes, rank_proposals
from core.dips.scoring import score_boxes, score_zoomed
from core.pipeline.config import load_config
from core.pipeline.encoding import load_rgb
from core.pipeline.evaluate_stage import _ground_truth
from core.pipeline.scorer import class_index, get_scorer
from core.progress import Progress, TextProgressBar
from core.store.repos.images import ImageFilter


def seed_precision(attn: np.ndarray, box: np.ndarray, gt: np.ndarray, res: int, top_frac: float) -> float:
    """Share of the foreground seed candidates (top ``top_frac`` of ``attn`` inside ``box``, at ``res`` x ``res``)
    that lie in a ground-truth box; boxes normalised xyxy."""
    m = cv2.resize(attn.astype(np.float32), (res, res), interpolation=cv2.INTER_LINEAR)
    yy, xx = np.mgrid[0:res, 0:res] + 0.5   # pixel centres, as the sampler decides 'inside'

    def inside(b: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = b * res
        return (xx >= x0) & (xx < x1) & (yy >= y0) & (yy < y1)
    in_box = inside(box)
    if not in_box.any():
        return 0.0
    vals = np.sort(m[in_box])
    seeds = in_box & (m >= vals[-max(1, int(top_frac * vals.size))])
    in_gt = np.any([inside(g) for g in gt], axis=0)
    return float((seeds & in_gt).sum() / seeds.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", default=DEMO_PROJECT,
                    help="a project with ground truth (bench/quality.py builds the default one)")
    ap.add_argument("--contexts", default="0.5,0.75,1,1.25,2", help="zoom contexts C to compare with no zoom")
    a = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    progress = Progress(TextProgressBar())
    project = open_demo_project(a.project)
    cfg = load_config(project)
    contexts = [float(v) for v in a.contexts.split(",")]
    index = class_index(project)
    names = project.class_names()
    gt = _ground_truth(project, None, None)
    records = [r for r in project.images.list(ImageFilter(include_missing=False))
               if r.split in ("train", "val") and r.id in gt and r.class_id in index
               and not cfg.is_background(names.get(r.class_id))]
    classify = get_scorer(project, cfg, progress)
    s = cfg.proposals.scoring_size
    hits = {c: np.zeros(3) for c in [0.0, *contexts]}
    top1 = {c: [] for c in hits}      # (area of the top-1 box, precision of its foreground seeds)
    gt_areas = [float(np.max((g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1])) / (r.width * r.height))
                for r in records for g in [gt[r.id]]]
    key = cfg.backbone_key
    progress.start("images", len(records))
    for n, rec in enumerate(records, start=1):
        maps = project.maps.attention(rec.id, key)
        cands = candidate_boxes(maps, cfg.proposals)
        if cands:
            # the proposal stage's own input: the image at up to twice the scoring size
            img = torch.from_numpy(load_rgb(project, rec, max_side=2 * s)).permute(2, 0, 1).float().div(255)
            boxes, label = np.array([c.box for c in cands]), index[rec.class_id]
            blurred = score_boxes(img, boxes, label, classify, cfg.proposals)
            scale = np.array([rec.width, rec.height] * 2, dtype=np.float64)
            for c in hits:
                zoomed = None
                if c > 0:
                    zoomed = score_zoomed(img, boxes, label, classify, dataclasses.replace(cfg.proposals,
                                                                                         zoom_context=c))
                ranked = rank_proposals(cands, blurred, cfg.proposals, zoomed_probs=zoomed)
                ious = box_iou(np.array([r.box for r in ranked]) * scale, gt[rec.id]).max(axis=1)
                hits[c] += [ious[:1].max() >= 0.5, ious[:3].max() >= 0.5, ious.max() >= 0.5]
                best = np.asarray(ranked[0].box)
                top1[c].append((float((best[2] - best[0]) * (best[3] - best[1])),
                                seed_precision(maps[ranked[0].source_map], best, gt[rec.id] / scale,
                                               cfg.train.train_res, cfg.train.pos_top_frac)))
        progress.update(n, len(records), rec.rel_path)
    print(f"\n{len(records)} train + val site images (largest ground-truth box: {100 * np.mean(gt_areas):.2f} % of "
          "the image on average); percent with a proposal at IoU >= 0.5")
    print(f"{'zoom context C':<22} {'top-1':>6} {'top-3':>6} {'any':>6}   top-1 box: {'area %':>6} "
          f"{'seed precision %':>16} {'no seed right %':>15}")
    for c, h in hits.items():
        name = "0 (off, Alg. 1 alone)" if c == 0 else f"{c:g}"
        area, prec = np.array(top1[c]).T
        print(f"{name:<22} " + " ".join(f"{v:6.1f}" for v in 100 * h / len(records))
              + f"              {100 * area.mean():6.2f} {100 * prec.mean():16.1f} {100 * (prec == 0).mean():15.1f}")


if __name__ == "__main__":
    main()
