"""The evaluation panel's table of images, worst IoU first: cells that sort by number and are coloured by IoU."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem


class FloatItem(QTableWidgetItem):
    """A cell that sorts by number (missing values first: they are the worst)."""

    def __init__(self, value: float | None, text: str):
        super().__init__(text)
        self.value = -1.0 if value is None or not math.isfinite(value) else float(value)
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other) -> bool:
        if isinstance(other, FloatItem):
            return self.value < other.value
        return super().__lt__(other)


def fill_image_table(t: QTableWidget, rows: list[dict]) -> None:
    """One row per image report (``iou``, ``rel_path``, ``image_id``), sorted by IoU ascending; both cells carry
    the image id (UserRole), a missing box shows as 'no box' and sorts first."""
    t.setSortingEnabled(False)
    t.setRowCount(len(rows))
    for i, r in enumerate(rows):
        iou = r.get("iou")
        iou_f = float(iou) if isinstance(iou, (int, float)) and math.isfinite(float(iou)) else None
        iou_item = FloatItem(iou_f, f"{iou_f:.3f}" if iou_f is not None else "no box")
        iou_item.setBackground(iou_colour(iou_f))
        name_item = QTableWidgetItem(str(r.get("rel_path", r.get("image_id", ""))))
        name_item.setToolTip(name_item.text())
        for it in (iou_item, name_item):
            it.setData(Qt.ItemDataRole.UserRole, int(r.get("image_id", -1)))
        t.setItem(i, 0, iou_item)
        t.setItem(i, 1, name_item)
    t.setSortingEnabled(True)
    t.sortItems(0, Qt.SortOrder.AscendingOrder)


def iou_colour(iou: float | None) -> QColor:
    """Translucent red / amber / green by IoU band (readable on light and dark themes)."""
    if iou is None or iou < 0.3:
        c = QColor(217, 83, 79)
    elif iou < 0.5:
        c = QColor(240, 160, 48)
    elif iou < 0.7:
        c = QColor(200, 200, 80)
    else:
        c = QColor(92, 184, 92)
    c.setAlpha(70)
    return c
