"""A second round of pseudo labels from the first round's predicted maps (self-training; issue 14, fourth pass).

Run from the repository root on a COPY of a project (``--apply`` rewrites its proposals):
    .venv/bin/python bench/self_training.py PROJECT --pred-run N [--splits train,val] [--apply VARIANT]

Round 1 is an ordinary training + prediction run. For every labelled object image of ``--splits`` (never the
test split: these boxes are what round 2 trains and calibrates on) the bench draws boxes from round 1's
predicted map with the product's box drawing (``core/dips/map_boxes.py``, the project's box settings, at the
prediction run's operating threshold), scores them with the proposals' scorer f_x (true-class probability of
the image blurred outside the box, ``core/dips/scoring.py``) and builds the round-2 pools:

* ``map``:        the map boxes alone, ranked as proposals are (f_x with the size prior, ``rank_proposals``);
* ``map-mass``:   the map boxes alone in the drawing's own order (mean probability x sqrt of the mass share);
* ``merge``:      the stored proposals and the map boxes together, ranked as proposals are.

It prints, per variant, how often the top-1 / top-3 box of the pool is right (IoU >= 0.5 with a ground-truth
box) on the object images of the splits that have ground truth, beside round 1's proposals. Ground truth is read
only for that table. ``--apply VARIANT`` then stores that variant's ranked pools as the images' proposals, so
that ``bench/real_aerial.py`` (same --work) trains round 2 on them from scratch. ``--fine-tune RUN`` trains
round 2 by fine-tuning instead: a new training run starts from RUN's last epoch and trains ``--more`` epochs at
the default schedule's second learning rate (lr x lr_gamma) on the new pools; score it with
``bench/real_aerial.py --training-run`` (the id is printed). Without ``--apply`` it fine-tunes on round 1's
proposals: the control for the extra epochs.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.class_roles import RUN_KEY, run_record
from core.dips.boxes import box_iou
from core.dips.map_boxes import draw_boxes
from core.dips.proposals import Candidate, rank_proposals
from core.dips.scoring import score_boxes
from core.pipeline.config import PipelineConfig, load_config
from core.pipeline.encoding import load_rgb
from core.pipeline.scorer import class_index, get_scorer
from core.pipeline.train_stage import train
from core.progress import NULL_PROGRESS, Progress, TextProgressBar
from core.store.project import Project
from core.store.repos.images import ImageFilter
from core.store.repos.proposals import NewProposal
from core.train.checkpoint import load_checkpoint, save_checkpoint
from core.train.config import TrainConfig

VARIANTS = ("map", "map-mass", "merge")


def map_boxes(fg: np.ndarray, tau: float, draw) -> list[tuple[tuple[float, float, float, float], float]]:
    """(normalised xyxy, drawing score) of the boxes the product draws on ``fg`` at ``tau``, best first."""
    h, w = fg.shape
    return [((x0 / w, y0 / h, x1 / w, y1 / h), s) for x0, y0, x1, y1, s in draw_boxes(fg, tau, draw)]


def pools(project, cfg, rec, pred_run: int, tau: float, classify) -> dict[str, list[tuple]]:
    """Variant -> ranked pool ``[(normalised xyxy, source map, score, class prob), ...]`` of one image."""
    pred = project.maps.prediction(rec.id, pred_run)
    old = project.proposals.list(rec.id, include_rejected=False)
    scale = np.array([rec.width, rec.height, rec.width, rec.height], dtype=np.float64)
    old_c = [Candidate(tuple(np.asarray(p.xyxy) / scale), p.source_map) for p in old]
    old_p = [p.class_prob for p in old]
    drawn = map_boxes(np.asarray(pred.fg_map, dtype=np.float32), tau, cfg.boxes) if pred is not None else []
    if drawn and classify is not None:
        s = cfg.proposals.scoring_size
        img = torch.from_numpy(load_rgb(project, rec, max_side=2 * s)).permute(2, 0, 1).float().div(255)
        probs = score_boxes(img, np.array([b for b, _ in drawn]), class_index(project)[rec.class_id], classify,
                            cfg.proposals)
    else:
        probs = np.zeros(0)
    new_c = [Candidate(b, -1) for b, _ in drawn]   # source: the mean attention map (seeds of the training loss)

    def ranked(cands, p):
        return [(r.box, r.source_map, r.score, r.class_prob)
                for r in rank_proposals(cands, np.asarray(p), cfg.proposals)]
    out = {"round 1 proposals": [(c.box, c.source_map, 0.0, q) for c, q in zip(old_c, old_p, strict=True)]}
    if classify is not None:
        out["map"] = ranked(new_c, probs) if new_c else []
        out["merge"] = ranked(old_c + new_c, list(old_p) + list(probs)) if old_c or new_c else []
    # drawing order; without the scorer the stored class probability is the drawing score
    out["map-mass"] = [(b, -1, float(s), float(q)) for (b, s), q in zip(drawn, probs if len(probs) else
                                                                         [s for _, s in drawn], strict=True)]
    return out


def hit_at(pool: list[tuple], truth: np.ndarray, k: int, rec) -> bool:
    if not len(pool) or truth is None:
        return False
    scale = np.array([rec.width, rec.height, rec.width, rec.height], dtype=np.float64)
    boxes = np.array([b for b, *_ in pool[:k]], dtype=np.float64) * scale
    return bool((box_iou(boxes, truth) >= 0.5).any())


def store(project, records, new_pools: dict[int, list[tuple]]) -> None:
    """Each image's new ranked pool becomes its proposals; an image without a map box keeps round 1's."""
    kept = 0
    for rec in records:
        pool = new_pools[rec.id]
        if not pool:
            continue
        scale = np.array([rec.width, rec.height, rec.width, rec.height], dtype=np.float64)
        project.proposals.replace(rec.id, [NewProposal(tuple(float(v) for v in np.asarray(b) * scale), int(src),
                                                       float(sc), float(q)) for b, src, sc, q in pool])
        kept += 1
    print(f"stored the new pools of {kept} images as their proposals ({len(records) - kept} kept round 1's: "
          "no map box)")


def fine_tune(project, run: int, more: int) -> int:
    """A new training run (``run``'s settings and seed) that resumes from ``run``'s last epoch as if
    it were epoch ``lr_step`` of ``lr_step + more``: ``more`` epochs at lr x lr_gamma on the current pools."""
    old = project.runs.get(run)
    cfg = PipelineConfig()
    # round 1's own settings; hard negatives on object-free images (bg_hard_frac) postdate some runs: off for those
    cfg.train = TrainConfig.from_checkpoint({"bg_hard_frac": 0.0, **old.config})
    cfg.train.epochs = cfg.train.lr_step + more
    state = load_checkpoint(Path(old.checkpoint_path).with_name("last.pt"))
    lr = cfg.train.lr * cfg.train.lr_gamma
    state["epoch"] = cfg.train.lr_step
    for g in state["optimizer"]["param_groups"]:
        g["lr"] = lr
    state["scheduler"].update(last_epoch=cfg.train.lr_step, _last_lr=[lr])
    state["history"] = state["history"][:cfg.train.lr_step]
    new = project.runs.start({**cfg.train.to_dict(), "backbone": cfg.backbone_key, RUN_KEY: run_record(project, cfg)})
    folder = project.work_dir / "runs" / str(new)
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(state, folder / "last.pt")
    print(f"round 2: training run {new} fine-tunes run {run} for {more} epochs at lr {lr:g}", flush=True)
    return train(project, cfg, Progress(TextProgressBar()), resume_run=new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("project")
    ap.add_argument("--pred-run", type=int, required=True, help="round 1's prediction run (its maps and threshold)")
    ap.add_argument("--splits", default="train,val", help="images whose pools are rebuilt (never test)")
    ap.add_argument("--threshold", type=float, help="draw the map boxes at this threshold (default: the run's)")
    ap.add_argument("--apply", choices=VARIANTS, help="store this variant's pools as the images' proposals")
    ap.add_argument("--fine-tune", type=int, metavar="RUN", help="then train round 2 by fine-tuning this run")
    ap.add_argument("--more", type=int, default=2, help="epochs of fine-tuning (default 2)")
    ap.add_argument("--no-scorer", action="store_true", help="only the variants that need no f_x (map-mass): fast")
    a = ap.parse_args()
    splits = a.splits.split(",")
    if "test" in splits:
        raise SystemExit("the test split is never used to build training boxes")
    project = Project.open(a.project)
    cfg = load_config(project)
    tau = a.threshold if a.threshold is not None else float(project.maps.prediction_run_config(a.pred_run)
                                                           ["operating_threshold"])
    index = class_index(project)
    names = project.class_names()
    records = [r for r in project.images.list(ImageFilter(include_missing=False))
               if r.split in splits and r.class_id in index and not cfg.is_background(names.get(r.class_id))]
    gt: dict[int, list] = {}
    for g in project.boxes.gt():
        gt.setdefault(g.image_id, []).append(g.xyxy)
    classify = None if a.no_scorer else get_scorer(project, cfg, NULL_PROGRESS)
    hits: dict[str, list[tuple[bool, bool, float]]] = {}
    new_pools = {}
    for rec in records:
        ps = pools(project, cfg, rec, a.pred_run, tau, classify)
        new_pools[rec.id] = ps
        truth = np.asarray(gt[rec.id], dtype=np.float64) if rec.id in gt else None
        if truth is None:
            continue
        for name, pool in ps.items():
            area = float(np.prod(np.subtract(pool[0][0][2:], pool[0][0][:2]))) if pool else float("nan")
            hits.setdefault(name, []).append((hit_at(pool, truth, 1, rec), hit_at(pool, truth, 3, rec), area))
    n = len(next(iter(hits.values()), []))
    print(f"{a.project}: prediction run {a.pred_run}, boxes drawn at {tau:.2f}; splits {a.splits}: {len(records)} "
          f"object images, {n} with ground truth")
    print(f"{'pool':<20}{'top-1 @.5 %':>13}{'top-3 @.5 %':>13}{'top-1 median area (frac)':>26}{'pool size':>11}")
    for name, rows in hits.items():
        sizes = [len(new_pools[r.id][name]) for r in records]
        print(f"{name:<20}{100 * np.mean([h[0] for h in rows]):>13.1f}{100 * np.mean([h[1] for h in rows]):>13.1f}"
              f"{np.nanmedian([h[2] for h in rows]):>26.4f}{np.mean(sizes):>11.2f}")
    if a.apply:
        store(project, records, {k: v[a.apply] for k, v in new_pools.items()})
    if a.fine_tune:   # without --apply: on round 1's pools, the control for the extra epochs
        print(f"finished training run {fine_tune(project, a.fine_tune, a.more)}")


if __name__ == "__main__":
    main()
