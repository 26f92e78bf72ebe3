"""The training panel's list of past runs: one row per run, newest first, its figures in one line."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem

from app.failure_words import plain_message
from app.panels.run_summary import duration, run_summary, when

COLUMNS = ["#", "Status", "Started", "Time", "Result"]


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

    def show_runs(self, runs: list, select: int | None = None) -> None:
        """``runs``: the project's training run records, oldest first; ``select``: the id to make current."""
        self.clear()
        for r in reversed(runs):      # newest first
            item = QTreeWidgetItem([str(r.id), r.status, when(r.started_at), duration(r.started_at, r.finished_at),
                                    run_summary(r)])
            item.setData(0, Qt.ItemDataRole.UserRole, r.id)
            item.setTextAlignment(0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            tip = plain_message(r.error) if r.error else run_summary(r).strip()[:2000]
            for c in range(len(COLUMNS)):
                item.setToolTip(c, tip)
            if r.status == "failed":
                item.setForeground(1, pg.mkColor("#d9534f"))
            self.addTopLevelItem(item)
            if select is not None and r.id == select:
                self.setCurrentItem(item)

    def run_ids(self) -> list[int]:
        return [self.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) for i in range(self.topLevelItemCount())]
