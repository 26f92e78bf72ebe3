"""A QGraphicsView that zooms at the cursor and pans with the middle button or Ctrl+drag."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView

MIN_SCALE, MAX_SCALE = 0.01, 64.0
WHEEL_STEP = 1.0015  # zoom factor per wheel delta unit: one notch (120) = x1.2


class ZoomPanView(QGraphicsView):
    zoom_changed = Signal(float)  # screen pixels per image pixel

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        # Full repaints are cheaper than tracking many small box rects on large pixmaps.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setFrameShape(QFrame.Shape.NoFrame)
        # no scroll bars: they would appear and vanish with the zoom and shift the image under the cursor
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        self._fitted = True  # keep fitting on resize until the user zooms

    # -- zoom ------------------------------------------------------------------------
    def scale_factor(self) -> float:
        return self.transform().m11()

    def set_scale_at(self, scale: float, view_pos: QPointF | None = None) -> None:
        """Zoom so that the scene point under ``view_pos`` (default: centre) stays put."""
        scale = max(MIN_SCALE, min(MAX_SCALE, scale))
        if view_pos is None:
            view_pos = QPointF(self.viewport().rect().center())
        anchor = self.mapToScene(view_pos.toPoint())
        self.resetTransform()
        self.scale(scale, scale)
        # bring the anchor back under the cursor with the scroll bars (exact while the image
        # overflows the view; when it does not, Qt centres it anyway)
        d = self.mapFromScene(anchor) - view_pos.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + d.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + d.y())
        self.zoom_changed.emit(scale)

    def zoom_by(self, factor: float, view_pos: QPointF | None = None) -> None:
        self._fitted = False
        self.set_scale_at(self.scale_factor() * factor, view_pos)

    def fit_rect(self) -> QRectF:
        """What "fit" shows; the canvas narrows it to the image (the scene has a margin for panning)."""
        return self.sceneRect()

    def fit(self) -> None:
        rect: QRectF = self.fit_rect()
        if rect.isEmpty():
            return
        vp = self.viewport().rect()
        s = min((vp.width() - 8) / rect.width(), (vp.height() - 8) / rect.height())
        self.resetTransform()
        self.scale(max(MIN_SCALE, s), max(MIN_SCALE, s))
        self.centerOn(rect.center())
        self._fitted = True
        self.zoom_changed.emit(self.scale_factor())

    def actual_size(self) -> None:
        self._fitted = False
        self.set_scale_at(1.0)

    def wheelEvent(self, ev: QWheelEvent) -> None:
        delta = ev.angleDelta().y() or ev.pixelDelta().y()
        if delta:
            self.zoom_by(WHEEL_STEP ** delta, ev.position())
        ev.accept()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if self._fitted:
            self.fit()

    # -- pan ---------------------------------------------------------------------------------
    def is_pan_press(self, ev: QMouseEvent) -> bool:
        return (ev.button() == Qt.MouseButton.MiddleButton or
                (ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & Qt.KeyboardModifier.ControlModifier))

    def start_pan(self, ev: QMouseEvent) -> None:
        self._pan_from = ev.position().toPoint()
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def pan_move(self, ev: QMouseEvent) -> bool:
        if self._pan_from is None:
            return False
        d = ev.position().toPoint() - self._pan_from
        self._pan_from = ev.position().toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - d.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() - d.y())
        self._fitted = False
        return True

    def end_pan(self) -> bool:
        if self._pan_from is None:
            return False
        self._pan_from = None
        self.viewport().unsetCursor()
        return True
