"""Stretch to a square, or keep the aspect ratio? Proposal pools from attention at several input shapes.

Run from the repository root:
    .venv/bin/python bench/aspect_ratio.py [--project /tmp/dips_quality/demo_240_0/demo.dips]

The encoder reads every image at each input shape below (height x width, multiples of the patch), the
per-head and mean attention maps go through Alg. 1 as the app runs it (candidates, scoring, ranking:
core.dips.scoring.propose), and the pool is judged against ground truth on train + val (never test):
percent of images whose top-1 / top-3 / any proposal overlaps a ground-truth box with IoU >= 0.5, and
the encoder's tokens per image (its cost grows with them). Ground truth only judges.

Shapes: the app's square S x S (stretched), the aspect kept with the long side S (fewer tokens), the aspect
kept with the short side S (more tokens), and a square with about that many tokens (separates the aspect
from the token count). The aspect is the project's most common one.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import torch
import torch.nn.functional as F

from bench.demo_project import DEMO_PROJECT, open_demo_project
from core.dips.attention import attention_maps
from core.dips.boxes import box_iou
from core.dips.device import inference_autocast
from core.dips.scoring import propose
from core.pipeline.config import load_config
from core.pipeline.encoding import backbone_for, load_rgb
from core.pipeline.evaluate_stage import _ground_truth
from core.pipeline.scorer import class_index, get_scorer
from core.progress import Progress, TextProgressBar
from core.store.repos.images import ImageFilter


def shapes(size: int, patch: int, aspect: float) -> dict[str, tuple[int, int]]:
    """(height, width) per variant, each side a multiple of the patch; ``aspect`` = width / height."""
    def fit(v: float) -> int:
        return max(patch, int(round(v / patch)) * patch)

    def kept(long_side: bool) -> tuple[int, int]:
        wide = aspect >= 1
        other = fit(size / aspect if wide else size * aspect) if long_side else fit(size * aspect if wide
                                                                                     else size / aspect)
        if wide:
            return (other, size) if long_side else (size, other)
        return (size, other) if long_side else (other, size)
    short_s = kept(long_side=False)
    square_tokens = fit((short_s[0] * short_s[1]) ** 0.5)
    return {f"square {size} (stretched, the app)": (size, size),
            f"aspect kept, long side {size}": kept(long_side=True),
            f"aspect kept, short side {size}": short_s,
            f"square {square_tokens} (as many tokens)": (square_tokens, square_tokens)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--project", default=DEMO_PROJECT,
                   help="a project with ground truth (bench/quality.py builds the default one)")
    a = p.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    project = open_demo_project(a.project)
    cfg = load_config(project)
    index = class_index(project)
    gt = _ground_truth(project, None, None)
    records = [r for r in project.images.list(ImageFilter(include_missing=False))
               if r.split in ("train", "val") and r.id in gt and r.class_id in index]
    (w0, h0), _ = collections.Counter((r.width, r.height) for r in records).most_common(1)[0]
    backbone = backbone_for(cfg)
    device = next(backbone.parameters()).device
    classify = get_scorer(project, cfg, Progress(TextProgressBar()))
    variants = shapes(cfg.attention.input_size, backbone.patch_size, w0 / h0)
    hits = {name: np.zeros(3) for name in variants}
    progress = Progress(TextProgressBar())
    progress.start("images", len(records))
    s = cfg.proposals.scoring_size
    for n, rec in enumerate(records, start=1):
        big = torch.from_numpy(load_rgb(project, rec, max_side=2 * max(max(v) for v in variants.values())))
        big = big.permute(2, 0, 1)[None].float().div(255).to(device)
        small = torch.from_numpy(load_rgb(project, rec, max_side=2 * s)).permute(2, 0, 1).float().div(255).to(device)
        scale = np.array([rec.width, rec.height] * 2, dtype=np.float64)
        for name, (h, w) in variants.items():
            x = F.interpolate(big, size=(h, w), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
            with torch.inference_mode(), inference_autocast(device, cfg.attention.precision):
                att = attention_maps(backbone.features(x))[0]
            maps = {**{i: m for i, m in enumerate(att)}, -1: att.mean(axis=0)}
            ranked = propose(small, maps, index[rec.class_id], classify, cfg.proposals)
            if not ranked:
                continue
            ious = box_iou(np.array([r.box for r in ranked]) * scale, gt[rec.id]).max(axis=1)
            hits[name] += [ious[:1].max() >= 0.5, ious[:3].max() >= 0.5, ious.max() >= 0.5]
        progress.update(n, len(records), rec.rel_path)
    print(f"\n{len(records)} train + val images with ground truth, {w0}x{h0}; {cfg.backbone_key}, "
          f"scoring at {s} px; percent of images with a proposal at IoU >= 0.5")
    print(f"{'input (height x width)':<44} {'tokens':>6} {'top-1':>6} {'top-3':>6} {'any':>6}")
    patch = backbone.patch_size
    for name, (h, w) in variants.items():
        t1, t3, anyp = 100 * hits[name] / len(records)
        print(f"{name + f' {h}x{w}':<44} {(h // patch) * (w // patch):>6} {t1:6.1f} {t3:6.1f} {anyp:6.1f}")


if __name__ == "__main__":
    main()
