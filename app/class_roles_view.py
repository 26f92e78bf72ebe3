"""The window's side of background classes: the dialog from the File menu, the views refreshed after a change,
and what the change made out of date said where the user looks (the proposals list, the training panel).

core.class_roles decides and writes; this module asks, applies and shows.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject
from PySide6.QtWidgets import QDialog, QMessageBox

from core.class_roles import proposals_out_of_date
from core.stages import TITLES


class ClassRolesView(QObject):
    def __init__(self, session, runner, background, proposals_panel, training_panel: Callable, window, parent=None):
        super().__init__(parent)
        self.s, self.runner, self.background, self.window = session, runner, background, window
        self.proposals = proposals_panel
        self.training_panel = training_panel      # () -> the training panel, or None before it is built
        self.dialog = None                        # the open dialog (tests fill it)
        session.image_changed.connect(self.show_notice)
        session.proposals_changed.connect(lambda _i: self.show_notice())

    def edit(self) -> None:
        """File > Background classes...: ask, apply, refresh."""
        project = self.s.project
        if project is None:
            return
        resume = self._pause_work()
        if resume is None:
            return
        from app.dialogs.background_classes import BackgroundClassesDialog
        self.dialog = dialog = BackgroundClassesDialog(project, self.window)
        try:
            accepted = dialog.exec() == QDialog.DialogCode.Accepted
            change = dialog.apply() if accepted else None
            compute = accepted and dialog.compute.isChecked() and bool(change.images_to_propose)
        finally:
            self.dialog = None
        if change is not None and change.changed:
            self.refresh()
            self.s.message.emit("Background classes changed: " + change.done_text())
        elif accepted and dialog.answers_changed:
            words = {None: "asked first", True: "kept", False: "refused"}
            said = ", ".join(f"'{n}': {words[a]}" for n, a in dialog.answers_changed.items())
            self.s.message.emit(f"Boxes of {said}")
        if "attention" in resume:
            self.background.compute_attention(then_proposals=True)
        elif "proposals" in resume or compute:
            self.background.compute_proposals()

    def _pause_work(self) -> list[str] | None:
        """Attention maps or proposals being computed read the old classes: stop them (they resume after, and
        skip what is done). Training is not stopped for this. Returns the stages to resume, None to give up."""
        active = self.runner.active()
        if not active:
            return []
        stages = [s for s in ("attention", "proposals") if any(t.title == TITLES[s] for t in active)]
        others = [t.title for t in active if t.title not in {TITLES[s] for s in stages}]
        if others:
            QMessageBox.information(self.window, "Background classes",
                                    f"{', '.join(others)} is running for this project. Change the background "
                                    "classes once it is done, or cancel it first (Run > Cancel running task).")
            return None
        ans = QMessageBox.question(self.window, "Background classes",
                                   f"{' and '.join(TITLES[s] for s in stages)} are being computed with the current "
                                   "background classes. Pause it to change them? It resumes afterwards, keeping "
                                   "everything finished so far.")
        if ans != QMessageBox.StandardButton.Yes:
            return None
        self.runner.cancel_all()
        self.runner.wait_idle(10000)
        for _ in range(200):     # the tasks' 'cancelled' signals arrive through the event queue
            if not self.runner.active():
                break
            QCoreApplication.processEvents()
        return stages

    def refresh(self) -> None:
        """Every view that shows classes, proposals or runs reads the store again."""
        self.s.reload_classes()
        self.s.project_changed.emit(self.s.project)
        panel = self.training_panel()
        if panel is not None:
            panel.reload_background()
        self.s.set_image(self.s.image_id)

    def show_notice(self, *_a) -> None:
        """Above the proposals list: why this image has none, or that they are out of date."""
        img, project = self.s.image, self.s.project
        text = ""
        if img is not None and project is not None:
            if self.s.is_background(img.class_id):
                text = (f"'{self.s.class_name(img.class_id)}' is a background class: its images show no object, "
                        "so no proposals are computed for them.")
            elif proposals_out_of_date(project, img.id):
                text = ("Out of date: background classes changed. Proposals for this image come with the next "
                        "Run > Compute proposals (Ctrl+B).")
        self.proposals.set_notice(text)
