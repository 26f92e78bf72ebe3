"""The project's classes: key, colour, name, images and curated boxes of each; background classes marked.

A click on a row does what its number key does (re-class the selected box, or choose the class of
new boxes). It reads the store through the session; it writes nothing itself.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.canvas.items import class_colour

COLUMNS = ("key", "class", "images", "boxes")
BACKGROUND_TIP = ("{name}: a background class. Its images show no object: no proposals are computed for them "
                  "and training learns all their pixels as background.")


def _swatch(colour: QColor) -> QIcon:
    pix = QPixmap(12, 12)
    pix.fill(colour)
    return QIcon(pix)


class LabelListPanel(QWidget):
    class_clicked = Signal(int)    # 1-based list position, as the number keys

    def sizeHint(self) -> QSize:
        return QSize(300, 160)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("label_list")
        self.table = QTableWidget(0, len(COLUMNS), objectName="label_table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # keys stay with the canvas
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.cellClicked.connect(lambda row, _c: self.class_clicked.emit(row + 1))
        self.hint = QLabel(objectName="label_hint")
        self.hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.hint)
        self._active: int | None = None

    def show_classes(self, classes, images: dict, boxes: dict, background: set[int],
                     active_id: int | None = None) -> None:
        """``classes`` in key order; ``images`` / ``boxes``: counts by class id; ``background``: class ids."""
        self.table.setRowCount(len(classes))
        for r, c in enumerate(classes):
            bg = c.id in background
            key = str(r + 1) if r < 9 else ""
            cells = (key, c.name, f"{images.get(c.id, 0):,}", f"{boxes.get(c.id, 0):,}")
            tip = (BACKGROUND_TIP.format(name=c.name) if bg else f"{c.name}: an object class") + \
                (f"\nKey {key}: the selected box gets this class; with none selected, new boxes do." if key else "")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if col != 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col == 1:
                    item.setIcon(_swatch(class_colour(r)))
                if bg:
                    font = QFont(item.font())
                    font.setItalic(True)
                    item.setFont(font)
                    item.setForeground(QColor("#8a8f98"))
                if c.id == active_id:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, col, item)
        self.hint.setText("No project open." if not classes else
                          "Key or click: class of the selected box, else of new boxes (bold). "
                          "Grey italics: a background class (its images show no object; "
                          "File > Background classes... changes which).")

    def row_texts(self) -> list[tuple[str, ...]]:
        return [tuple(self.table.item(r, c).text() for c in range(len(COLUMNS))) for r in range(self.table.rowCount())]
