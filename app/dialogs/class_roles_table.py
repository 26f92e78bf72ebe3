"""A table of classes with their image counts and a tick for each class whose images show no object.

Shared by the new-project wizard's class page and the background-classes dialog. The ticks start from what the
caller says (the name rule for a new project, the project's setting later); a tick means a background class:
no proposals are computed for its images and training learns all their pixels as background.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

NO_OBJECT = "Shows no object"
TICK_TIP = ("Tick a class whose images show no object (e.g. 'field', 'no_site'): no proposals are computed for "
            "its images and training learns all their pixels as background. Pre-filled from the names (no_*, "
            "background, empty, ...).")
BOXES = "Boxes of it"
# the answer to "keep boxes of this background class?" (core.class_roles.BOX_ANSWERS): None asks at the first box
BOX_CHOICES = (("ask first", None), ("kept", True), ("refused", False))
BOXES_TIP = ("A box drawn, clicked or accepted with a background class: 'ask first' asks once (your answer is then "
             "kept here), 'kept' keeps such boxes without asking, 'refused' refuses them without asking.")
# what the boxes column shows for a class whose images show the object: there is nothing to choose there
OBJECT_BOXES = "kept (object class)"
OBJECT_BOXES_TIP = ("Boxes of a class whose images show the object are always kept: nothing is asked. Tick "
                    "'Shows no object' to choose what boxes of a background class get.")


class ClassRolesTable(QTableWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(0, 3, parent)
        self.setObjectName("class_roles_table")
        self.setHorizontalHeaderLabels(["Class", "Images", NO_OBJECT])
        self.horizontalHeaderItem(2).setToolTip(TICK_TIP)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        head = self.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.boxes: dict[str, QCheckBox] = {}
        self.answers: dict[str, QComboBox] = {}    # the boxes column (show_box_answers), when shown
        self.object_notes: dict[str, QLabel] = {}  # ... and its words for an object class, shown instead

    def show_classes(self, rows: list[tuple[str, int]], ticked: set[str], tickable: set[str] | None = None) -> None:
        """``rows``: (class name, images); ``ticked``: names shown as showing no object; ``tickable``: names that
        get a box (default all; '(no class)' gets none)."""
        self.setRowCount(len(rows))
        self.boxes = {}
        for r, (name, n) in enumerate(rows):
            self.setItem(r, 0, QTableWidgetItem(name))
            num = QTableWidgetItem(f"{n:,}")
            num.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(r, 1, num)
            if tickable is not None and name not in tickable:
                self.setCellWidget(r, 2, None)
                continue
            box = QCheckBox(objectName=f"no_object_{name}")
            box.setChecked(name in ticked)
            box.setToolTip(TICK_TIP)
            box.toggled.connect(self.changed)
            cell = QWidget()
            lay = QHBoxLayout(cell)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(box, alignment=Qt.AlignmentFlag.AlignCenter)
            self.setCellWidget(r, 2, cell)
            self.boxes[name] = box

    def show_box_answers(self, answers: dict[str, bool]) -> None:
        """A column with the kept answer to "keep boxes of this background class?" per ticked class (the
        background-classes dialog; the wizard's new project has none yet). Call after ``show_classes``."""
        self.setColumnCount(4)
        self.setHorizontalHeaderItem(3, QTableWidgetItem(BOXES))
        self.horizontalHeaderItem(3).setToolTip(BOXES_TIP)
        self.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.answers, self.object_notes = {}, {}
        for r in range(self.rowCount()):
            name = self.item(r, 0).text()
            tick = self.boxes.get(name)
            if tick is None:
                continue
            combo = QComboBox(objectName=f"boxes_{name}")
            for text, value in BOX_CHOICES:
                combo.addItem(text, value)
            combo.setCurrentIndex(max(0, combo.findData(answers.get(name))))
            combo.setToolTip(BOXES_TIP)
            # an object class's boxes are never asked about: it shows that they are kept, not a choice
            note = QLabel(OBJECT_BOXES, objectName=f"boxes_kept_{name}")
            note.setToolTip(OBJECT_BOXES_TIP)
            note.setEnabled(False)              # greyed: a fact, not a setting
            cell = QWidget()
            lay = QHBoxLayout(cell)
            lay.setContentsMargins(4, 0, 4, 0)
            lay.addWidget(combo)
            lay.addWidget(note)
            combo.setVisible(tick.isChecked())
            note.setVisible(not tick.isChecked())
            tick.toggled.connect(combo.setVisible)
            tick.toggled.connect(lambda on, n=note: n.setVisible(not on))
            self.setCellWidget(r, 3, cell)
            self.answers[name] = combo
            self.object_notes[name] = note

    def boxes_cell_text(self, name: str) -> str:
        """What the boxes column shows for class ``name`` (the choice, or the object class's words)."""
        combo = self.answers[name]
        return combo.currentText() if combo.isVisibleTo(self) else self.object_notes[name].text()

    def box_answers(self) -> dict[str, bool | None]:
        """The answer chosen per class in the boxes column (None: ask first); {} without that column."""
        return {name: combo.currentData() for name, combo in self.answers.items()}

    def ticked(self) -> list[str]:
        """The names ticked as showing no object, in table order."""
        return [name for name, box in self.boxes.items() if box.isChecked()]
