"""Does a larger candidate set T give a better proposal pool? Checked on train + val (never test).

Run from the repository root:
    .venv/bin/python bench/candidate_sets.py [--project /tmp/dips_quality/demo_240_0/demo.dips]

Per map, besides Alg. 1's Otsu threshold t, two more thresholds are tried: Otsu over the values below
t ("lo": looser, larger regions, for objects lit only in part) and Otsu over the values above t ("hi":
tighter, splits merged objects), on maps clipped at the 98th (default) and the 99.5th percentile.
Every distinct box is scored once; each candidate set then goes through the app's cap, de-duplication
and ranking (core/dips/proposals.py). The last row ranks the default set with the deletion score as
well (``proposals.deletion``). Printed: percent of site images whose top-1 / top-3 (the pool,
K = 3) / any candidate overlaps a ground-truth box with IoU >= 0.5, and candidates scored per image.
Ground-truth boxes only judge; they never enter the proposals.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import torch

from bench.demo_project import DEMO_PROJECT, open_demo_project
from core.dips.boxes import binarize, box_area, box_iou, component_boxes_with_activation, otsu_threshold
from core.dips.proposals import Candidate, prepare_map, rank_proposals, select_candidates, select_maps
from core.dips.scoring import score_boxes
from core.pipeline.config import load_config
from core.pipeline.encoding import load_rgb
from core.pipeline.scorer import class_index, get_scorer
from core.progress import Progress, TextProgressBar
from core.store.repos.images import ImageFilter

CLIPS = (98.0, 99.5)


def _otsu_within(m01: np.ndarray, lo: float, hi: float) -> float | None:
    v = m01[(m01 >= lo) & (m01 <= hi)]
    return otsu_threshold(v.reshape(1, -1)) if v.size > 8 else None


def all_candidates(maps: dict[int, np.ndarray], cfg) -> list[tuple[tuple, float, float, str]]:
    """(normalised box, mean activation, clip percentile, level) for every map, clip and threshold level."""
    out = []
    for clip in CLIPS:
        clipped = dataclasses.replace(cfg, clip_percentile=clip)
        for m in select_maps(maps, cfg.maps).values():
            m01 = prepare_map(m, clipped)
            t = otsu_threshold(m01)
            for level, thr in (("otsu", t), ("lo", _otsu_within(m01, 0.0, t)), ("hi", _otsu_within(m01, t, 1.0))):
                if thr is None:
                    continue
                boxes, act = component_boxes_with_activation(m01, binarize(m01, thr))
                if len(boxes) == 0:
                    continue
                boxes = boxes / np.array([m01.shape[1], m01.shape[0]] * 2)
                keep = box_area(boxes) >= cfg.min_area_frac
                out += [(tuple(np.round(b, 6)), float(a), clip, level)
                        for b, a in zip(boxes[keep], act[keep], strict=True)]
    return out


def evaluate(data, cfg, wanted, cap: int, deletion: bool = False) -> tuple[float, float, float, float]:
    c = dataclasses.replace(cfg, max_boxes_per_image=cap)
    hits, n = np.zeros(3), 0
    for cands, probs, deleted, gt in data:
        cands = [x for x in cands if wanted(x)]
        boxes, act = np.array([x[0] for x in cands]), np.array([x[1] for x in cands])
        kept = [Candidate(cands[i][0], -1, float(act[i])) for i in select_candidates(boxes, act, c)]
        ranked = rank_proposals(kept, np.array([probs[k.box] for k in kept]), c,
                                np.array([deleted[k.box] for k in kept]) if deletion else None)
        ious = box_iou(np.array([r.box for r in ranked]), gt).max(axis=1)
        hits += [ious[:1].max() >= 0.5, ious[:3].max() >= 0.5, ious.max() >= 0.5]
        n += len(kept)
    return (*(100 * hits / len(data)), n / len(data))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", default=DEMO_PROJECT)
    a = ap.parse_args()
    progress = Progress(TextProgressBar())
    project = open_demo_project(a.project)
    cfg = load_config(project)
    base = cfg.proposals
    classify = get_scorer(project, cfg, progress)
    index, names = class_index(project), project.class_names()
    gt_all: dict[int, list] = {}
    for g in project.boxes.gt():
        gt_all.setdefault(g.image_id, []).append(g.xyxy)
    recs = [r for s in ("train", "val") for r in project.images.list(ImageFilter(split=s, include_missing=False))
            if r.id in gt_all and r.class_id in index and not cfg.is_background(names.get(r.class_id))]
    data = []
    progress.start("score every candidate once", len(recs))
    for k, rec in enumerate(recs):
        cands = all_candidates(project.maps.attention(rec.id, cfg.backbone_key), base)
        unique = sorted({x[0] for x in cands})
        img = torch.from_numpy(load_rgb(project, rec, max_side=2 * base.scoring_size)).permute(2, 0, 1).float() / 255
        probs = score_boxes(img, np.array(unique), index[rec.class_id], classify, base)
        # deletion scores (the box blurred, the rest kept) for the default set only: the ranking's alternative
        default = sorted({x[0] for x in cands if x[2] == base.clip_percentile and x[3] == "otsu"})
        deleted = score_boxes(img, np.array(default), index[rec.class_id], classify, base, keep_inside=False)
        gt = np.array(gt_all[rec.id]) / np.array([rec.width, rec.height] * 2)
        data.append((cands, dict(zip(unique, probs, strict=True)), dict(zip(default, deleted, strict=True)), gt))
        progress.update(k + 1, len(recs))

    default_clip = base.clip_percentile
    sets = [
        ("Otsu (default)", lambda x: x[2] == default_clip and x[3] == "otsu", base.max_boxes_per_image),
        ("Otsu, no cap", lambda x: x[2] == default_clip and x[3] == "otsu", 10 ** 6),
        ("Otsu + lo", lambda x: x[2] == default_clip and x[3] != "hi", base.max_boxes_per_image),
        ("Otsu + lo, cap 32", lambda x: x[2] == default_clip and x[3] != "hi", 32),
        ("Otsu, clip 98 + 99.5", lambda x: x[3] == "otsu", base.max_boxes_per_image),
        ("Otsu, clip 98 + 99.5, cap 32", lambda x: x[3] == "otsu", 32),
        ("Otsu + lo + hi, both clips, cap 48", lambda x: True, 48),
        ("Otsu + lo + hi, both clips, no cap", lambda x: True, 10 ** 6),
        ("Otsu (default), x (1 - deletion)", lambda x: x[2] == default_clip and x[3] == "otsu",
         base.max_boxes_per_image, True),
    ]
    print(f"\n{len(data)} site images of train + val; percent with IoU >= 0.5")
    print(f"{'candidate set':36s} {'top-1':>6} {'top-3':>6} {'any':>6} {'scored/img':>10}")
    for name, wanted, cap, *deletion in sets:
        top1, top3, anyc, n = evaluate(data, base, wanted, cap, *deletion)
        print(f"{name:36s} {top1:6.1f} {top3:6.1f} {anyc:6.1f} {n:10.1f}")


if __name__ == "__main__":
    main()
