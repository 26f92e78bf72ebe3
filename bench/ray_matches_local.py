"""`run --ray` against the local `run` on the demo: the same project twice, compared stage by stage.

    .venv/bin/python bench/ray_matches_local.py [--n 24] [--size 224] [--epochs 2] [--actors 2]

Both projects are built from the same demo images; one runs every stage here, the other runs attention,
proposals and prediction on Ray (local mode; training stays here in both, with the same seed). Prints how
far apart the stored results are. A third row isolates the prediction stage: the local run's own trained model
predicted again on Ray, compared with its local prediction run.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.demo import write_demo  # noqa: E402
from core.data.importer import import_images  # noqa: E402
from core.pipeline import load_config, run_all, save_config  # noqa: E402
from core.pipeline.cluster import RayOptions, connect, predict_on_ray  # noqa: E402
from core.store.project import Project  # noqa: E402


def project(folder: Path, images: Path, size: int, epochs: int, precision: str) -> Project:
    folder.mkdir(parents=True)
    p = Project.create(folder / "p.dips", images)
    import_images(p)
    cfg = load_config(p)
    cfg.attention.input_size, cfg.train.epochs = size, epochs
    cfg.attention.precision = cfg.proposals.scoring_precision = precision
    save_config(p, cfg)
    return p


def compare(p, q, out_p: dict, out_q: dict) -> tuple[float, str, tuple[float, float, str]]:
    """How far apart two projects' attention maps, proposals and predictions are."""
    key = load_config(p).backbone_key
    ids = p.images.ids()
    att = max(np.abs(p.maps.attention(i, key)[h] - q.maps.attention(i, key)[h]).max()
              for i in ids for h in p.maps.attention(i, key))
    with_props = [i for i in ids if p.proposals.list(i)]
    same = sum(_ranked(p, i) == _ranked(q, i) for i in with_props)
    probs, maps, boxes, n = 0.0, 0.0, 0, 0
    for i in ids:
        x, y = p.maps.prediction(i, out_p["prediction_run"]), q.maps.prediction(i, out_q["prediction_run"])
        if x is None or y is None:
            continue
        n += 1
        probs = max(probs, float(np.abs(np.array(x.class_probs) - np.array(y.class_probs)).max()))
        maps = max(maps, float(np.abs(x.fg_map - y.fg_map).max()))
        boxes += [b.xyxy for b in x.boxes] == [b.xyxy for b in y.boxes]
    return float(att), f"{same} of {len(with_props)} images", (probs, maps, f"{boxes} of {n} images")


def _ranked(p, image_id: int) -> list:
    return [(r.rank, r.source_map) + tuple(round(v, 2) for v in r.xyxy) for r in p.proposals.list(image_id)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--actors", type=int, default=2)
    ap.add_argument("--precision", default="auto", help="auto (bfloat16 where fast) or float32")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo = write_demo(Path(tmp) / "demo", n_images=a.n)
        local = project(Path(tmp) / "local", demo.image_dir, a.size, a.epochs, a.precision)
        remote = project(Path(tmp) / "ray", demo.image_dir, a.size, a.epochs, a.precision)
        t0 = time.perf_counter()
        out_local = run_all(local)
        t1 = time.perf_counter()
        connect(RayOptions())
        t2 = time.perf_counter()
        out_ray = run_all(remote, ray=RayOptions(actors=a.actors))
        t3 = time.perf_counter()
        # the same checkpoint, predicted on Ray: the stage alone, without training's float noise
        same_model = {"prediction_run": predict_on_ray(local, out_local["train_run"],
                                                       opts=RayOptions(actors=a.actors), cfg=load_config(local))}
        again = project(Path(tmp) / "local_again", demo.image_dir, a.size, a.epochs, a.precision)
        out_again = run_all(again)   # the control: the local run twice
        rows = [("Ray vs local", compare(local, remote, out_local, out_ray)),
                ("local vs local (control)", compare(local, again, out_local, out_again)),
                ("Ray predict vs local predict, same trained model", compare(local, local, out_local, same_model))]
    print(f"\n{a.n} demo images at {a.size} px, {a.epochs} epochs, precision {a.precision}; Ray with {a.actors} "
          "actors (local mode)")
    print(f"local run {t1 - t0:.0f} s, Ray run {t3 - t2:.0f} s (after Ray's start)")
    for name, (att, props, preds) in rows:
        print(f"{name}: attention maps differ by at most {att:.2e}; identical ranked proposals on {props}; "
              f"predictions: class probabilities differ by at most {preds[0]:.2e}, maps by {preds[1]:.2e}, "
              f"identical boxes on {preds[2]}")


if __name__ == "__main__":
    main()
