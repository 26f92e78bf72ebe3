"""Before training starts: say what is missing in the inspector's words and offer to compute it first.

Training learns boxes from proposals, and proposals need attention maps; a run started without them worked for
minutes and then failed. So the training panel asks here first (``TrainingGate.request``): nothing missing and
nothing computing -> training starts at once; something no computing can fix (no labelled image, no object
class) -> it says so and does not start; maps or proposals missing, or still being computed -> a question:
compute them first (queued after the work already running, through the window's background work) and train
when they are done, train now with what is ready, or cancel. While it waits the panel says so and its Cancel
button stops the wait (not the computing).

The check itself (core.pipeline.readiness.training_readiness) reads every image record of the training split and the
ids of every image with maps or proposals, and the backbone key it needs may hash a user's weight file: it runs on a
worker thread, the panel saying "Checking what training needs..." meanwhile, and its answer comes back through the
task's signal (a newer check, a Cancel or another project makes an older answer void).
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

from app.dialogs.error_dialog import show_error
from app.failure_words import plain_message
from app.jobs import training_readiness
from core.result_checks import plural
from core.stages import TITLES

WATCHED = {TITLES["attention"], TITLES["proposals"]}
CHECK_TITLE = "Checking what training needs"
STAGE_WORDS = {"attention": "attention maps", "proposals": "proposals"}


class TrainingGate(QObject):
    def __init__(self, runner, background, window: QWidget, parent=None):
        super().__init__(parent)
        self.runner, self.background, self.window = runner, background, window
        self._waiting = None          # (panel, settings, project) while training waits for computing
        self._asked_for = False       # the missing stages were started for the waiting training
        self.question: QMessageBox | None = None   # the open question (tests answer it)
        self._checks = 0              # checks started: only the latest one's answer counts
        runner.task_ended.connect(self._task_ended)

    @property
    def waiting(self) -> bool:
        return self._waiting is not None

    def request(self, panel, settings) -> None:
        """Start training on ``panel`` with ``settings`` now, later, or not, as the project and the user say: first
        the check, on a worker thread; then :meth:`_decide` on its answer."""
        project = panel.project
        panel.show_waiting("Checking what training needs...")
        self._check(project, settings, lambda ready: self._decide(panel, settings, project, ready),
                    lambda message, details: self._check_failed(panel, message, details))

    def _check(self, project, settings, on_ready, on_failed) -> None:
        """training_readiness(project, settings) on a worker thread; ``on_ready(ready)`` or ``on_failed(message,
        details)`` on the GUI thread unless a newer check, :meth:`abandon` or another project came first."""
        self._checks += 1
        number = self._checks
        task = self.runner.run_in_thread(lambda _progress: training_readiness(project, settings), CHECK_TITLE)
        task.quiet = True   # the panel says what came of it
        task.finished.connect(lambda ready: on_ready(ready) if number == self._checks else None)
        task.failed.connect(lambda message, details: on_failed(message, details) if number == self._checks else None)

    def _check_failed(self, panel, message: str, details: str) -> None:
        # e.g. a weight file that went missing: say it, start nothing
        panel.not_started(f"Training not started: {plain_message(message)}")
        show_error(self.window, "Training cannot start", message, details)

    def _decide(self, panel, settings, project, ready) -> None:
        if panel.project is not project:
            return
        blocking = ready.blocking()
        if blocking:
            panel.not_started(f"Training not started: {blocking}")
            QMessageBox.warning(self.window, "Training cannot start", blocking)
            return
        stages, busy = ready.to_compute(), self.background.busy()
        if not stages and not busy:
            panel.begin(settings)
            return
        lines = [ready.missing_text()] if stages else []
        if busy:
            lines.append("Attention maps or proposals are still being computed for this project: training now "
                         "would learn only from the images finished so far.")
        what = " and ".join(STAGE_WORDS[s] for s in stages)
        box = QMessageBox(QMessageBox.Icon.Question, "Before training", " ".join(lines), parent=self.window)
        box.setObjectName("training_question")
        first = box.addButton(f"Compute {what} first, then train" if stages else "Train when it finishes",
                              QMessageBox.ButtonRole.AcceptRole)
        first.setObjectName("train_after")
        now = None
        if ready.trainable:
            now = box.addButton(f"Train now ({plural(ready.trainable, 'image')} ready)",
                                QMessageBox.ButtonRole.ActionRole)
            now.setObjectName("train_now")
        box.addButton(QMessageBox.StandardButton.Cancel).setObjectName("train_cancel")
        box.setDefaultButton(first)
        box.setInformativeText("Training starts by itself once they are done, after the work already running."
                               if stages else "Training starts by itself once that work is done.")
        self.question = box
        box.exec()
        self.question = None
        clicked = box.clickedButton()
        if clicked is first:
            self._wait(panel, settings, project, stages)
        elif now is not None and clicked is now:
            panel.begin(settings)
        else:
            panel.not_started("Training not started.")

    def _wait(self, panel, settings, project, stages: list[str]) -> None:
        self._waiting = (panel, settings, project)
        self._asked_for = False
        what = " and ".join(STAGE_WORDS[s] for s in stages) or "the running work"
        panel.show_waiting(f"Waiting: computing {what} first; training starts when they are done.")
        if stages and not self.background.busy():
            self._compute(stages)     # the check has just said what is missing: no second check before it starts
        self._maybe_start()

    def _compute(self, stages: list[str]) -> None:
        """Start what is missing; only once the running work is done, so nothing runs twice."""
        self._asked_for = True
        if "attention" in stages:
            self.background.compute_attention(then_proposals=True)
        else:
            self.background.compute_proposals()

    def abandon(self) -> bool:
        """The panel's Cancel or another project: training will not start (the computing goes on; a check under way
        is forgotten). True if training was waiting for computing."""
        waited, self._waiting = self._waiting is not None, None
        self._checks += 1
        return waited

    def _task_ended(self, task) -> None:
        if self._waiting is None or task.title not in WATCHED:
            return
        if task.state in ("failed", "cancelled"):
            panel = self._waiting[0]
            self._waiting = None
            how = "failed" if task.state == "failed" else "was cancelled"
            panel.not_started(f"Training not started: computing {task.title.lower()} {how}.")
            return
        QTimer.singleShot(0, self._maybe_start)   # after the background queue started its next stage

    def _maybe_start(self) -> None:
        if self._waiting is None or self.background.busy():
            return
        waiting = panel, settings, project = self._waiting
        if panel.project is not project:
            self._waiting = None
            return
        self._check(project, settings, lambda ready: self._after_wait(waiting, ready),
                    lambda message, details: self._wait_check_failed(waiting, message, details))

    def _after_wait(self, waiting, ready) -> None:
        if self._waiting is not waiting or self.background.busy():
            return
        panel, settings, project = waiting
        if panel.project is not project:
            self._waiting = None
            return
        if ready.to_compute() and not self._asked_for:
            self._compute(ready.to_compute())
            if self.background.busy():
                return
        self._waiting = None
        if ready.blocking() is None and ready.trainable:
            panel.begin(settings)
            left = ready.missing_text()
            if left:   # e.g. unreadable images: training goes on with the others
                panel.status.setText(f"Starting training; {left}")
        else:
            panel.not_started("Training not started: " + (ready.blocking() or ready.missing_text()))

    def _wait_check_failed(self, waiting, message: str, details: str) -> None:
        if self._waiting is waiting:
            self._waiting = None
            self._check_failed(waiting[0], message, details)
