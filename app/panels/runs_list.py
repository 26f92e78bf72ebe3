"""The training panel's list of past runs: one row per run, newest first, its figures in one line."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QHeaderView, QStyledItemDelegate, QTreeWidget, QTreeWidgetItem

from app.failure_words import plain_message
from app.panels.run_summary import duration, run_summary, when
from core.run_names import training_run_name

COLUMNS = ["Training run", "Status", "Started", "Time", "Result"]   # a row's first cell: "#3"


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
    """Rows carry the run id (UserRole of column 0); failed runs show their status in red, the error as tooltip."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderLabels(COLUMNS)
        self.setRootIsDecorated(False)
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
            for c in range(len(COLUMNS)):
                item.setToolTip(c, tip)
            if r.status == "failed":
                item.setForeground(1, pg.mkColor("#d9534f"))
            self.addTopLevelItem(item)
            if select is not None and r.id == select:
                self.setCurrentItem(item)

    def run_ids(self) -> list[int]:
        return [self.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) for i in range(self.topLevelItemCount())]
