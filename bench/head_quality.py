"""Localization quality of token-decoder variants, measured on the train and val splits (never test).

Run from the repository root:
    .venv/bin/python bench/head_quality.py [--n 240] [--seed 0] [--heads journal,r32,r64] [--work /tmp/dips_quality]

Reuses the demo project of bench/quality.py (attention and proposals computed once), trains the
localization head once per variant with the app's defaults otherwise, and prints MaxBoxAccV2 and
box accuracy at the operating threshold per split. Ground-truth boxes are never used in training,
so the train split is a fair (and larger) place to compare heads; the test split stays untouched
for bench/quality.py. Variants: ``journal`` (C/2, C/4 widths, no projection), ``rR`` (1x1 projection
of the tokens to R channels, then R, R/2), ``rR-1`` (one block only).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.pipeline import compute_attention, compute_proposals, evaluate, predict, train
from core.pipeline.config import PipelineConfig, save_config
from core.pipeline.demo import ensure_demo_project
from core.progress import Progress, TextProgressBar
from core.store.project import Project


def _at_operating(report: dict) -> float:
    """Mean BoxAccV2 at the operating threshold (NaN when the report has none)."""
    return (report.get("BoxAccV2AtOperatingThreshold") or {}).get("mean", float("nan"))


def apply_variant(cfg: PipelineConfig, name: str) -> None:
    if name == "journal":
        cfg.train.decoder_reduce, cfg.train.decoder_widths, cfg.train.decoder_n_up = None, None, 2
        return
    if not name.startswith("r"):
        raise SystemExit(f"unknown head variant {name!r}")
    r, _, blocks = name[1:].partition("-")
    cfg.train.decoder_reduce = int(r)
    cfg.train.decoder_n_up = int(blocks or 2)
    cfg.train.decoder_widths = None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=240)
    ap.add_argument("--seed", type=int, default=0, help="demo data seed (the project of bench/quality.py)")
    ap.add_argument("--train-seed", type=int, default=0)
    ap.add_argument("--heads", default="journal,r32,r64")
    ap.add_argument("--work", default="/tmp/dips_quality")
    ap.add_argument("--K", type=int, help="top-K pool the pseudo-label boxes are drawn from (default: the app's)")
    ap.add_argument("--tight-tolerance", type=float, help="proposals.tight_tolerance of the ranking (default: the "
                    "app's; the project's proposals are redone when it differs)")
    ap.add_argument("--area-penalty", type=float, help="proposals.area_penalty (lambda_area) of the ranking "
                    "(the project's proposals are redone); default: the app's")
    ap.add_argument("--zoom-context", type=float, help="proposals.zoom_context (the project's proposals are "
                    "redone); default: the app's")
    ap.add_argument("--deletion", action="store_true", help="rank proposals with the deletion score too "
                    "(proposals.deletion; the project's proposals are redone)")
    a = ap.parse_args()
    progress = Progress(TextProgressBar())
    project = Project.open(ensure_demo_project(Path(a.work) / f"demo_{a.n}_{a.seed}", n_images=a.n,
                                               progress=progress))
    cfg = PipelineConfig()
    cfg.train.seed = a.train_seed
    cfg.proposals.deletion = a.deletion
    if a.zoom_context is not None:
        cfg.proposals.zoom_context = a.zoom_context
    if a.area_penalty is not None:
        cfg.proposals.area_penalty = a.area_penalty
    if a.K:
        cfg.proposals.K = cfg.train.K = a.K
    if a.tight_tolerance is not None:
        cfg.proposals.tight_tolerance = a.tight_tolerance
    save_config(project, cfg)
    compute_attention(project, cfg, progress)
    compute_proposals(project, cfg, progress)
    rows = []
    for name in a.heads.split(","):
        apply_variant(cfg, name)
        t0 = time.time()
        run = train(project, cfg, progress)
        minutes = (time.time() - t0) / 60
        pred = predict(project, run, progress, cfg=cfg)
        r = {s: evaluate(project, s, "predicted", prediction_run=pred) for s in ("train", "val")}
        rows.append((name, r, minutes))
        print(f"{name}: " + ", ".join(f"{s} {v['MaxBoxAccV2']:.1f}/{_at_operating(v):.1f}" for s, v in r.items()),
              flush=True)
    print(f"\ndemo n={a.n} seed={a.seed}, training seed {a.train_seed}, K {cfg.train.K}"
          f"{', deletion' if a.deletion else ''}, tight_tolerance {cfg.proposals.tight_tolerance}, "
          f"zoom_context {cfg.proposals.zoom_context}, area_penalty {cfg.proposals.area_penalty}; "
          "MaxBoxAccV2 / at the operating threshold, percent")
    print(f"{'head':<10} {'train':>13} {'val':>13} {'train+val':>13} {'train min':>9}")
    for name, r, minutes in rows:
        cells = []
        for s in ("train", "val"):
            cells.append((r[s]["MaxBoxAccV2"], _at_operating(r[s]), r[s]["n_images"]))
        n = sum(c[2] for c in cells)
        both = (sum(c[0] * c[2] for c in cells) / n, sum(c[1] * c[2] for c in cells) / n)
        print(f"{name:<10} " + " ".join(f"{c[0]:6.1f}/{c[1]:5.1f}" for c in cells)
              + f" {both[0]:6.1f}/{both[1]:5.1f} {minutes:9.1f}")


if __name__ == "__main__":
    main()
