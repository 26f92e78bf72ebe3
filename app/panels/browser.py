"""Image browser: filters (class, split, review state, boxes), name search, counts, thumbnail list."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListView,
    QVBoxLayout,
    QWidget,
)

from app.models.image_list_model import ImageIdRole, ImageListModel, thumb_size
from app.models.thumbnails import ThumbnailCache
from app.panels.image_list_delegate import ImageListDelegate
from core.store.repos.images import ImageFilter
from core.store.schema import REVIEW_STATES, SPLITS

ANY = "any"


class BrowserPanel(QWidget):
    image_selected = Signal(int)  # the user picked an image in the list
    search_left = Signal()        # Escape or Enter in the search field: the keys belong to the canvas again

    def sizeHint(self) -> QSize:
        return QSize(270, 700)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("browser")
        self.thumbs = ThumbnailCache(self)
        self.model = ImageListModel(self, self.thumbs)
        self.project = None

        self.class_box = QComboBox(objectName="filter_class")
        self.split_box = QComboBox(objectName="filter_split")
        self.split_box.addItem("any split", None)
        for s in SPLITS:
            self.split_box.addItem(s, s)
        self.review_box = QComboBox(objectName="filter_review")
        self.review_box.addItem("any review state", None)
        for s in REVIEW_STATES:
            self.review_box.addItem(s, s)
        self.boxes_box = QComboBox(objectName="filter_boxes")
        for text, val in (("with or without boxes", None), ("has boxes", True), ("no boxes", False)):
            self.boxes_box.addItem(text, val)
        self.search = QLineEdit(objectName="filter_search")
        self.search.setPlaceholderText("Search names...  (Ctrl+K)")
        self.search.setClearButtonEnabled(True)
        self.count_label = QLabel(objectName="browser_count")

        self.view = QListView(objectName="image_list")
        self.view.setModel(self.model)
        self.view.setUniformItemSizes(True)  # lets the view lay out 10,000 rows without asking each one
        # Lay out in batches between events: Qt asks rowCount() once per row while laying out, which is 0.1 s
        # of Python calls at 100,000 rows; batched, the visible rows show at once and the rest follows.
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(2000)
        self.view.setIconSize(thumb_size(self.thumbs))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.view.setItemDelegate(ImageListDelegate(self.view))   # "[unreadable]" stays whole at any width
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # arrow keys stay with the canvas unless clicked
        self.view.selectionModel().currentChanged.connect(self._current_changed)

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.class_box, 0, 0)
        grid.addWidget(self.split_box, 0, 1)
        grid.addWidget(self.review_box, 1, 0)
        grid.addWidget(self.boxes_box, 1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(grid)
        lay.addWidget(self.search)
        lay.addWidget(self.count_label)
        lay.addWidget(self.view, 1)

        self._search_timer = QTimer(self, singleShot=True, interval=250)  # filter once typing pauses
        self._search_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _: self._search_timer.start())
        self.search.returnPressed.connect(self.open_first_match)
        self.search.installEventFilter(self)
        for box in (self.class_box, self.split_box, self.review_box, self.boxes_box):
            box.currentIndexChanged.connect(lambda _: self.apply_filter())
        self._quiet = False

    # -- project / filter -----------------------------------------------------------------
    def set_project(self, project) -> None:
        """Another project: every filter back to 'any' (a class filter of the old project means nothing here)."""
        self.project = project
        self._quiet = True
        self.reload_classes()
        for box in (self.class_box, self.split_box, self.review_box, self.boxes_box):
            box.setCurrentIndex(0)
        self.search.clear()
        self._quiet = False
        self.model.set_project(project)
        self._update_count()

    def reload_classes(self) -> None:
        keep = self.class_box.currentData()
        quiet, self._quiet = self._quiet, True
        self.class_box.clear()
        self.class_box.addItem("any class", None)
        for c in (self.project.classes() if self.project is not None else []):
            self.class_box.addItem(c.name, c.id)
        i = self.class_box.findData(keep)
        self.class_box.setCurrentIndex(max(0, i))
        self._quiet = quiet

    def current_filter(self) -> ImageFilter:
        return ImageFilter(class_id=self.class_box.currentData(), split=self.split_box.currentData(),
                           review=self.review_box.currentData(), has_boxes=self.boxes_box.currentData(),
                           search=self.search.text().strip() or None)

    def set_review_filter(self, state: str | None) -> None:
        self.review_box.setCurrentIndex(max(0, self.review_box.findData(state)))

    def apply_filter(self) -> None:
        if self._quiet or self.project is None:
            return
        keep = self.current_image_id()
        self.model.set_filter(self.current_filter())
        self._update_count()
        if keep is not None and self.model.row_of(keep) >= 0:
            self.select_image(keep)

    def refresh(self) -> None:
        keep = self.current_image_id()
        self.model.refresh()
        self._update_count()
        if keep is not None:
            self.select_image(keep)

    def _update_count(self) -> None:
        self.count_label.setText(self.model.count_text())

    # -- search keys ---------------------------------------------------------------------------
    def open_first_match(self) -> None:
        """Enter in the search field: filter now, open the first match, give the keys back to the canvas."""
        self._search_timer.stop()
        self.apply_filter()
        ids = self.model.ids
        if ids:
            self.image_selected.emit(ids[0])
        self.search_left.emit()

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if obj is self.search and ev.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) \
                and ev.key() == Qt.Key.Key_Escape:
            ev.accept()   # Escape belongs to the search field (not the window's Esc action) ...
            if ev.type() == QEvent.Type.KeyPress:
                self.search_left.emit()   # ... and returns the keys to the canvas
            return ev.type() == QEvent.Type.KeyPress
        return False

    # -- selection ---------------------------------------------------------------------------
    def current_image_id(self) -> int | None:
        idx = self.view.currentIndex()
        return self.model.data(idx, ImageIdRole) if idx.isValid() else None

    def select_image(self, image_id: int | None) -> None:
        """Follow navigation done elsewhere without announcing it back."""
        row = self.model.row_of(image_id) if image_id is not None else -1
        self._quiet = True
        if row < 0:
            self.view.selectionModel().clearCurrentIndex()
            self.view.clearSelection()
        else:
            idx = self.model.index(row)
            self.view.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.view.scrollTo(idx)
        self._quiet = False

    def neighbour(self, image_id: int | None, step: int) -> int | None:
        """The image ``step`` rows away in the filtered list (the first one if none is shown)."""
        ids = self.model.ids
        if not ids:
            return None
        row = self.model.row_of(image_id) if image_id is not None else -1
        if row < 0:
            return ids[0]
        j = row + step
        return ids[j] if 0 <= j < len(ids) else None

    def _current_changed(self, cur, _prev) -> None:
        if self._quiet or not cur.isValid():
            return
        self.image_selected.emit(self.model.data(cur, ImageIdRole))
