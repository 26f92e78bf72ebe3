"""The suggestion gate rebuilt from a large project's review: is it quick enough for the window's GUI thread?

    .venv/bin/python bench/gate_replay.py [--size 100000] [--work /tmp/dips_gate] [--boxes 5]
                                          [--from /tmp/dips_scale/100000/big.dips]

Starts from bench/scale.py's project of SIZE images (one curated box each, one image in 7 marked reviewed; built
there unless ``--from`` names one already built, which is copied, never changed), adds a prediction run with
BOXES predicted boxes per image (the best on the curated box for one image in three, the rest on nothing), and
times what the window does (app/suggestion_gate_view.py):

* the replay of the whole stored review when the project opens (core/review_gate.py ``replay``), with one image
  in 7 reviewed and with every image reviewed;
* relearning one image after an edit (``lesson``; ``set_lesson`` and the thresholds then asked for);
* what showing an image asks of the gate (``hidden`` for its boxes).

The window replays on a thread above app/suggestion_gate_view.py's REPLAY_ON_THREAD reviewed images and on the GUI
thread below it; the last lines print the replay time per reviewed image that choice rests on, and the gaps
between ticks of a 10 ms timer on a GUI thread (wall clock) idle and while the replay of every image runs on a
thread as the window runs it (the replay holds Python's GIL in turns with the GUI).
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

    def relearn():   # two edits that change what the image teaches, each followed by the thresholds
        gate.set_lesson(image, None)
        gate.threshold(0), gate.threshold(1)
        gate.set_lesson(image, les)
        return gate.threshold(0), gate.threshold(1)
    t_relearn, thr = timed(relearn, repeat=3)
    t_relearn /= 2
    scores = sorted(np.random.default_rng(1).uniform(0, 1, boxes), reverse=True)
    t_hidden, _ = timed(lambda: gate.hidden(scores), repeat=100)
    return reviewed, t_replay, t_lesson, t_relearn, t_hidden, thr


def gui_gaps(path: Path) -> tuple[float, float, float, float, float]:
    """(idle p99, idle max, p99 and max during the threaded replay, replay seconds): wall-clock gaps in ms."""
    import os
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.probe import ask_in_background
    from core.review_gate import replay
    from core.store.project import Project
    from tests.app.stall import gui_cpu_gaps
    app = QApplication.instance() or QApplication([])
    p = Project.open(path)
    import gc
    gc.freeze()    # as the window does once started (app/main_window.py _settle_heap): collections see new objects only

    def spin(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()
    with gui_cpu_gaps(10, clock=time.perf_counter) as idle:
        spin(2.0)
    done: list = []
    t0 = time.perf_counter()
    with gui_cpu_gaps(10, clock=time.perf_counter) as busy:
        ask_in_background(lambda: replay(p), lambda g: done.append(time.perf_counter() - t0), None, "gate-replay")
        while not done:
            app.processEvents()
            spin(0.05)
    p.close()
    ms = [np.asarray(g) * 1000 for g in (idle, busy)]
    return (float(np.percentile(ms[0], 99)), float(ms[0].max()), float(np.percentile(ms[1], 99)),
            float(ms[1].max()), done[0])


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
    gaps = gui_gaps(path)
    print(f"\nGUI thread, 10 ms timer: idle p99 {gaps[0]:.0f} ms, max {gaps[1]:.0f} ms; during the replay on a "
          f"thread ({gaps[4]:.1f} s) p99 {gaps[2]:.0f} ms, max {gaps[3]:.0f} ms")
    per = results[-1][2] / max(results[-1][1], 1)
    from app.suggestion_gate_view import REPLAY_ON_THREAD
    print(f"\nreplay: {per * 1e6:.0f} us per reviewed image; the window replays on its GUI thread up to "
          f"{REPLAY_ON_THREAD:,} reviewed images (~{per * REPLAY_ON_THREAD * 1e3:.0f} ms here), on a thread above")


if __name__ == "__main__":
    main()
