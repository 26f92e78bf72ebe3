"""The window's side of background classes: the dialog from the File menu, the views refreshed after a change,
and what the change made out of date said where the user looks (the proposals list, the training panel).

core.class_roles decides and writes; this module asks, applies and shows.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QMessageBox

from core.class_roles import proposals_out_of_date


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
        if self.runner.active():
            QMessageBox.information(self.window, "Background classes",
                                    "Work is running for this project (" + ", ".join(t.title for t in
                                                                                    self.runner.active()) +
                                    "). Change the background classes once it is done, or cancel it first.")
            return
        from app.dialogs.background_classes import BackgroundClassesDialog
        self.dialog = dialog = BackgroundClassesDialog(project, self.window)
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return
            change = dialog.apply()
            compute = dialog.compute.isChecked() and bool(change.images_to_propose)
        finally:
            self.dialog = None
        if not change.changed:
            return
        self.refresh()
        self.s.message.emit("Background classes changed: " + change.done_text())
        if compute:
            self.background.compute_proposals()

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
