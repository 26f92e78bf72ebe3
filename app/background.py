"""Pipeline stages started from the GUI, their live results, and their errors.

Attention maps and proposals run on a worker thread through ``TaskRunner`` (the stages are
``core.pipeline`` functions). While they run, the current image is re-read every
``LIVE_REFRESH_S`` so maps and ranked boxes appear as soon as they are stored. A failure is
shown in a dialog with the details and the app carries on; the project keeps every image
finished before it, as each stage commits per image.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from app.dialogs.error_dialog import make_error_box
from app.jobs import Jobs
from app.workers import Task, TaskRunner
from core.stages import chain
from core.store.repos.images import ImageFilter

LIVE_REFRESH_S = 1.5


class BackgroundWork(QObject):
    def __init__(self, session, runner: TaskRunner, window: QWidget, parent=None,
                 shown: Callable[[str], bool] | None = None):
        super().__init__(parent)
        self.s, self.runner, self.window = session, runner, window
        self.jobs = Jobs(runner)
        # shown(stage): does the screen already show this stage's result for the current image?
        self._shown = shown or (lambda _stage: False)
        self.error_boxes: list[QMessageBox] = []
        self._last_live = 0.0
        self._queue: list[str] = []  # stages chained after the running one (attention -> proposals)
        self._stage_task: Task | None = None

    # -- generic ---------------------------------------------------------------------------
    def run(self, fn: Callable[[Any], Any], title: str, on_done: Callable[[Any], None] | None = None) -> Task:
        """Run ``fn(progress)`` on a worker thread; failures open an error dialog."""
        task = self.runner.run_in_thread(fn, title)
        task.failed.connect(lambda msg, details, t=task: self.show_error(t.title, msg, details))
        if on_done is not None:
            task.finished.connect(on_done)
        return task

    def show_error(self, title: str, message: str, details: str) -> QMessageBox:
        """Non-modal, so the window stays usable; 'Show Details...' holds the traceback."""
        box = make_error_box(self.window, f"{title} failed", message, details)
        box.setObjectName("worker_error")
        self.error_boxes.append(box)
        box.finished.connect(lambda _r, b=box: self.error_boxes.remove(b) if b in self.error_boxes else None)
        box.open()
        self.s.message.emit(f"{title} failed: {box.text()}")
        return box

    # -- pipeline stages ----------------------------------------------------------------------------
    def busy(self) -> bool:
        return self._stage_task is not None and self._stage_task.running

    def compute_attention(self, then_proposals: bool = False) -> Task | None:
        return self._start("attention", chain("attention", "proposals")[1:] if then_proposals else [])

    def compute_proposals(self) -> Task | None:
        return self._start("proposals", [])

    def auto_start(self) -> None:
        """A project without attention maps gets them, then proposals, without being asked."""
        p = self.s.project
        if p is None:
            return
        n_images = p.images.count(ImageFilter(include_missing=False))
        if n_images == 0:
            return
        done = max((len(p.maps.image_ids_with_attention(b)) for b in p.maps.attention_backbones()), default=0)
        if done < n_images:  # none yet, or an earlier run was interrupted: the stage skips finished images
            self.compute_attention(then_proposals=True)
        elif p.proposals.count() == 0:
            self.compute_proposals()

    def _start(self, stage: str, then: list[str]) -> Task | None:
        if self.busy():
            if stage not in self._queue:
                self._queue.append(stage)
            self.s.message.emit(f"{stage} queued after the running task")
            return None
        project = self.s.project
        if project is None:
            return None
        try:
            task = self.jobs.start(stage, project, in_process=True)
        except Exception as exc:
            self.show_error(f"Compute {stage}", f"The pipeline cannot be loaded: {exc}", repr(exc))
            return None
        task.failed.connect(lambda msg, details, t=task: self.show_error(t.title, msg, details))
        task.progress.connect(lambda _ev, st=stage: self._live(st))
        task.finished.connect(lambda _n, st=stage: self._stage_done(st))
        task.failed.connect(lambda *_: self._queue.clear())
        task.cancelled.connect(self._queue.clear)
        self._stage_task = task
        self._queue = [q for q in then if q != stage] + [q for q in self._queue if q not in then]
        return task

    def _live(self, stage: str) -> None:
        now = time.monotonic()
        if now - self._last_live < LIVE_REFRESH_S or self.s.image is None:
            return
        self._last_live = now
        if not self._shown(stage):  # re-reading what is already on screen would only flicker
            self._refresh_current(stage)

    def _refresh_current(self, stage: str) -> None:
        img = self.s.image
        if img is None:
            return
        if stage == "attention":
            self.s.maps_changed.emit(img.id)
        else:
            self.s.proposals_changed.emit(img.id)

    def _stage_done(self, stage: str) -> None:
        self._refresh_current(stage)
        if stage == "attention":
            self.s.maps_changed.emit(-1)
        if self._queue:
            self._start(self._queue.pop(0), [])
