"""Size-prior defaults of the proposal ranking, checked on the train and val splits (never test).

Run from the repository root:
    .venv/bin/python bench/proposal_defaults.py [--project /tmp/dips_quality/demo_240_0/demo.dips]

Every candidate of every site image in train + val is scored once (no area cap, no de-duplication);
each setting of (max_area_frac, tight_tolerance, area_penalty) then re-runs the cap, de-duplication
and ranking of core/dips/proposals.py on those scores. Printed per setting: how often the top-1
proposal and the best of the top-K pool overlap a ground-truth box with IoU >= 0.5 (the pool is what
training samples from). Ground-truth boxes only judge; they never enter the proposals.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import torch

from bench.demo_project import DEMO_PROJECT, open_demo_project
from core.dips.boxes import box_iou
from core.dips.proposals import Candidate, ProposalConfig, candidate_boxes, rank_proposals, select_candidates
from core.dips.scoring import score_boxes
from core.pipeline.config import load_config
from core.pipeline.encoding import load_rgb
from core.pipeline.scorer import class_index, get_scorer
from core.progress import Progress, TextProgressBar
from core.store.repos.images import ImageFilter


def apply_cap_and_dedupe(cands: list[Candidate], probs: np.ndarray, cfg: ProposalConfig):
    """candidate_boxes' selection under ``cfg``, on candidates scored once without cap or de-duplication."""
    keep = select_candidates(np.array([c.box for c in cands]), np.array([c.activation for c in cands]), cfg)
    return [cands[i] for i in keep], probs[keep]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", default=DEMO_PROJECT)
    ap.add_argument("--scoring-size", type=int, help="side of the scorer's input (default: the project's, 224)")
    ap.add_argument("--min-areas", default=None, help="min_area_frac values to try, comma-separated (default: the "
                    "project's); candidates below it are dropped, the largest kept if none is left")
    ap.add_argument("--quick", action="store_true", help="only the project's max_area_frac, tolerance and penalty")
    a = ap.parse_args()
    progress = Progress(TextProgressBar())
    project = open_demo_project(a.project)
    cfg = load_config(project)
    base = cfg.proposals
    if a.scoring_size:
        base.scoring_size = a.scoring_size      # the scorer's linear probe is trained at this size too
    classify = get_scorer(project, cfg, progress)
    index = class_index(project)
    names = project.class_names()
    gt_all: dict[int, list] = {}
    for g in project.boxes.gt():
        gt_all.setdefault(g.image_id, []).append(g.xyxy)
    recs = [r for s in ("train", "val") for r in project.images.list(ImageFilter(split=s, include_missing=False))
            if r.id in gt_all and r.class_id in index and not cfg.is_background(names.get(r.class_id))]
    everything = dataclasses.replace(base, max_area_frac=1.0, dedupe_iou=1.01, max_boxes_per_image=10 ** 6)
    data = []
    progress.start("score all candidates", len(recs))
    for k, rec in enumerate(recs):
        cands = candidate_boxes(project.maps.attention(rec.id, cfg.backbone_key), everything)
        img = torch.from_numpy(load_rgb(project, rec, max_side=2 * base.scoring_size)).permute(2, 0, 1).float() / 255
        probs = score_boxes(img, np.array([c.box for c in cands]), index[rec.class_id], classify, base)
        gt = np.array(gt_all[rec.id]) / np.array([rec.width, rec.height] * 2)
        data.append((cands, probs, gt))
        progress.update(k + 1, len(recs))

    rows = []
    mins = [float(v) for v in a.min_areas.split(",")] if a.min_areas else [base.min_area_frac]
    grid = ([(base.max_area_frac,), (base.tight_tolerance,), (base.area_penalty,)] if a.quick
            else [(0.15, 0.25, 0.35, 0.5, 1.0), (0.0, 0.05, 0.15), (0.0, 0.1, 0.3)])
    for low, cap, tol, lam in itertools.product(mins, *grid):
        c = dataclasses.replace(base, max_area_frac=cap, tight_tolerance=tol, area_penalty=lam)
        hits = np.zeros(6)
        for cands, probs, gt in data:
            big = [i for i, x in enumerate(cands) if (x.box[2] - x.box[0]) * (x.box[3] - x.box[1]) >= low]
            if not big:   # as candidate_boxes: the largest when nothing passes
                big = [int(np.argmax([(x.box[2] - x.box[0]) * (x.box[3] - x.box[1]) for x in cands]))]
            kept, p = apply_cap_and_dedupe([cands[i] for i in big], probs[big], c)
            ranked = rank_proposals(kept, p, c)
            ious = box_iou(np.array([r.box for r in ranked]), gt).max(axis=1)
            hits += [ious[:k].max() >= 0.5 for k in (1, 2, 3, 4, 5, len(ious))]
        rows.append((low, cap, tol, lam, *(100 * hits / len(data))))
    print(f"\n{len(data)} site images of train + val; percent with IoU >= 0.5 "
          f"(defaults: max_area_frac {base.max_area_frac}, tight_tolerance {base.tight_tolerance}, "
          f"area_penalty {base.area_penalty}, K {base.K})")
    print(f"{'min_area':>8} {'max_area':>8} {'tol':>5} {'lambda':>6} " + " ".join(f"{h:>6}" for h in
          ("top-1", "top-2", "top-3", "top-4", "top-5", "any")))
    for r in sorted(rows, key=lambda r: -(r[6] + r[4])):
        print(f"{r[0]:8.3f} {r[1]:8.2f} {r[2]:5.2f} {r[3]:6.2f} " + " ".join(f"{v:6.1f}" for v in r[4:]))


if __name__ == "__main__":
    main()
