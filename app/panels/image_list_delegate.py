"""Draws the image list's rows so that a row's state tag ("[unreadable]", "[missing]") is always whole.

Qt elides a row's line that does not fit the dock, and at the dock's default width a long file name pushed the
tag past the edge, so the one word saying that the image cannot be shown was the part cut off. Here the name
alone is shortened in its middle (its start and its extension stay) to leave room for the tag.
"""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QFontMetrics, QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.models.image_list_model import MISSING_TAG, UNREADABLE_TAG

_TAGS = (UNREADABLE_TAG, MISSING_TAG)
_LINE = "\u2028"


class ImageListDelegate(QStyledItemDelegate):
    def shown_text(self, option: QStyleOptionViewItem, index: QModelIndex) -> str:
        """The row's text as drawn in ``option.rect``: the first line's name shortened (middle) when the line
        does not fit, its tag kept whole; the other lines as the model gives them (Qt elides those)."""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        return self._fitted(opt)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = self._fitted(opt)
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)

    def _fitted(self, opt: QStyleOptionViewItem) -> str:
        # initStyleOption has turned the model's "\n" into Qt's line separator
        first, sep, rest = opt.text.replace("\n", _LINE).partition(_LINE)
        tag = next((t for t in _TAGS if first.endswith(t)), None)
        if tag is None or opt.rect.width() <= 0:
            return opt.text
        width = self._text_width(opt)
        fm = QFontMetrics(opt.font)
        if fm.horizontalAdvance(first) <= width:
            return opt.text
        head = fm.elidedText(first[: -len(tag)], Qt.TextElideMode.ElideMiddle, width - fm.horizontalAdvance(tag))
        return head + tag + sep + rest

    @staticmethod
    def _text_width(opt: QStyleOptionViewItem) -> int:
        """The width Qt's style lays the text out in: the item's text rectangle less its margin on each side."""
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, opt.widget)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, opt.widget) + 1
        return rect.width() - 2 * margin
