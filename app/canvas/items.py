"""Graphics items of the canvas: boxes of the four layers, their labels and resize handles.

Scene coordinates are original image pixels (after EXIF orientation), the same as the store's
boxes. Pens are cosmetic and labels / handles ignore the view transform, so they keep their
screen size at any zoom.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

# Qualitative class colours (no pure green: that is ground truth; no orange: proposals).
CLASS_COLOURS = ("#3b82f6", "#e11d48", "#a855f7", "#06b6d4", "#eab308", "#ec4899", "#14b8a6", "#8b5cf6",
                 "#f43f5e", "#0ea5e9")
PROPOSAL_COLOUR = "#ff8c1a"
PREDICTION_COLOUR = "#f0f"
GT_COLOUR = "#22c55e"
HIGHLIGHT_COLOUR = "#fff200"
HANDLE_PX = 8  # handle side on screen
# tabs sit above every box outline (one drawn through a tag makes it unreadable where boxes crowd); the selected box
# rises above the tabs, so that its resize handles are never under another box's tab
LABEL_Z, SELECTED_RAISE = 250.0, 300.0
WHOLE_IMAGE_INSET_PX = 6   # a box around the whole image gets a second outline this far inside (screen px)


def class_colour(index: int) -> QColor:
    return QColor(CLASS_COLOURS[index % len(CLASS_COLOURS)]) if index >= 0 else QColor("#9ca3af")


@dataclass(frozen=True)
class BoxStyle:
    colour: QColor
    width: float
    line: Qt.PenStyle
    z: float


def style_for(kind: str, class_index: int = -1) -> BoxStyle:
    if kind == "curated":
        return BoxStyle(class_colour(class_index), 2.0, Qt.PenStyle.SolidLine, 40)
    if kind == "proposal":
        return BoxStyle(QColor(PROPOSAL_COLOUR), 2.0, Qt.PenStyle.DashLine, 30)
    if kind == "prediction":
        return BoxStyle(QColor(PREDICTION_COLOUR), 2.0, Qt.PenStyle.DotLine, 20)
    return BoxStyle(QColor(GT_COLOUR), 1.0, Qt.PenStyle.SolidLine, 10)


class LabelItem(QGraphicsItem):
    """Text on a filled tab, fixed size on screen, anchored at its box's top-left: above the box's top edge,
    or just below it (inside the box) where the view has no room above or another tab is there (``set_inside``).
    A scene item of its own (its box adds, removes and hides it), so that no box outline is drawn across it."""

    def __init__(self, text: str, colour: QColor):
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(LABEL_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._text, self._colour = text, colour
        self._font = QFont()
        self._font.setPointSizeF(8.5)
        fm = QFontMetricsF(self._font)
        self._rect = QRectF(0, -fm.height() - 2, fm.horizontalAdvance(text) + 8, fm.height() + 2)

    @property
    def text(self) -> str:
        return self._text

    @property
    def inside(self) -> bool:
        """Whether the tab hangs below the box's top edge instead of sitting above it."""
        return self._rect.top() >= 0

    def set_inside(self, on: bool) -> None:
        if on != self.inside:
            self.prepareGeometryChange()
            self._rect.moveTop(0.0 if on else -self._rect.height())

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, p: QPainter, *_):
        p.fillRect(self._rect, self._colour)
        # dark text on light tabs, light text on dark ones: readable on every class colour
        light = self._colour.lightnessF() > 0.55
        p.setPen(QColor("#111") if light else QColor("#fff"))
        p.setFont(self._font)
        p.drawText(self._rect.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, self._text)


