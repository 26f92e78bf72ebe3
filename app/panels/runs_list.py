"""The training panel's list of past runs: one row per run, newest first, its figures in one line."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QHeaderView, QStyledItemDelegate, QTreeWidget, QTreeWidgetItem

from app.failure_words import plain_message
from app.panels.run_summary import duration, run_summary, when
from core.data.unreadable import SKIPPED, UNREADABLE_KEY, left_out_list
from core.run_names import training_run_name

COLUMNS = ["Training run", "Status", "Started", "Time", "Result"]   # a row's first cell: "#3"
TIP_FILES = 20     # files named in a run's tooltip; the row unfolds to list every one


class _WrappingDelegate(QStyledItemDelegate):
    """Row heights from the text wrapped at its column's width (QTreeView asks for the unwrapped size)."""

    def sizeHint(self, option, index) -> QSize:
        base = super().sizeHint(option, index)
        width = self.parent().header().sectionSize(index.column()) - 8
        if width <= 0:
            return base
        text = str(index.data() or "")
        used = option.fontMetrics.boundingRect(QRect(0, 0, width, 100_000), Qt.TextFlag.TextWordWrap, text)
        return QSize(base.width(), max(base.height(), used.height() + 4))


class RunsList(QTreeWidget):
    """Rows carry the run id (UserRole of column 0); failed runs show their status in red, the error as tooltip. A
    run that left images out as unreadable says how many on its row and unfolds (its arrow) to one line per file
    with the reason, each carrying the run's id too; the row's tooltip names the first TIP_FILES."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderLabels(COLUMNS)
        self.setRootIsDecorated(True)     # the arrow only shows on a run that has files to unfold
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(False)
        hdr = self.header()
        for i in range(len(COLUMNS) - 1):
            hdr.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setStretchLastSection(True)
        # a run's result line wraps onto more lines instead of being cut with "..." in a narrow dock
        self.setWordWrap(True)
        self.setItemDelegate(_WrappingDelegate(self))
        hdr.sectionResized.connect(lambda *_: self.scheduleDelayedItemsLayout())   # rows re-fit the new width

    def show_runs(self, runs: list, select: int | None = None) -> None:
        """``runs``: the project's training run records, oldest first; ``select``: the id to make current."""
        self.clear()
        for r in reversed(runs):      # newest first
            item = QTreeWidgetItem([f"#{r.id}", r.status, when(r.started_at), duration(r.started_at, r.finished_at),
                                    run_summary(r)])
            item.setData(0, Qt.ItemDataRole.UserRole, r.id)
            item.setTextAlignment(0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            tip = f"{training_run_name(r.id, capital=True)} {r.status}: " + (
                plain_message(r.error) if r.error else run_summary(r).strip()[:2000])
            left_out = (r.metrics or {}).get(UNREADABLE_KEY) or {}
            if left_out:
                tip += (f"\n\nleft out as unreadable ({SKIPPED.removeprefix('skipped, ')}):\n  "
                        + "\n  ".join(left_out_list(left_out, TIP_FILES)) + "\n(unfold the row for the list)")
            for c in range(len(COLUMNS)):
                item.setToolTip(c, tip)
            self._add_left_out(item, r.id, left_out)
            if r.status == "failed":
                item.setForeground(1, pg.mkColor("#d9534f"))
            self.addTopLevelItem(item)
            if select is not None and r.id == select:
                self.setCurrentItem(item)

    def _add_left_out(self, item: QTreeWidgetItem, run_id: int, left_out: dict) -> None:
        """One folded child row per image the run left out as unreadable: 'left out: path: reason'."""
        for line in left_out_list(left_out):
            child = QTreeWidgetItem(["", "", "", "", f"left out: {line}"])
            child.setData(0, Qt.ItemDataRole.UserRole, run_id)   # picking it shows its run, as its row does
            child.setToolTip(len(COLUMNS) - 1, f"left out as unreadable: {line}")
            child.setForeground(len(COLUMNS) - 1, pg.mkColor("#b91c1c"))
            item.addChild(child)

    def left_out_rows(self, run_id: int) -> list[str]:
        """The Result cells of the rows a run unfolds to (the images it left out as unreadable)."""
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == run_id:
                return [item.child(j).text(len(COLUMNS) - 1) for j in range(item.childCount())]
        return []

    def run_ids(self) -> list[int]:
        return [self.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) for i in range(self.topLevelItemCount())]
