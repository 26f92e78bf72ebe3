"""File > Background classes...: change which classes show no object, seeing what it will change first.

The table is the wizard's (a tick per class, from the project's setting); below it, live, what the change
does in the inspector's words (core.class_roles.RoleChange.describe): proposals removed, proposals to compute,
trained models out of date. OK applies it in one transaction (core.class_roles.apply_roles).
"""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.dialogs.class_roles_table import ClassRolesTable
from core.class_roles import RoleChange, apply_roles, background_names, box_answers, preview_roles
from core.settings import load_settings


class BackgroundClassesDialog(QDialog):
    def __init__(self, project, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("background_classes_dialog")
        self.setWindowTitle("Background classes")
        self.project = project
        intro = QLabel("Tick the classes whose images show no object. No proposals are computed for their "
                       "images, and training learns all their pixels as background. 'Boxes of it': what a box of "
                       "such a class gets (asked once, then kept as you answered).")
        intro.setWordWrap(True)
        self.table = ClassRolesTable()
        classes = project.classes()
        counts = project.images.counts()["class"]
        names = [c.name for c in classes]
        self.table.show_classes([(c.name, counts.get(c.id, 0)) for c in classes],
                                set(background_names(load_settings(project, fallback=True), names)))
        self._answers = box_answers(project)
        self.table.show_box_answers(self._answers)
        self.effect = QLabel(objectName="background_effect")
        self.effect.setWordWrap(True)
        self.compute = QCheckBox("Compute proposals for the images that now show the object", objectName="compute_now")
        self.compute.setChecked(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.effect)
        lay.addWidget(self.compute)
        lay.addWidget(self.buttons)
        self.table.changed.connect(self._preview)
        self.change: RoleChange | None = None
        self.answers_changed: dict[str, bool | None] = {}   # what apply() changed in the boxes column
        self._preview()
        self.resize(520, 420)

    def _preview(self) -> None:
        change = preview_roles(self.project, self.table.ticked())
        all_bg = len(self.table.ticked()) == len(self.table.boxes) and self.table.boxes
        if all_bg:   # refused, not just warned: the project would have nothing left to learn to find
            self.effect.setText("Every class is ticked as showing no object: there would be nothing to learn to "
                                "find. Untick the class whose images show the object.")
        else:
            self.effect.setText(change.describe())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not all_bg)
        self.compute.setVisible(bool(change.images_to_propose) and not all_bg)

    def apply(self) -> RoleChange:
        """Write the ticks and the answers about boxes to the project (one transaction)."""
        self.answers_changed = {n: a for n, a in self.table.box_answers().items() if a != self._answers.get(n)}
        self.change = apply_roles(self.project, self.table.ticked(), self.answers_changed)
        return self.change