class HandleItem(QGraphicsRectItem):
    def __init__(self, parent: QGraphicsItem, colour: QColor):
        s = HANDLE_PX
        super().__init__(-s / 2, -s / 2, s, s, parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setBrush(QBrush(QColor("#fff")))
        pen = QPen(colour, 1.5)
        pen.setCosmetic(True)
        self.setPen(pen)


# handle name -> (fx, fy): which fraction of the box each sits at; also what it moves
HANDLES = {"tl": (0, 0), "t": (0.5, 0), "tr": (1, 0), "r": (1, 0.5),
           "br": (1, 1), "b": (0.5, 1), "bl": (0, 1), "l": (0, 0.5)}


class BoxItem(QGraphicsRectItem):
    """One box of a layer. ``kind``: curated | proposal | prediction | gt; ``key``: its id in the store
    (proposal id, box id, or the index of a predicted / gt box)."""

    def __init__(self, kind: str, key: int, xyxy, label: str = "", class_index: int = -1,
                 whole_image: bool = False):
        x0, y0, x1, y1 = xyxy
        super().__init__(QRectF(QPointF(x0, y0), QPointF(x1, y1)))
        self.kind, self.key = kind, key
        # a box around (nearly) the whole image is otherwise only a line on the image's border: it is said on its
        # tab and drawn a second time inside the image
        self.whole_image = whole_image
        if whole_image and label:
            label = f"{label} \u00b7 whole image"
        self.style = style_for(kind, class_index)
        self.setZValue(self.style.z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # the canvas does hit testing itself
        self._selected = self._highlighted = False
        self._handles: dict[str, HandleItem] = {}
        self.label = LabelItem(label, self.style.colour) if label else None
        self._apply_pen()
        self._place_children()

    # -- geometry --------------------------------------------------------------
    def xyxy(self) -> tuple[float, float, float, float]:
        r = self.rect().normalized()
        return (r.left(), r.top(), r.right(), r.bottom())

    def set_xyxy(self, xyxy) -> None:
        x0, y0, x1, y1 = xyxy
        self.setRect(QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized())
        self._place_children()

    def handle_points(self) -> dict[str, QPointF]:
        r = self.rect().normalized()
        return {k: QPointF(r.left() + fx * r.width(), r.top() + fy * r.height()) for k, (fx, fy) in HANDLES.items()}

    def _place_children(self) -> None:
        r = self.rect().normalized()
        if self.label is not None:
            self.label.setPos(self.mapToScene(r.topLeft()))
        for name, pt in self.handle_points().items():
            if name in self._handles:
                self._handles[name].setPos(pt)

    def itemChange(self, change, value):
        """The tab goes into and out of the scene with its box, and hides with it (the canvas shows it again)."""
        label = getattr(self, "label", None)     # None while __init__ sets the box up
        if label is not None:
            if change == QGraphicsItem.GraphicsItemChange.ItemSceneChange and label.scene() is not None:
                label.scene().removeItem(label)
            elif change == QGraphicsItem.GraphicsItemChange.ItemSceneHasChanged and value is not None:
                value.addItem(label)
            elif change == QGraphicsItem.GraphicsItemChange.ItemVisibleHasChanged and not value:
                label.setVisible(False)
        return super().itemChange(change, value)

    # -- look ------------------------------------------------------------------------
    def paint(self, p: QPainter, option, widget=None) -> None:
        super().paint(p, option, widget)
        if self.whole_image:
            d = WHOLE_IMAGE_INSET_PX / max(1e-6, p.worldTransform().m11())   # screen px -> image px
            inner = self.rect().normalized().adjusted(d, d, -d, -d)
            if inner.width() > 0 and inner.height() > 0:
                p.setPen(self.pen())
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(inner)

    @property
    def selected(self) -> bool:
        return self._selected

    def set_selected(self, on: bool) -> None:
        self._selected = on
        self._apply_z()
        if on and self.kind == "curated" and not self._handles:
            self._handles = {k: HandleItem(self, self.style.colour) for k in HANDLES}
            self._place_children()
        elif not on and self._handles:
            for h in self._handles.values():
                h.setParentItem(None)
                if h.scene() is not None:
                    h.scene().removeItem(h)
            self._handles = {}
        self._apply_pen()

    @property
    def highlighted(self) -> bool:
        return self._highlighted

    def set_highlighted(self, on: bool) -> None:
        self._highlighted = on
        self._apply_z()
        self._apply_pen()

    def _apply_z(self) -> None:
        self.setZValue(self.style.z + (SELECTED_RAISE if self._selected else 100 if self._highlighted else 0))

    def _apply_pen(self) -> None:
        colour = QColor(HIGHLIGHT_COLOUR) if self._highlighted else self.style.colour
        width = self.style.width + (1.5 if (self._selected or self._highlighted) else 0.0)
        pen = QPen(colour, width, self.style.line)
        pen.setCosmetic(True)
        self.setPen(pen)
        fill = QColor(colour)
        fill.setAlpha(40 if (self._selected or self._highlighted) else 0)
        self.setBrush(QBrush(fill) if fill.alpha() else Qt.BrushStyle.NoBrush)
