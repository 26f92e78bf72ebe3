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
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

NO_OBJECT = "Shows no object"
TICK_TIP = ("Tick a class whose images show no object (e.g. 'field', 'no_site'): no proposals are computed for "
            "its images and training learns all their pixels as background. Pre-filled from the names (no_*, "
            "background, empty, ...).")


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

    def ticked(self) -> list[str]:
        """The names ticked as showing no object, in table order."""
        return [name for name, box in self.boxes.items() if box.isChecked()]
