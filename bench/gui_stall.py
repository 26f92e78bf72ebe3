"""Wall-clock responsiveness of the GUI event loop while a CPU-heavy stage runs on a worker thread.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui_stall.py [--seconds 2]

Prints the gaps between ticks of a 10 ms timer on the GUI thread: idle first (the baseline this machine
gives, whatever else it runs), then with a CPU-bound task on the app's own TaskRunner, side by side. The
tests bound the GUI thread's CPU time instead (tests/app/stall.py), which a busy machine does not change.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.workers import TaskRunner  # noqa: E402
from tests.app.stall import cpu_bound_task, gui_cpu_gaps  # noqa: E402


def _spin(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _summary(gaps: list[float]) -> tuple[float, float, int]:
    g = np.array(gaps) * 1000
    return float(np.percentile(g, 99)), float(g.max()), len(g)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    a = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    runner = TaskRunner()
    with gui_cpu_gaps(clock=time.perf_counter) as idle:
        _spin(a.seconds)
    with gui_cpu_gaps(clock=time.perf_counter) as busy:
        task = runner.run_in_thread(cpu_bound_task(a.seconds, 200, 400, seed=0), "heavy")
        while task.running:
            _spin(0.05)
    runner.wait_idle()
    print(f"{'event loop (10 ms timer)':<34}{'p99 gap ms':>12}{'max gap ms':>12}{'ticks':>8}")
    for name, gaps in (("idle", idle), ("heavy task on a worker thread", busy)):
        p99, mx, n = _summary(gaps)
        print(f"{name:<34}{p99:>12.1f}{mx:>12.1f}{n:>8}")
    print(f"ratio of max gaps (heavy / idle): {_summary(busy)[1] / _summary(idle)[1]:.2f}")
    del app


if __name__ == "__main__":
    main()
