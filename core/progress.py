"""Progress reporting and cooperative cancellation shared by every long-running stage.

Stages take a ``Progress`` and call it as they go; the CLI renders a text bar, the GUI
forwards to a Qt signal, tests record the calls. Cancellation is cooperative: a stage
calls ``progress.check()`` between units of work and stops cleanly with ``Cancelled``.
"""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Cancelled(Exception):
    """Raised inside a stage when the user asked it to stop."""


@dataclass
class ProgressEvent:
    stage: str
    done: int
    total: int
    message: str = ""
    eta_s: float | None = None
    extra: dict = field(default_factory=dict)


class Progress:
    """Callable progress sink with an ETA estimate and a cancel flag.

    ``on_event`` receives ``ProgressEvent``s; ``cancel()`` may be called from any thread.
    """

    def __init__(self, on_event: Callable[[ProgressEvent], None] | None = None,
                 cancel_event: threading.Event | None = None):
        self._on_event = on_event
        self._cancel = cancel_event or threading.Event()
        self._stage = ""
        self._t0 = time.monotonic()
        self._first_done = 0

    # -- cancellation ---------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled(self._stage or "cancelled")

    # -- reporting ------------------------------------------------------
    def start(self, stage: str, total: int, message: str = "") -> None:
        self._stage = stage
        self._t0 = time.monotonic()
        self._first_done = 0
        self._emit(ProgressEvent(stage, 0, total, message))

    def update(self, done: int, total: int, message: str = "", **extra) -> None:
        elapsed = time.monotonic() - self._t0
        eta = None
        if done > 0 and total > 0 and done <= total:
            eta = elapsed / done * (total - done)
        self._emit(ProgressEvent(self._stage, done, total, message, eta, extra))
        self.check()

    def _emit(self, ev: ProgressEvent) -> None:
        if self._on_event is not None:
            self._on_event(ev)


NULL_PROGRESS = Progress()


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class TextProgressBar:
    """Renders ProgressEvents on a terminal (stderr) with tqdm: one bar per stage, closed when the stage ends."""

    def __init__(self, stream=None, min_interval_s: float = 0.1):
        self.stream = stream or sys.stderr
        self.min_interval_s = min_interval_s
        self._bar: Any = None   # a tqdm bar while a stage runs
        self._stage: str | None = None

    def __call__(self, ev: ProgressEvent) -> None:
        from tqdm import tqdm

        if ev.stage != self._stage or self._bar is None:
            self.close()
            self._stage = ev.stage
            self._bar = tqdm(total=ev.total or None, desc=ev.stage, file=self.stream, mininterval=self.min_interval_s,
                             leave=True, dynamic_ncols=True)
        bar = self._bar
        assert bar is not None   # made just above
        if ev.total and bar.total != ev.total:
            bar.total = ev.total
        bar.n = ev.done
        if ev.message:
            bar.set_postfix_str(ev.message[:60], refresh=False)
        if ev.total > 0 and ev.done >= ev.total:
            self.close()        # draws the finished bar once
        else:
            bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._stage = None, None
