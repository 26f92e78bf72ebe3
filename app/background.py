"""Pipeline stages started from the GUI, their live results, and their errors.

Attention maps and proposals run on a worker thread through ``TaskRunner`` (the stages are
``core.pipeline`` functions). While they run, the current image is re-read every
``LIVE_REFRESH_S`` so maps and ranked boxes appear as soon as they are stored. A failure is
shown in a dialog with the details and the app carries on; the project keeps every image
finished before it, as each stage commits per image.

The work follows the user: the stages read ``focus`` (a core.work_order.FocusList) between images or batches,
and it always holds the image on screen and the next ``NEIGHBOURS`` in the browser's list, so those are computed
next. When a project opens, whatever attention or proposals are unfinished resume without a keypress.
``describe`` words the status bar's line: where the running stage is, what comes next, what is queued after it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app.dialogs.error_dialog import make_error_box
from app.jobs import Jobs, reread_changed, unfinished_stages
from app.workers import Task, TaskRunner
from core.progress import ProgressEvent
from core.result_checks import first_names
from core.stages import TITLES, chain
from core.work_order import FocusList

LIVE_REFRESH_S = 1.5
# What the proposals stage does before its first image, once per project (core/pipeline/scorer.py)
PREPARING = dict.fromkeys(("scorer", "classifier"), "first the box scorer learns from the training images (once)")
NEIGHBOURS = 3   # images after the one on screen computed before the rest (with it: one attention batch of 4)
# The queue entry for the background classes' attention maps, computed after the proposals (which need only
# object images' maps) when the two stages are chained
LATER_ATTENTION = "attention:background"


class BackgroundWork(QObject):
    queue_changed = Signal()   # a stage was queued after the running one (the status bar words it again)

    def __init__(self, session, runner: TaskRunner, window: QWidget, parent=None,
                 shown: Callable[[str], bool] | None = None,
                 neighbour: Callable[[int | None, int], int | None] | None = None):
        super().__init__(parent)
        self.s, self.runner, self.window = session, runner, window
        self.jobs = Jobs(runner)
        # shown(stage): does the screen already show this stage's result for the current image?
        self._shown = shown or (lambda _stage: False)
        self.error_boxes: list[QMessageBox] = []
        self._last_live = 0.0
        self._queue: list[str] = []  # stages chained after the running one (attention -> proposals)
        self._stage_task: Task | None = None
        self._stage_name: str | None = None
        # neighbour(image id, k): the image k rows further in the list the user pages through (None: none)
        self._neighbour = neighbour or (lambda _id, _k: None)
        self.focus = FocusList()
        session.image_changed.connect(self._follow)

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

    def pending(self, stage: str, background_image: bool = False) -> str | None:
        """"running" while ``stage`` computes, "queued" while it waits behind the running task, else None.
        ``background_image``: asked for an image of a background class, whose maps wait for LATER_ATTENTION."""
        if not self.busy():
            return None
        if stage == "attention" and background_image and LATER_ATTENTION in self._queue:
            return "queued"
        queued = any(q.split(":")[0] == stage for q in self._queue)   # LATER_ATTENTION is attention too
        return "running" if self._stage_name == stage else "queued" if queued else None

    def compute_attention(self, then_proposals: bool = False) -> Task | None:
        return self._start("attention", chain("attention", "proposals")[1:] if then_proposals else [])

    def compute_proposals(self) -> Task | None:
        return self._start("proposals", [])

    def auto_start(self) -> None:
        """Resume what the open project has unfinished (attention, then proposals) without being asked: a new
        project, a run cancelled or a window closed mid-way, images added. Which stages is read off the GUI
        thread; they start when it is known."""
        project = self.s.project
        if project is None:
            return
        def find(_progress):
            # files replaced since they were read are read again first, here, so that the window can show the new
            # file (its size, its scaled boxes) and not the record it opened with (the stages would read it too)
            return reread_changed(project), unfinished_stages(project)
        task = self.runner.run_in_thread(find, "Looking for unfinished maps and proposals")
        task.quiet = True   # the status bar says nothing of it when done: the stages it starts speak for it
        task.failed.connect(lambda msg, details, t=task: self.show_error(t.title, msg, details))
        task.finished.connect(lambda found, p=project: self._resume(p, *found))

    def _resume(self, project, reread: list, stages: list[str]) -> None:
        if project is not self.s.project:   # not if another project opened meanwhile
            return
        if reread:
            self._show_reread(reread)
        if stages:
            self._start(stages[0], stages[1:])

    def _show_reread(self, reread: list) -> None:
        """Files read again on opening (core.data.changed_files.Reread): the list, the image on screen and its boxes
        are read from the store again, as after a re-scan (F5), and the status bar names what changed."""
        from core.data.changed_files import reread_line
        self.s.reload_classes()
        self.s.project_changed.emit(self.s.project)
        self.s.set_image(self.s.image_id)
        changed = [r for r in reread if r.changed]
        if len(changed) == 1:
            self.s.message.emit(reread_line(changed[0]))
        elif changed:
            names = first_names([r.rel_path for r in changed])
            self.s.message.emit(f"re-read {len(changed)} images whose files changed since they were read ({names}): "
                                "the old files' maps, proposals and predicted boxes are dropped, to be made "
                                "again; their curated boxes are kept")

    def _follow(self, rec) -> None:
        """The image on screen and the next few in the list are what the stages compute next."""
        if rec is None:
            self.focus.set(())
            return
        ids = [rec.id]
        for k in range(1, NEIGHBOURS + 1):
            nid = self._neighbour(rec.id, k)
            if nid is None:
                break
            ids.append(nid)
        self.focus.set(ids)

    def describe(self, task: Task, ev: ProgressEvent) -> str | None:
        """The status bar's words for the running stage, e.g. "37 / 240 · next: the image on screen · then:
        Proposals"; None for any other task (the status bar then shows its message)."""
        if task is not self._stage_task or self._stage_name is None:
            return None
        if ev.stage == self._stage_name:
            parts = [f"{ev.done} / {ev.total}" if ev.total > 0 else ev.message]
        else:   # a step before the first image, such as training the proposals' scorer
            parts = [PREPARING.get(ev.stage, ev.message or ev.stage)]
        next_id, next_path = ev.extra.get("next_id"), ev.extra.get("next_path")
        if next_id is not None and ev.stage == self._stage_name:
            if next_id == self.s.image_id:
                parts.append("next: the image on screen")
            elif next_id in self.focus():
                parts.append(f"next: {next_path} (after the image on screen)")
            else:
                parts.append(f"next: {next_path}")
        if self._queue:
            parts.append("then: " + ", ".join(self._title(q) for q in self._queue))
        return " \u00b7 ".join(p for p in parts if p)

    def _start(self, entry: str, then: list[str]) -> Task | None:
        """Run ``entry`` (a stage, or LATER_ATTENTION) now, or queue it after the running one; ``then`` follows."""
        if self.busy():
            for q in (entry, *then):
                if q not in self._queue:
                    self._queue.append(q)
            self.s.message.emit(f"{self._title(entry)} queued after the running task")
            self.queue_changed.emit()
            return None
        project = self.s.project
        if project is None:
            return None
        stage = entry.split(":")[0]
        # proposals need only object images' maps: they go before the background classes' maps
        chained = [*then, *self._queue]
        split = entry == "attention" and "proposals" in chained and LATER_ATTENTION not in chained \
            and any(self.s.is_background(c.id) for c in self.s.classes)
        if split:
            then = list(dict.fromkeys([*chained, LATER_ATTENTION]))
        try:
            task = self.jobs.start(stage, project, in_process=True, priority=self.focus, skip_background=split,
                                   title=self._title(entry))
        except Exception as exc:
            self.show_error(f"Compute {stage}", f"The pipeline cannot be loaded: {exc}", repr(exc))
            return None
        task.failed.connect(lambda msg, details, t=task: self.show_error(t.title, msg, details))
        task.progress.connect(lambda ev, st=stage: self._live(st, ev))
        task.finished.connect(lambda _n, st=stage: self._stage_done(st))
        task.failed.connect(lambda *_: self._queue.clear())
        task.cancelled.connect(self._queue.clear)
        self._stage_task, self._stage_name = task, stage
        self._queue = [q for q in then if q != entry] + [q for q in self._queue if q not in then]
        self.queue_changed.emit()   # what runs and what waits is known only now (the task started above)
        return task

    @staticmethod
    def _title(entry: str) -> str:
        return "Attention maps of background classes" if entry == LATER_ATTENTION else TITLES[entry]

    def _live(self, stage: str, ev: ProgressEvent | None = None) -> None:
        now = time.monotonic()
        if self.s.image is None:
            return
        # the image on screen, just computed (it goes first): shown at once; otherwise a re-read now and then
        just_done = ev is not None and self.s.image.id in ev.extra.get("done_ids", ())
        if now - self._last_live < LIVE_REFRESH_S and not just_done:
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
