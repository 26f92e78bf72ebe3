"""The image canvas: pixels, one map overlay and four box layers, with box drawing and editing.

The canvas only shows and reports gestures: ``box_drawn``, ``box_edited``, ``accept_requested``.
The main window turns them into undoable store commands and pushes the stored result back
with ``set_boxes`` - an edit looks done only once the database has it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QMouseEvent, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsRectItem, QLabel

from app.canvas.colour_bar import ColourBar
from app.canvas.image_loader import ImageLoader
from app.canvas.items import GT_COLOUR, BoxItem
from app.canvas.labels import place_labels
from app.canvas.view import ZoomPanView
from core.result_checks import FULL_FRAME

BOX_KINDS = ("curated", "proposal", "prediction", "gt")
LAYERS = ("overlay",) + BOX_KINDS
HANDLE_HIT_PX = 7      # how near (screen px) a press must be to grab a handle
EDGE_HIT_PX = 5        # how near (screen px) a press must be to a box's outline to pick that box
DIMMED_OPACITY = 0.22  # proposals and predictions other than the one under review, in focus mode
MIN_DRAW_PX = 3        # a drag shorter than this on screen is a click, not a box
BAR_GAP = 4            # px above and below the colour bar in its band under the image
_CURSORS = {"tl": Qt.CursorShape.SizeFDiagCursor, "br": Qt.CursorShape.SizeFDiagCursor,
            "tr": Qt.CursorShape.SizeBDiagCursor, "bl": Qt.CursorShape.SizeBDiagCursor,
            "t": Qt.CursorShape.SizeVerCursor, "b": Qt.CursorShape.SizeVerCursor,
            "l": Qt.CursorShape.SizeHorCursor, "r": Qt.CursorShape.SizeHorCursor}


@dataclass
class _Drag:
    what: str                      # draw | move | resize
    start: QPointF                 # scene point of the press
    start_view: QPointF            # view point of the press
    item: BoxItem | None = None
    original: tuple | None = None  # the box before the drag
    handle: str = ""


class ImageCanvas(ZoomPanView):
    box_drawn = Signal(tuple)             # (x0, y0, x1, y1) image pixels
    box_edited = Signal(int, tuple)       # curated box id, new xyxy
    selection_changed = Signal(str, int)  # kind ("" = nothing), key
    accept_requested = Signal(str, int)   # double-click on a proposal / prediction
    image_ready = Signal(int, str)        # image id, "preview" | "full": pixels on screen
    image_failed = Signal(int, str)
    image_undecodable = Signal(int, str)  # image id, reason: the file is not a usable image (sent before image_failed)
    mode_changed = Signal(str)            # select | draw | click
    point_clicked = Signal(float, float)  # click-box mode: a click at (x, y) image pixels

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("canvas")
        self.loader = ImageLoader(self)
        self.loader.loaded.connect(self._on_pixels)
        self.loader.failed.connect(self._on_failed)
        self.loader.undecodable.connect(self._on_undecodable)
        sc = self.scene()
        self._preview = QGraphicsPixmapItem()
        self._full = QGraphicsPixmapItem()
        self._overlay = QGraphicsPixmapItem()
        for z, it in ((0, self._preview), (1, self._full), (5, self._overlay)):
            it.setZValue(z)
            it.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
            sc.addItem(it)
        self._frame = QGraphicsRectItem()  # the image outline while pixels are on their way
        self._frame.setPen(QPen(QColor("#777"), 0, Qt.PenStyle.DashLine))
        self._frame.setZValue(-1)
        sc.addItem(self._frame)
        self._items: dict[str, dict[int, BoxItem]] = {k: {} for k in BOX_KINDS}
        self._visible = {k: True for k in LAYERS}
        self._selected: tuple[str, int] | None = None
        self._highlight: tuple[str, int] | None = None
        self._drag: _Drag | None = None
        self._rubber: QGraphicsRectItem | None = None
        self._mode = "select"
        self._focus_mode = False   # review one proposal at a time: the others are dimmed
        self.image_id: int | None = None
        self.image_size = (0, 0)
        self.levels_shown: set[str] = set()
        self.zoom_changed.connect(self._update_level)
        self.zoom_changed.connect(self._declutter_labels)
        self.verticalScrollBar().valueChanged.connect(self._declutter_labels)   # panning moves the room above a box
        # children of the view, not of its viewport: the viewport's children would scroll with the image
        self.banner = QLabel(self, objectName="canvas_banner")  # focus mode: what is under review
        self.banner.setStyleSheet("QLabel { background: rgba(20, 20, 20, 200); color: #fff; padding: 5px 9px;"
                                  " border-radius: 4px; }")
        self.banner.move(10, 10)
        self.banner.hide()
        # what the thin green boxes are: said on the canvas while they are shown, not only in the Layers tab
        self.legend = QLabel(self, objectName="canvas_legend")
        self.legend.setStyleSheet("QLabel { background: rgba(20, 20, 20, 200); color: #fff; padding: 4px 8px;"
                                  " border-radius: 4px; }")
        self.legend.setText(f"<span style='color:{GT_COLOUR}'>\u25ad green</span>: ground truth")
        self.legend.setToolTip("Thin green boxes: the ground truth imported with the images (used by Evaluation; "
                               "never edited). View \u25b8 Show ground truth (Ctrl+5) hides them.")
        self.legend.hide()
        self.colour_bar = ColourBar(self)   # the overlay's colour scale, in a band below the image (never over it)
        self._reserve_bar_band()
        self.placeholder = QLabel(self, objectName="canvas_placeholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("QLabel { color: #9ca3af; font-size: 20pt; background: transparent; }")
        self.placeholder.hide()
        # why the image cannot be shown (it failed to decode): an opaque card in the middle of the canvas; while it is
        # shown no box of any layer is drawn (ground truth included): there is no picture for them to stand on
        self.failure = QLabel(self, objectName="canvas_failure")
        self.failure.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.failure.setWordWrap(True)
        self.failure.setStyleSheet("QLabel { color: #b91c1c; font-size: 12pt; background: #fff7f7; "
                                   "border: 2px solid #dc2626; border-radius: 6px; padding: 16px; }")
        self.failure.hide()

    def set_failure(self, text: str | None) -> None:
        """Say on the empty canvas why this image is not shown (None removes it; a new image removes it too). While
        it is shown every box layer is hidden, ground truth and its legend included, and nothing stays selected; the
        layers' own on/off choices are kept for the next image."""
        if text is None:
            self.failure.hide()
            self._show_layers()
            return
        self.failure.setText(text)
        self.failure.show()
        self._place_failure()
        self.failure.raise_()
        self.select(None)
        self._show_layers()

    def _drawn(self, kind: str) -> bool:
        """Whether the boxes of layer ``kind`` are drawn: the layer is on and no failure card stands for the image."""
        return self._visible[kind] and self.failure.isHidden()

    def _show_layers(self) -> None:
        for kind in BOX_KINDS:
            for item in self._items[kind].values():
                item.setVisible(self._drawn(kind))
        self._show_legend()
        self._declutter_labels()

    def _place_failure(self) -> None:
        """The failure card at its text's size (wrapped to the image area, less a margin), centred on the area."""
        vp = self.viewport().geometry()
        width = max(1, min(vp.width() - 40, 640))
        self.failure.setFixedWidth(width)
        self.failure.setFixedHeight(min(self.failure.heightForWidth(width), max(1, vp.height() - 20)))
        self.failure.move(vp.center().x() - width // 2, vp.center().y() - self.failure.height() // 2)

    def set_placeholder(self, text: str | None) -> None:
        """Large text in the middle of the empty canvas (e.g. while the models load); None removes it."""
        if text is None:
            self.placeholder.hide()
            return
        self.placeholder.setText(text)
        self.placeholder.resize(self.size())
        self.placeholder.show()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self.placeholder.resize(self.size())
        if not self.failure.isHidden():
            self._place_failure()
        self._place_colour_bar()
        if not self.banner.isHidden():
            self._fit_banner()
        self._place_legend()

    def _place_legend(self) -> None:
        """Top right of the image area; below the focus banner where that reaches it."""
        self.legend.adjustSize()
        vp = self.viewport().geometry()
        x, y = vp.right() - self.legend.width() - 10, vp.top() + 10
        if not self.banner.isHidden() and self.banner.geometry().right() + 6 > x:
            y = self.banner.geometry().bottom() + 6
        self.legend.move(x, y)

    def _show_legend(self) -> None:
        self.legend.setVisible(self._drawn("gt") and bool(self._items["gt"]))
        if self.legend.isVisible():
            self._place_legend()
            self.legend.raise_()

    def _place_colour_bar(self) -> None:
        """In the band below the viewport (see _reserve_bar_band), at its left."""
        vp = self.viewport().geometry()
        self.colour_bar.move(vp.left() + 10, vp.bottom() + 1 + BAR_GAP)

    def _reserve_bar_band(self) -> None:
        """While the colour bar is shown, the viewport stops above a band that holds it, so the bar never hides
        image pixels at any zoom (over the image it hid its bottom-left corner); without a map there is no band."""
        band = self.colour_bar.sizeHint().height() + 2 * BAR_GAP if not self.colour_bar.isHidden() else 0
        if self.viewportMargins().bottom() != band:
            self.setViewportMargins(0, 0, 0, band)
            if self._fitted:
                self.fit()
        self._place_colour_bar()

    def set_banner(self, text: str | None) -> None:
        """A line over the top-left corner of the image (None hides it); wrapped when wider than the image area."""
        if text:
            self.banner.setText(text)
            self._fit_banner()
            self.banner.show()
            self.banner.raise_()
        else:
            self.banner.hide()
        self._place_legend()

    def _fit_banner(self) -> None:
        """One line when it fits the image area, else wrapped to its width (cut at the canvas's edge before)."""
        self.banner.setWordWrap(False)
        self.banner.adjustSize()
        avail = self.viewport().width() - 20
        if self.banner.width() > avail > 0:
            self.banner.setWordWrap(True)
            self.banner.resize(avail, self.banner.heightForWidth(avail))

    # -- image -------------------------------------------------------------------------
    def set_image(self, image_id: int | None, path: Path | None = None, size: tuple[int, int] = (0, 0)) -> None:
        self._abandon_drag()
        if self._mode != "click" or image_id is None:
            # click-box mode stays on from image to image (the inspector boxes object after object, folder-long)
            self.cancel_mode()
        for kind in BOX_KINDS:
            self._clear(kind)
        self._show_legend()
        self._selected = self._highlight = None
        self.failure.hide()
        self._preview.setPixmap(QPixmap())
        self._full.setPixmap(QPixmap())
        self._overlay.setPixmap(QPixmap())
        self.levels_shown = set()
        self.image_id, self.image_size = image_id, tuple(size)
        if image_id is None:
            self.loader.cancel()
            self._frame.setRect(QRectF())
            return
        w, h = size
        self._frame.setRect(QRectF(0, 0, w, h))
        margin = 0.05 * max(w, h)
        self.setSceneRect(QRectF(-margin, -margin, w + 2 * margin, h + 2 * margin))
        self.fit()
        self.loader.request(image_id, path, (w, h))

    def fit_rect(self) -> QRectF:
        w, h = self.image_size
        return QRectF(0, 0, w, h) if w and h else self.sceneRect()

    def _on_pixels(self, image_id: int, level: str, img: QImage) -> None:
        if image_id != self.image_id:
            return
        item = self._full if level == "full" else self._preview
        item.setPixmap(QPixmap.fromImage(img))
        w, h = self.image_size
        item.setScale(w / max(1, img.width()))  # pixmap pixels -> image pixels (non-square never happens)
        self.levels_shown.add(level)
        self._update_level()
        self.image_ready.emit(image_id, level)

    def _on_undecodable(self, image_id: int, reason: str) -> None:
        if image_id == self.image_id:
            self.image_undecodable.emit(image_id, reason)

    def _on_failed(self, image_id: int, reason: str) -> None:
        if image_id == self.image_id:
            self.image_failed.emit(image_id, reason)

    def _update_level(self, *_):
        """Draw the downscaled preview while it is sharp enough on screen; the full image only when
        zoomed in past it (drawing an 8K pixmap scaled down at every repaint is what stutters)."""
        has_full = not self._full.pixmap().isNull()
        need_full = has_full and (self._preview.pixmap().isNull() or self.scale_factor() * self._preview.scale() > 1.0)
        self._full.setVisible(need_full)
        self._preview.setVisible(not need_full)

    # -- overlay -------------------------------------------------------------------------
    def set_overlay(self, img: QImage | None, scale: tuple[str, float, float, str] | None = None) -> None:
        """A colourised map at grid resolution, stretched over the whole image. ``scale``: (colour map, value
        at the first colour, value at the last, what the map is) for the colour bar."""
        if img is None or img.isNull() or self.image_id is None:
            self._overlay.setPixmap(QPixmap())
            self.colour_bar.hide()
            self._reserve_bar_band()
            return
        if scale is not None:
            self.colour_bar.set_scale(*scale)
            self._place_colour_bar()
        self.colour_bar.setVisible(scale is not None and self._visible["overlay"])
        self.colour_bar.raise_()
        self._reserve_bar_band()
        w, h = self.image_size
        self._overlay.setPixmap(QPixmap.fromImage(img))
        self._overlay.setTransform(self._overlay.transform().fromScale(w / img.width(), h / img.height()))
        self._overlay.setVisible(self._visible["overlay"])

    def set_overlay_opacity(self, opacity: float) -> None:
        self._overlay.setOpacity(max(0.0, min(1.0, opacity)))

    def overlay_shown(self) -> bool:
        return self._overlay.isVisible() and not self._overlay.pixmap().isNull()

    # -- box layers ---------------------------------------------------------------------
    def set_boxes(self, kind: str, boxes: list[tuple[int, tuple, str, int]]) -> None:
        """Replace a layer: (key, xyxy, label, class index) per box. Keeps selection and highlight."""
        if self._drag is not None and self._drag.item is not None and self._drag.item.kind == kind:
            self._drag = None
        self._clear(kind)
        layer = self._items[kind]
        w, h = self.image_size
        for key, xyxy, label, class_index in boxes:
            whole = kind in ("proposal", "prediction") and w * h > 0 and \
                (xyxy[2] - xyxy[0]) * (xyxy[3] - xyxy[1]) >= FULL_FRAME * w * h
            item = BoxItem(kind, key, xyxy, label, class_index, whole_image=whole)
            item.setVisible(self._drawn(kind))
            self.scene().addItem(item)
            layer[key] = item
        if self._selected and self._selected[0] == kind:
            if self._selected[1] in layer:
                layer[self._selected[1]].set_selected(True)
            else:
                self.select(None)
        if self._highlight and self._highlight[0] == kind and self._highlight[1] in layer:
            layer[self._highlight[1]].set_highlighted(True)
        self._apply_focus()
        self._declutter_labels()
        if kind == "gt":
            self._show_legend()

    # -- focus mode ------------------------------------------------------------------------
    def set_focus_mode(self, on: bool) -> None:
        """Review suggestions one at a time: every proposal and prediction but the selected one is dimmed and
        unlabelled."""
        self._focus_mode = on
        self._apply_focus()
        self._declutter_labels()

    @property
    def focus_mode(self) -> bool:
        return self._focus_mode

    def dimmed(self, kind: str, key: int) -> bool:
        item = self._items[kind].get(key)
        return item is not None and item.opacity() < 1.0

    def _apply_focus(self) -> None:
        focused = self._selected if self._selected and self._selected[0] in ("proposal", "prediction") else None
        for kind in ("proposal", "prediction"):
            for key, item in self._items[kind].items():
                item.setOpacity(DIMMED_OPACITY if self._focus_mode and (kind, key) != focused else 1.0)

    def _declutter_labels(self, *_) -> None:
        """Place each tab and hide those that would cover a more important one: curated boxes first, then proposals
        in rank order, predictions, ground truth. A tab sits above its box, or hangs inside it where the view has no
        room above (a box at the image's top edge on a short canvas) or a more important tab is there already
        (crowded boxes); with neither place free it is hidden. The selected or highlighted box always shows its
        label. Tabs are drawn above every outline, so a shown tab is never crossed by another box's line."""
        every = [it for kind in ("curated", "proposal", "prediction", "gt") for it in self._items[kind].values()
                 if it.label is not None]
        items = [it for it in every if it.isVisible() and it.opacity() >= 1.0]
        for it in every:        # hidden layer, or dimmed in focus mode: no label at all
            if it.opacity() < 1.0 or not it.isVisible():
                it.label.setVisible(False)
        places = []
        for it in items:
            corner = self.mapFromScene(it.label.pos())
            h = it.label.boundingRect().height()
            above = QRectF(corner.x(), corner.y() - h, it.label.boundingRect().width(), h)
            inside = above.translated(0, h)
            places.append([inside] if above.top() < 0 else [above, inside])
        chosen = place_labels(places, [it.selected or it.highlighted for it in items])
        for it, where, options in zip(items, chosen, places, strict=True):
            if where is not None:
                it.label.set_inside(len(options) == 1 or where == 1)
            it.label.setVisible(where is not None)

    def label_shown(self, kind: str, key: int) -> bool:
        item = self._items[kind].get(key)
        return item is not None and item.label is not None and item.label.isVisible()

    def _clear(self, kind: str) -> None:
        for item in self._items[kind].values():
            self.scene().removeItem(item)
        self._items[kind] = {}

    def items_of(self, kind: str) -> dict[int, BoxItem]:
        return dict(self._items[kind])

    def set_layer_visible(self, layer: str, on: bool) -> None:
        self._visible[layer] = on
        if layer == "overlay":
            self._overlay.setVisible(on)
            self.colour_bar.setVisible(on and not self._overlay.pixmap().isNull())
            self._reserve_bar_band()
            return
        for item in self._items[layer].values():
            item.setVisible(self._drawn(layer))
        if layer == "gt":
            self._show_legend()
        if not on and self._selected and self._selected[0] == layer:
            self.select(None)
        self._declutter_labels()

    def layer_visible(self, layer: str) -> bool:
        return self._visible[layer]

    def highlight(self, kind: str | None, key: int | None = None) -> None:
        if self._highlight:
            old = self._items[self._highlight[0]].get(self._highlight[1])
            if old is not None:
                old.set_highlighted(False)
        self._highlight = (kind, key) if kind else None
        if kind and key in self._items[kind]:
            self._items[kind][key].set_highlighted(True)
        self._declutter_labels()

    # -- selection ------------------------------------------------------------------------
    def selected(self) -> tuple[str, int] | None:
        return self._selected

    def select(self, kind: str | None, key: int | None = None, emit: bool = True) -> bool:
        """Select a box of a shown layer (a hidden one is never a target); False if there is no such box."""
        new = (kind, key) if kind and self._visible.get(kind) and key in self._items[kind] else None
        ok = new is not None or kind is None
        if new == self._selected:
            return ok
        if self._selected:
            old = self._items[self._selected[0]].get(self._selected[1])
            if old is not None:
                old.set_selected(False)
        self._selected = new
        if new:
            self._items[kind][key].set_selected(True)
            self._bring_into_view(self._items[kind][key])
        self._apply_focus()
        self._declutter_labels()
        if emit:
            self.selection_changed.emit(new[0] if new else "", new[1] if new else -1)
        return ok

    def _bring_into_view(self, item: BoxItem) -> None:
        """A selected box wholly off screen (zoomed in) is centred: a target must be one the user sees."""
        shown = self.mapToScene(self.viewport().rect()).boundingRect()
        if not shown.intersects(item.rect().normalized()):
            self.centerOn(item.rect().center())

    def box_at(self, view_pos: QPointF) -> BoxItem | None:
        """The box a click at ``view_pos`` (viewport pixels) picks, among shown layers.

        Boxes whose outline (within EDGE_HIT_PX on screen) or label tab is under the cursor come first,
        smallest first; only when there is none, the smallest box containing the point. So a click on a
        big box's edge or tag picks it even when smaller boxes nest inside it, and nested boxes stay
        reachable by clicking inside them.
        """
        p = self.mapToScene(view_pos.toPoint())
        shown = [it for kind in ("curated", "proposal", "prediction") if self._visible[kind]
                 for it in self._items[kind].values() if it.isVisible()]

        def area(it: BoxItem) -> float:
            return it.rect().width() * it.rect().height()

        on_edge = [it for it in shown if self._on_outline(it, view_pos) or self._on_label(it, view_pos)]
        if on_edge:
            return min(on_edge, key=area)
        inside = [it for it in shown if it.rect().normalized().contains(p)]
        return min(inside, key=area) if inside else None

    def _on_outline(self, item: BoxItem, view_pos: QPointF) -> bool:
        r = self.mapFromScene(item.rect().normalized()).boundingRect()
        x, y, e = view_pos.x(), view_pos.y(), EDGE_HIT_PX
        if not (r.left() - e <= x <= r.right() + e and r.top() - e <= y <= r.bottom() + e):
            return False
        return min(abs(x - r.left()), abs(x - r.right()), abs(y - r.top()), abs(y - r.bottom())) <= e

    def _on_label(self, item: BoxItem, view_pos: QPointF) -> bool:
        if item.label is None or not item.label.isVisible():
            return False
        corner = self.mapFromScene(item.label.pos())
        return item.label.boundingRect().translated(corner.x(), corner.y()).contains(view_pos)

    def _hit_handle(self, view_pos: QPointF) -> str:
        if not self._selected or self._selected[0] != "curated":
            return ""
        item = self._items["curated"].get(self._selected[1])
        if item is None or not item.isVisible():
            return ""
        for name, pt in item.handle_points().items():
            d = self.mapFromScene(pt) - view_pos.toPoint()
            if abs(d.x()) <= HANDLE_HIT_PX and abs(d.y()) <= HANDLE_HIT_PX:
                return name
        return ""

    # -- modes ----------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    def start_draw(self) -> None:
        self._mode = "draw"
        self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        self.mode_changed.emit("draw")

    def start_click(self) -> None:
        """Click-box mode: each left click reports its image point (``point_clicked``) until Esc or another tool,
        on this image and the next ones; a press on a handle of the selected curated box still resizes it (the click
        box just made is selected: adjusting it needs no change of mode)."""
        self._mode = "click"
        self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        self.mode_changed.emit("click")

    def cancel_mode(self) -> None:
        """Esc: abandon a drag in progress (the box goes back), leave draw or click-box mode."""
        self._abandon_drag()
        if self._mode != "select":
            self._mode = "select"
            self.viewport().unsetCursor()
            self.mode_changed.emit("select")

    def _abandon_drag(self) -> None:
        if self._drag is not None and self._drag.item is not None and self._drag.original is not None:
            self._drag.item.set_xyxy(self._drag.original)
        self._drag = None
        self._remove_rubber()

    def _remove_rubber(self) -> None:
        if self._rubber is not None:
            self.scene().removeItem(self._rubber)
            self._rubber = None

    # -- mouse ---------------------------------------------------------------------------------
    def _clamp(self, p: QPointF) -> QPointF:
        w, h = self.image_size
        return QPointF(min(max(p.x(), 0.0), float(w)), min(max(p.y(), 0.0), float(h)))

    def mousePressEvent(self, ev: QMouseEvent) -> None:
        if self.is_pan_press(ev):
            self.start_pan(ev)
            return
        if ev.button() != Qt.MouseButton.LeftButton or self.image_id is None:
            return
        p = self.mapToScene(ev.position().toPoint())
        if self._mode == "click" and not self._hit_handle(ev.position()):
            w, h = self.image_size
            if 0.0 <= p.x() <= w and 0.0 <= p.y() <= h:
                self.point_clicked.emit(p.x(), p.y())
            return
        if self._mode == "draw":
            start = self._clamp(p)
            self._drag = _Drag("draw", start, ev.position())
            self._rubber = QGraphicsRectItem(QRectF(start, start))
            pen = QPen(QColor("#fff200"), 1.5, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._rubber.setPen(pen)
            self._rubber.setBrush(QBrush(QColor(255, 242, 0, 40)))
            self._rubber.setZValue(200)
            self.scene().addItem(self._rubber)
            return
        handle = self._hit_handle(ev.position())
        if handle:
            item = self._items["curated"][self._selected[1]]
            self._drag = _Drag("resize", p, ev.position(), item, item.xyxy(), handle)
            return
        item = self.box_at(ev.position())
        self.select(item.kind if item else None, item.key if item else None)
        if item is not None and item.kind == "curated":
            self._drag = _Drag("move", p, ev.position(), item, item.xyxy())

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:
        if self.pan_move(ev):
            return
        p = self.mapToScene(ev.position().toPoint())
        d = self._drag
        if d is None:
            if self._mode in ("select", "click"):
                self._hover_cursor(ev.position())
            return
        if d.what == "draw":
            self._rubber.setRect(QRectF(d.start, self._clamp(p)).normalized())
        elif d.what == "move":
            x0, y0, x1, y1 = d.original
            w, h = self.image_size
            dx = min(max(p.x() - d.start.x(), -x0), w - x1)  # the whole box stays inside the image
            dy = min(max(p.y() - d.start.y(), -y0), h - y1)
            d.item.set_xyxy((x0 + dx, y0 + dy, x1 + dx, y1 + dy))
        elif d.what == "resize":
            d.item.set_xyxy(_resized(d.original, d.handle, self._clamp(p)))

    def _hover_cursor(self, pos) -> None:
        """The resize cursor over a handle of the selected box, the normal one elsewhere."""
        handle = self._hit_handle(pos)
        if handle:
            self.viewport().setCursor(_CURSORS[handle])
        elif self._mode == "click":
            self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.viewport().unsetCursor()

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:
        if self.end_pan():
            return
        d, self._drag = self._drag, None
        if d is None or ev.button() != Qt.MouseButton.LeftButton:
            return
        if d.what == "draw":
            rect = self._rubber.rect() if self._rubber is not None else QRectF()
            self._remove_rubber()
            moved = (ev.position() - d.start_view).manhattanLength()
            self.cancel_mode()
            if moved >= MIN_DRAW_PX and rect.width() >= 1 and rect.height() >= 1:
                self.box_drawn.emit((rect.left(), rect.top(), rect.right(), rect.bottom()))
            return
        new = d.item.xyxy()
        if max(abs(a - b) for a, b in zip(new, d.original, strict=True)) >= 0.5:
            self.box_edited.emit(d.item.key, tuple(round(v, 2) for v in new))
        else:
            d.item.set_xyxy(d.original)
        self._declutter_labels()

    def mouseDoubleClickEvent(self, ev: QMouseEvent) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self._mode != "select":
            return
        # the box a click here picks (and the press of this double-click selected) is the one accepted
        item = self.box_at(ev.position())
        if item is not None and item.kind in ("proposal", "prediction"):
            self.select(item.kind, item.key)
            self.accept_requested.emit(item.kind, item.key)

    def revert_edit(self, key: int, xyxy: tuple) -> None:
        """The store refused an edit: put the box back where the database has it."""
        item = self._items["curated"].get(key)
        if item is not None:
            item.set_xyxy(xyxy)


def _resized(original: tuple[float, float, float, float], handle: str, q: QPointF) -> tuple[float, ...]:
    """``original`` (xyxy) with the edges ``handle`` names (l, r, t, b) moved to ``q``."""
    x0, y0, x1, y1 = original
    if "l" in handle:
        x0 = q.x()
    if "r" in handle:
        x1 = q.x()
    if "t" in handle:
        y0 = q.y()
    if "b" in handle:
        y1 = q.y()
    return (x0, y0, x1, y1)
