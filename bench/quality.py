"""Localization quality on the demo data: raw attention vs DiPS vs DiPS without the CRF loss.

Run from the repository root:
    .venv/bin/python bench/quality.py [--n 240] [--seed 0] [--size 448] [--epochs 12] [--work /tmp/dips_quality]
                                      [--train-seed S] [--K K] [--no-write]

Prints a table (test split, percent) and writes docs/quality.json and docs/threshold_sensitivity.png
(box accuracy at IoU 50 against the threshold: the paper's Fig. 4 analog). Hyper-parameters are
the defaults of the app; nothing is tuned on the test images.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.demo_project import N_IMAGES, SEED, WORK, demo_folder
from bench.plot import line_plot
from core.pipeline import compute_attention, compute_proposals, evaluate, predict, train
from core.pipeline.config import PipelineConfig, save_config
from core.pipeline.demo import ensure_demo_project
from core.progress import Progress, TextProgressBar
from core.store.project import Project

DOCS = Path(__file__).resolve().parents[1] / "docs"


def row(name: str, r: dict) -> str:
    mba = r["MaxBoxAcc"]
    op = r.get("BoxAccV2AtOperatingThreshold") or {}
    opm = op.get("mean")
    return (f"{name:<26} {r['MaxBoxAccV2']:6.1f} {mba['30']:6.1f} {mba['50']:6.1f} {mba['70']:6.1f}   "
            + (f"{opm:6.1f} {op['30']:6.1f} {op['50']:6.1f} {op['70']:6.1f}" if opm is not None else "   n/a"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=N_IMAGES)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--work", default=WORK)
    ap.add_argument("--split", default="test")
    ap.add_argument("--train-seed", type=int, help="training seed (default: --seed)")
    ap.add_argument("--K", type=int, help="top-K pool of the pseudo-label boxes (default: the app's)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/quality.json and the plot")
    a = ap.parse_args()
    progress = Progress(TextProgressBar())
    t0 = time.time()
    path = ensure_demo_project(demo_folder(a.work, a.n, a.seed), n_images=a.n, progress=progress)
    project = Project.open(path)
    cfg = PipelineConfig()
    cfg.attention.input_size = a.size
    cfg.train.seed = a.seed if a.train_seed is None else a.train_seed
    if a.K:
        cfg.proposals.K = cfg.train.K = a.K
    if a.epochs:
        cfg.train.epochs = a.epochs
    save_config(project, cfg)
    compute_attention(project, cfg, progress)
    compute_proposals(project, cfg, progress)
    results = {"attention (raw SST map)": evaluate(project, a.split, "attention", details=True),
               "top-1 proposal box": evaluate(project, a.split, "proposal", details=True)}
    for name, use_crf in (("DiPS", True), ("DiPS without CRF", False)):
        cfg.train.use_crf = use_crf
        run = train(project, cfg, progress)
        pred_run = predict(project, run, progress, cfg=cfg)
        results[name] = evaluate(project, a.split, "predicted", details=True, prediction_run=pred_run)
        results[name]["val_accuracy"] = project.runs.get(run).metrics.get("val_accuracy")
    elapsed = time.time() - t0
    print(f"\n{a.split} split of the demo data (n={a.n}, seed={a.seed}, ViT input {a.size}px, training seed "
          f"{cfg.train.seed}, K {cfg.train.K}), percent")
    print(f"{'':<26} {'MaxBoxAccV2':>6} {'@30':>6} {'@50':>6} {'@70':>6}   "
          f"{'AtOp':>6} {'@30':>6} {'@50':>6} {'@70':>6}")
    for name, r in results.items():
        print(row(name, r))
    print(f"({results['DiPS']['n_images']} test images with a site; total time {elapsed / 60:.1f} min)")
    if a.no_write:
        return
    series = {}
    for name in ("attention (raw SST map)", "DiPS", "DiPS without CRF"):
        c = results[name].get("curve")
        if c:
            series[name] = (c["thresholds"], c["50"])
    line_plot(series, DOCS / "threshold_sensitivity.png", "Box accuracy at IoU 50 vs threshold (demo test split)",
              "threshold on the min-max normalised map", "BoxAcc@50 (%)")
    slim = {k: {kk: vv for kk, vv in v.items() if kk not in ("curves", "per_image")} for k, v in results.items()}
    (DOCS / "quality.json").write_text(json.dumps({"command": " ".join(sys.argv), "results": slim}, indent=1))


if __name__ == "__main__":
    main()
