"""Shared pieces of the 'the GUI never stalls' tests: a CPU-bound task and an event-loop tick recorder."""
from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np
from PySide6.QtCore import QTimer


def cpu_bound_task(seconds: float, steps: int, size: int, seed: int, message: str = ""):
    """A task ``fn(progress)`` busy for a fixed time whatever the machine's speed, reporting ``steps`` steps."""
    def heavy(progress):
        a = np.random.default_rng(seed).random((size, size))
        progress.start("heavy", steps)
        end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < end:
            a = np.tanh(a @ a.T / float(size))
            i += 1
            progress.update(min(i, steps - 1), steps, message)
        return float(a.sum())
    return heavy


@contextmanager
def event_loop_gaps(interval_ms: int = 10):
    """Yields a list that holds, once the block ends, the gaps (s) between ticks of a timer on the GUI thread."""
    stamps: list[float] = []
    gaps: list[float] = []
    timer = QTimer()
    timer.setInterval(interval_ms)
    timer.timeout.connect(lambda: stamps.append(time.perf_counter()))
    timer.start()
    try:
        yield gaps
    finally:
        timer.stop()
        gaps.extend(np.diff(stamps).tolist())
