"""Shared pieces of the 'the GUI never stalls' tests: a CPU-bound task and a GUI-thread CPU recorder.

Why CPU time and not the clock: a wall-clock gap between two timer ticks measures the machine as much as the
code (another process on the same cores stretches it), so a test bounded by it fails on a busy machine. The
CPU time the GUI thread itself spends between two ticks grows only with the work done on that thread: a
stage run on the GUI thread by mistake shows up as a gap of seconds, whatever the load. The wall-clock
figure is printed by bench/gui_stall.py beside an idle baseline.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import numpy as np
from PySide6.QtCore import QTimer


def cpu_bound_task(seconds: float, steps: int, size: int, seed: int, message: str = "", threads: set | None = None):
    """A task ``fn(progress)`` busy for a fixed time whatever the machine's speed, reporting ``steps`` steps.
    ``threads``, if given, receives the id of the thread the task ran on."""
    def heavy(progress):
        if threads is not None:
            threads.add(threading.get_ident())
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


class CpuGaps(list):
    """The gaps (a list of seconds, filled when the block ends) and, meanwhile, ``stamps``: the clock at each tick
    so far, so a test can wait for the loop to tick between two user actions."""
    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[float] = []


@contextmanager
def gui_cpu_gaps(interval_ms: int = 10, clock=time.thread_time):
    """Yields a :class:`CpuGaps` that holds, once the block ends, the GUI thread's CPU seconds spent between
    consecutive ticks of a timer on it (``clock=time.perf_counter`` gives wall-clock gaps instead, for bench/)."""
    gaps = CpuGaps()
    timer = QTimer()
    timer.setInterval(interval_ms)
    timer.timeout.connect(lambda: gaps.stamps.append(clock()))
    timer.start()
    try:
        yield gaps
    finally:
        timer.stop()
        gaps.extend(np.diff(gaps.stamps).tolist())
