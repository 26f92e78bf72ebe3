"""The suggestion gate rebuilt from a large project's review: is it quick enough for the window's GUI thread?

    .venv/bin/python bench/gate_replay.py [--size 100000] [--work /tmp/dips_gate] [--boxes 5]
                                          [--from /tmp/dips_scale/100000/big.dips]

Starts from bench/scale.py's project of SIZE images (one curated box each, one image in 7 marked reviewed; built
there unless ``--from`` names one already built, which is copied, never changed), adds a prediction run with
BOXES predicted boxes per image (the best on the curated box for one image in three, the rest on nothing), and
times what the window does (app/suggestion_gate_view.py):

* the replay of the whole stored review when the project opens (core/review_gate.py ``replay``), with one image
  in 7 reviewed and with every image reviewed;
* relearning one image after an edit (``lesson`` + ``set_lesson``), and the thresholds then asked for;
* what showing an image asks of the gate (``hidden`` for its boxes).

The window replays on a thread above app/suggestion_gate_view.py's REPLAY_ON_THREAD reviewed images and on the GUI
thread below it; the last line prints the replay time per reviewed image that choice rests on.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def prepare(src: Path, dst: Path, boxes: int) -> Path:
    from core.store.project import Project
    from core.store.schema import PredictedBoxRow, PredictionRow
    if dst.exists():
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:   # a consistent copy; the source is left as it is
        a.backup(b)
    blob = np.zeros((4, 4), np.float16).tobytes()
    rng = np.random.default_rng(0)
    with Project.open(dst) as p:
        ids = [r[0] for r in sqlite3.connect(dst).execute("SELECT id FROM images ORDER BY id")]
        run = p.maps.new_prediction_run(None, {})
        with p.transaction() as s:
            s.bulk_insert_mappings(PredictionRow, [dict(id=i, run_id=run, image_id=i, class_probs=[1.0], map_h=4,
                                                        map_w=4, map_data=blob) for i in ids])
            rows = []
            for i in ids:
                scores = np.sort(rng.uniform(0.05, 0.95, boxes))[::-1]
                for k, sc in enumerate(scores):
                    right = k == 0 and i % 3 == 0      # scale.py's curated box is (1, 1, 6, 6)
                    xyxy = (1, 1, 6, 6) if right else (5, 5, 8, 8)
                    rows.append(dict(prediction_id=i, x0=xyxy[0], y0=xyxy[1], x1=xyxy[2], y1=xyxy[3],
                                     score=float(sc), status="pending"))
            s.bulk_insert_mappings(PredictedBoxRow, rows)
    return dst


def timed(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def measure(p, boxes: int) -> tuple[int, float, float, float, float, tuple[float, float]]:
    """(reviewed images, replay s, lesson s, relearn s, hidden s, thresholds) on the project as it is."""
    from core.review_gate import lesson, replay
    reviewed = p.images.counts()["review"].get("verified", 0)
    t_replay, gate = timed(lambda: replay(p), repeat=2)
    image = max(gate.lessons)
    t_lesson, les = timed(lambda: lesson(p, image), repeat=5)

    def relearn():
        gate.set_lesson(image, les)
        return gate.threshold(0), gate.threshold(1)
    t_relearn, thr = timed(relearn, repeat=3)
    scores = sorted(np.random.default_rng(1).uniform(0, 1, boxes), reverse=True)
    t_hidden, _ = timed(lambda: gate.hidden(scores), repeat=100)
    return reviewed, t_replay, t_lesson, t_relearn, t_hidden, thr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--work", default="/tmp/dips_gate")
    ap.add_argument("--boxes", type=int, default=5)
    ap.add_argument("--from", dest="src", help="a project bench/scale.py built (copied, never changed)")
    a = ap.parse_args()
    from sqlalchemy import update

    from core.store.project import Project
    from core.store.schema import ImageRow
    src = Path(a.src) if a.src else None
    if src is None:
        from bench.scale import build
        src = build(Path(a.work) / f"scale_{a.size}", a.size)
    path = prepare(src, Path(a.work) / f"gate_{a.size}_{a.boxes}.dips", a.boxes)
    results = []
    with Project.open(path) as p:
        n = p.images.counts()["total"]
        with p.transaction() as s:     # as bench/scale.py leaves it: one image in 7 reviewed
            s.execute(update(ImageRow).values(review="unreviewed"))
            s.execute(update(ImageRow).where(ImageRow.id % 7 == 1).values(review="verified"))
        for label in ("1 image in 7 reviewed (bench/scale.py)", "every image reviewed"):
            if label.startswith("every"):
                with p.transaction() as s:
                    s.execute(update(ImageRow).values(review="verified"))
            r = measure(p, a.boxes)
            results.append((label, *r[:5]))
            print(f"{label}: {r[0]:,} reviewed of {n:,} images, {a.boxes} predicted boxes each; "
                  f"thresholds {r[5][0]:.3f} / {r[5][1]:.3f}", flush=True)
    print(f"\n{'':<40}{'reviewed':>10}{'replay s':>10}{'lesson ms':>11}{'relearn ms':>12}{'hidden us':>11}")
    for label, reviewed, t_replay, t_lesson, t_relearn, t_hidden in results:
        print(f"{label:<40}{reviewed:>10,}{t_replay:>10.2f}{t_lesson * 1e3:>11.1f}{t_relearn * 1e3:>12.1f}"
              f"{t_hidden * 1e6:>11.1f}")
    per = results[-1][2] / max(results[-1][1], 1)
    from app.suggestion_gate_view import REPLAY_ON_THREAD
    print(f"\nreplay: {per * 1e6:.0f} us per reviewed image; the window replays on its GUI thread up to "
          f"{REPLAY_ON_THREAD:,} reviewed images (~{per * REPLAY_ON_THREAD * 1e3:.0f} ms here), on a thread above")


if __name__ == "__main__":
    main()
