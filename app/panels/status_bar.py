"""Status bar: project counts, device, active class, and the running task with ETA and Cancel."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton

from app.workers import Task, TaskRunner
from core.progress import ProgressEvent, format_eta


class StatusBar(QStatusBar):
    def __init__(self, runner: TaskRunner, parent=None):
        super().__init__(parent)
        self.setObjectName("status_bar")
        self.runner = runner
        self.counts = QLabel(objectName="status_counts")
        self.active_class = QLabel(objectName="status_class")
        self.device = QLabel(objectName="status_device")
        self.task_label = QLabel(objectName="status_task")
        self.bar = QProgressBar(objectName="status_progress")
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(True)
        self.eta = QLabel(objectName="status_eta")
        self.cancel_btn = QToolButton(objectName="status_cancel")
        self.cancel_btn.setText("Cancel")
        self.cancel_btn.setToolTip("Stop the running task (Ctrl+.)")
        self.cancel_btn.clicked.connect(self.cancel_current)
        for w in (self.task_label, self.bar, self.eta, self.cancel_btn):
            self.addPermanentWidget(w)
        self.addPermanentWidget(self.active_class)
        self.addPermanentWidget(self.counts)
        self.addPermanentWidget(self.device)
        self._current: Task | None = None
        # describe_task(task, event): the words after the task's title (where it is, what is next and queued), or
        # None for the event's own message; app.background words its stages this way
        self.describe_task: Callable[[Task, ProgressEvent], str | None] = lambda _task, _ev: None
        runner.task_started.connect(self._task_started)
        runner.task_ended.connect(self._task_ended)
        self._show_task(None)

    def set_device(self, name: str) -> None:
        self.device.setText(f"device: {name}")

    def set_counts(self, images: int, reviewed: int, flagged: int, boxes: int) -> None:
        self.counts.setText(f"{images:,} images \u00b7 {reviewed:,} reviewed \u00b7 {flagged:,} flagged"
                            f" \u00b7 {boxes:,} boxes")

    def set_active_class(self, name: str | None) -> None:
        self.active_class.setText(f"new boxes: {name}" if name else "")
        self.active_class.setVisible(bool(name))

    # -- tasks ---------------------------------------------------------------------------
    def current_task(self) -> Task | None:
        return self._current

    def cancel_current(self) -> None:
        if self._current is not None:
            self._current.cancel()
            self.task_label.setText(f"{self._current.title}: cancelling...")

    def refresh_task(self) -> None:
        """Word the running task's line again (what is queued after it changed)."""
        if self._current is not None and self._current.last_event is not None:
            self._progress(self._current, self._current.last_event)
        elif self._current is not None:
            self.task_label.setText(self._titled(self._current))

    def _titled(self, task: Task) -> str:
        """The task's title and how many other tasks wait or run beside it, e.g. "Proposals (+1 queued)"."""
        more = len(self.runner.active()) - 1
        return task.title + (f" (+{more} queued)" if more > 0 else "")

    def _task_started(self, task: Task) -> None:
        task.progress.connect(lambda ev, t=task: self._progress(t, ev))
        if self._current is None:
            self._show_task(task)
        else:
            self.refresh_task()   # "(+N queued)" counts it now, not from the running task's next event on

    def _task_ended(self, task: Task) -> None:
        if task is self._current:
            rest = self.runner.active()
            self._show_task(rest[0] if rest else None)
        else:
            self.refresh_task()
        if task.state == "finished" and not getattr(task, "quiet", False):
            self.showMessage(f"{task.title}: done", 5000)
        elif task.state == "cancelled":
            self.showMessage(f"{task.title}: cancelled", 5000)

    def _show_task(self, task: Task | None) -> None:
        self._current = task
        for w in (self.task_label, self.bar, self.eta, self.cancel_btn):
            w.setVisible(task is not None)
        if task is not None:
            self.task_label.setText(self._titled(task))
            self.bar.setRange(0, 0)  # busy until the first event says how much there is
            self.eta.setText("")
            if task.last_event is not None:
                self._progress(task, task.last_event)

    def _progress(self, task: Task, ev: ProgressEvent) -> None:
        if task is not self._current:
            return
        title = self._titled(task)
        detail = self.describe_task(task, ev)
        if detail is None:
            detail = ev.message
        self.task_label.setText(f"{title}: {detail}" if detail else title)
        if ev.total > 0:
            self.bar.setRange(0, ev.total)
            self.bar.setValue(min(ev.done, ev.total))
            self.bar.setFormat(f"{ev.stage} %v/%m" if ev.stage else "%v/%m")
        else:
            self.bar.setRange(0, 0)
        self.eta.setText(f"ETA {format_eta(ev.eta_s)}" if ev.eta_s is not None else "")
