"""The colour scale of the map overlay, drawn over the canvas's bottom-left corner: the colour map from low to
high, the values at its ends and what the map is (e.g. "foreground probability, stretched per image")."""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QWidget

from app.canvas.colormaps import lut

BAR_W, BAR_H, PAD = 200, 10, 7


def _number(v: float) -> str:
    return f"{v:.3g}"   # three significant digits: attention is ~1e-3, probabilities ~0.5


class ColourBar(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("colour_bar")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.cmap, self.low, self.high, self.title = "inferno", 0.0, 1.0, ""
        self._font = QFont()
        self._font.setPointSizeF(8.5)
        self.hide()

    def set_scale(self, cmap: str, low: float, high: float, title: str) -> None:
        """``low`` / ``high``: the map values drawn in the first / last colour (clipped beyond)."""
        self.cmap, self.low, self.high, self.title = cmap, float(low), float(high), title
        self.resize(self.sizeHint())
        self.update()

    def low_text(self) -> str:
        return _number(self.low)

    def high_text(self) -> str:
        return _number(self.high)

    def sizeHint(self) -> QSize:
        fm = QFontMetrics(self._font)
        return QSize(max(BAR_W, fm.horizontalAdvance(self.title)) + 2 * PAD, 2 * fm.height() + BAR_H + 2 * PAD + 4)

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(QColor(20, 20, 20, 200))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawRoundedRect(QRectF(self.rect()), 4, 4)
        p.setFont(self._font)
        fm = QFontMetrics(self._font)
        p.setPen(QColor("#fff"))
        p.drawText(PAD, PAD + fm.ascent(), self.title)
        table = lut(self.cmap)                         # [256, 3]
        strip = QImage(table.tobytes(), 256, 1, 3 * 256, QImage.Format.Format_RGB888).copy()
        top = PAD + fm.height() + 2
        bar = QRectF(PAD, top, self.width() - 2 * PAD, BAR_H)
        p.drawImage(bar, strip)
        p.setPen(QColor("#ddd"))
        y = int(top + BAR_H + 2 + fm.ascent())
        p.drawText(PAD, y, self.low_text())
        hi = self.high_text()
        p.drawText(int(bar.right()) - fm.horizontalAdvance(hi), y, hi)
        p.end()
