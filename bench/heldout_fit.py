"""The prediction run's threshold and drawing, chosen by several rules for one trained model, each scored on held-out
images with ground truth (issue 14, sixth pass): does fitting on curated images the run did NOT train on pay?

Run from the repository root (nice it on a shared machine; no training, a few minutes a rule):
    .venv/bin/python bench/heldout_fit.py PROJECT --training-run N [--split valtest] [--rules all,...]
    .venv/bin/python bench/heldout_fit.py PROJECT --training-run N --split test --curate-val   # held-out fit

``--curate-val`` first imports the val split's ground truth as curated boxes (once; ``main.py import-coco --as
curated``, as ``bench/ceilings.py`` does for the train split), so that the fit has held-out curated images; then
score ``--split test`` only.

Rules (each gives a threshold tau and a drawing; then the scored images are predicted with them and scored as
``bench/real_aerial.py`` scores a prediction run: MaxBoxAccV2, box accuracy at tau, P / R at IoU 0.5, boxes per
object image):
  ``all``       the fit on every curated image of train + val (the rule before this pass)
  ``product``   what the product does now (``core.pipeline.predict_stage.choose_operating_point``: the fit on the
                curated images held out for the run, its fallback when fewer than 5 are)
  ``pseudo``    the threshold on the train split's pseudo boxes (curated where there, else top-1 proposal), drawing
                as set
  ``proposals`` the threshold on the train split's top-1 proposals alone, curated boxes ignored, drawing as set
  ``trained``   the threshold on the curated images the run trained on, drawing as set
  ``half``      tau 0.5, drawing as set
The project's ground truth is read only to score. Each rule adds one prediction run of the scored images to PROJECT.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ceilings import import_split_gt
from bench.real_aerial import box_figures, figures, ground_truth, records_of, shown_boxes
from core.dips.device import pick_device
from core.pipeline import evaluate, predict
from core.pipeline.config import load_config
from core.pipeline.encoding import feature_cache
from core.pipeline.predict_stage import (
    CALIBRATION_MIN,
    OPERATING_THRESHOLD,
    RunLearned,
    choose_operating_point,
    curated_picks,
    fit_on,
    pseudo_picks,
    threshold_on,
)
from core.store.project import Project
from core.store.repos.images import ImageFilter
from core.train.predictor import LoadedModel

REPO = Path(__file__).resolve().parents[1]
RULES = ("all", "product", "pseudo", "proposals", "trained", "half")


def drawing_name(d) -> str:
    return "GrabCut" if d.grabcut else f"split {d.split_touching:g}" if d.split_touching else "as set"


def choose(rule: str, project, model, cache, every, cfg, learned: RunLearned):
    """(tau, drawing, what it was chosen on) of one rule."""
    picks = curated_picks(project, every, cache, learned)
    if rule == "product":
        tau, c, rec = choose_operating_point(project, model, cache, every, cfg, learned)
        return tau, c.boxes, f"{rec['threshold_source']} on {rec['calibrated_on']}"
    if rule == "all":
        both = picks.held_out + picks.trained
        if len(both) >= CALIBRATION_MIN:
            tau, d, _ = fit_on(model, cache, sorted(both, key=lambda p: p[0].id), cfg.boxes)
            return tau, d, f"fit on {len(both)}"
        return threshold_on(model, cache, pseudo_picks(project, every, cache)), cfg.boxes, "pseudo"
    if rule == "pseudo":
        return threshold_on(model, cache, pseudo_picks(project, every, cache)), cfg.boxes, "pseudo"
    if rule == "proposals":
        props = [(r, np.array([p[0].xyxy], dtype=np.float64)) for r in every if r.split == "train"
                 and cache.has(r.content_hash)
                 for p in [project.proposals.list(r.id, include_rejected=False)] if p]
        return threshold_on(model, cache, props), cfg.boxes, f"proposals of {len(props)}"
    if rule == "trained":
        return threshold_on(model, cache, picks.trained), cfg.boxes, f"trained-on curated {len(picks.trained)}"
    return OPERATING_THRESHOLD, cfg.boxes, "fixed"


def curate_val(path: Path) -> None:
    """Import the val split's ground truth of the project at ``path`` as its curated boxes (``import_split_gt``)."""
    import_split_gt(path, "val", path.parent / "val_gt_curated.json")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("project")
    ap.add_argument("--training-run", type=int, required=True)
    ap.add_argument("--split", default="valtest", choices=("val", "test", "valtest", "trainval"))
    ap.add_argument("--rules", default=",".join(RULES))
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--curate-val", action="store_true", help="first import the val split's ground truth as curated "
                    "boxes (skipped when a val image already has curated boxes)")
    a = ap.parse_args()
    if a.curate_val:
        curate_val(Path(a.project))
    project = Project.open(Path(a.project))
    cfg = load_config(project)
    run = project.runs.get(a.training_run)
    model = LoadedModel(Path(run.checkpoint_path), pick_device(cfg.device))
    every = project.images.list(ImageFilter(include_missing=False))
    cache = feature_cache(project, cfg)
    picks = curated_picks(project, every, cache, RunLearned.of(run))
    print(f"training run {run.id} (seed {run.config.get('seed')}, started {run.started_at}): curated images held out "
          f"{len(picks.held_out)}, trained on {len(picks.trained)}", flush=True)
    splits = {"trainval": ("train", "val"), "valtest": ("val", "test")}.get(a.split, (a.split,))
    records = [r for s in splits for r in records_of(project, s)]
    gt = ground_truth(project)
    out = {}
    for rule in a.rules.split(","):
        tau, draw, on = choose(rule, project, model, cache, every, cfg, RunLearned.of(run))
        fixed = replace(cfg, boxes=replace(draw, threshold=tau, fit_to_curated=False))
        pred = predict(project, run.id, image_ids=[r.id for r in records], cfg=fixed)
        reps = [evaluate(project, s, "predicted", prediction_run=pred) for s in splits]
        n = sum(r["n_images"] for r in reps)
        rep = {"MaxBoxAccV2": sum(r["MaxBoxAccV2"] * r["n_images"] for r in reps) / n, "operating_threshold": tau,
               "BoxAccV2AtOperatingThreshold": {k: sum(r["BoxAccV2AtOperatingThreshold"][k] * r["n_images"]
                                                       for r in reps) / n for k in ("30", "50", "70", "mean")}}
        f = figures(rep, box_figures(shown_boxes(project, records, "predicted", pred), gt, records))
        out[rule] = {**f, "drawing": drawing_name(draw), "chosen_on": on, "prediction_run": pred}
        print(f"{rule:<10} tau {tau:.2f} {drawing_name(draw):<10} ({on}): MaxBoxAccV2 {f['MaxBoxAccV2']:.1f}, "
              f"op@30/50/70 {f['op30']:.1f} / {f['op50']:.1f} / {f['op70']:.1f}, P@.5 {f['precision50']:.1f}, "
              f"R@.5 {f['recall50']:.1f}, boxes/object image {f['boxes_per_object_image']:.2f}", flush=True)
    print(f"(split {a.split}: {sum(r.id in gt for r in records)} object images)")
    if a.json:
        Path(a.json).write_text(json.dumps({"command": " ".join(sys.argv), "rules": out}, indent=1))


if __name__ == "__main__":
    main()
