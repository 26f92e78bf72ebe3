"""The image browser's list model over the project database, virtualised.

Setting a filter fetches only the matching ids (one query); records are fetched lazily in
pages of ``PAGE`` rows when a view asks for them, so a 10,000-image project opens at once and
scrolling touches only the rows on screen.
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap

from app.models.thumbnails import ThumbnailCache
from core.data.unreadable import unreadable_reasons, unreadable_words
from core.store.records import ImageRecord
from core.store.repos.images import ImageFilter

PAGE = 200
_NO_PARENT = QModelIndex()   # the invisible root: a flat list has no other parent
RecordRole = Qt.ItemDataRole.UserRole + 1
ImageIdRole = Qt.ItemDataRole.UserRole + 2
REVIEW_MARK = {"verified": "\u2713", "flagged": "\u2691", "unreviewed": ""}
REVIEW_COLOUR = {"verified": "#16a34a", "flagged": "#d97706"}
UNREADABLE_MARK = "\u26a0"          # before the name of an image that could not be decoded
UNREADABLE_COLOUR = "#dc2626"
MISSING_TAG, UNREADABLE_TAG = " [missing]", " [unreadable]"   # after the name; the list never elides them


class ImageListModel(QAbstractListModel):
    def __init__(self, parent=None, thumbs: ThumbnailCache | None = None):
        super().__init__(parent)
        self.project = None
        self.filter = ImageFilter()
        self._ids: list[int] = []
        self._row_of: dict[int, int] = {}
        self._pages: dict[int, list[ImageRecord]] = {}
        self._class_names: dict[int, str] = {}
        self._image_root = None
        self.total = 0
        self.thumbs = thumbs
        self._blank: QIcon | None = None   # the tile shown until a thumbnail is made (_placeholder)
        self._broken: QIcon | None = None  # the tile of an image that could not be decoded (_broken_tile)
        self._unreadable: dict[str, str] = {}   # rel_path -> reason (core/data/unreadable.py)
        if thumbs is not None:
            thumbs.ready.connect(self._thumb_ready)

    # -- loading ---------------------------------------------------------------------
    def set_project(self, project) -> None:
        self.project = project
        # read once: Project.image_root is a database read, and data() needs it for every row painted
        self._image_root = project.image_root if project is not None else None
        if self.thumbs is not None:
            self.thumbs.set_cache_dir(project.work_dir / "thumbs" if project is not None else None)
        self.set_filter(ImageFilter())

    def set_filter(self, f: ImageFilter) -> None:
        self.beginResetModel()
        self.filter = f
        self._pages.clear()
        if self.project is None:
            self._ids, self.total, self._class_names, self._unreadable = [], 0, {}, {}
        else:
            self._ids = self.project.images.ids(f)
            self.total = self.project.images.count()
            self._class_names = self.project.class_names()
            self._unreadable = unreadable_reasons(self.project)
        self._row_of = {i: r for r, i in enumerate(self._ids)}
        self.endResetModel()

    def refresh(self) -> None:
        """Re-read rows after edits (review marks, box counts); the filter is re-applied."""
        self.set_filter(self.filter)

    def refresh_image(self, image_id: int) -> None:
        """Re-read one image's row without re-filtering (it stays put while being inspected)."""
        row = self._row_of.get(image_id)
        if row is None:
            return
        self._pages.pop(row // PAGE, None)
        idx = self.index(row)
        self.dataChanged.emit(idx, idx)

    def reload_unreadable(self) -> None:
        """Read the record of images that failed to decode again (a stage just recorded some, or forgot them) and
        repaint the rows whose mark changed."""
        if self.project is None:
            return
        before, self._unreadable = self._unreadable, unreadable_reasons(self.project)
        changed = set(before.items()) ^ set(self._unreadable.items())
        if changed and self._ids:
            self._pages.clear()
            self.dataChanged.emit(self.index(0), self.index(len(self._ids) - 1))

    def unreadable_reason(self, rec: ImageRecord | None) -> str | None:
        """Why ``rec``'s file could not be decoded, when it is recorded so and unchanged since; else None."""
        return self._unreadable.get(rec.rel_path) if rec is not None else None

    # -- lookup ------------------------------------------------------------------------
    @property
    def ids(self) -> list[int]:
        return self._ids

    def row_of(self, image_id: int) -> int:
        return self._row_of.get(image_id, -1)

    def record(self, row: int) -> ImageRecord | None:
        if not 0 <= row < len(self._ids):
            return None
        page = row // PAGE
        recs = self._pages.get(page)
        if recs is None:
            # by id from the ordered id list, not OFFSET: the last page of 100,000 images is as quick as the first
            page_ids = self._ids[page * PAGE:(page + 1) * PAGE]
            found = self.project.images.by_ids(page_ids)
            recs = [found.get(i) for i in page_ids]
            if len(self._pages) > 50:  # bound memory when scrolling through a huge project
                self._pages.pop(next(iter(self._pages)))
            self._pages[page] = recs
        k = row - page * PAGE
        rec = recs[k] if k < len(recs) else None
        if rec is None or rec.id != self._ids[row]:  # the table changed under us: fetch the one row
            rec = self.project.images.get(self._ids[row])
        return rec

    # -- Qt model ---------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = index.row()
        if role == ImageIdRole:
            return self._ids[row]
        if role == Qt.ItemDataRole.SizeHintRole:
            return None
        rec = self.record(row)
        if rec is None:
            return None
        broken = None if rec.missing else self._unreadable.get(rec.rel_path)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(rec, broken)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(rec, broken)
        if role == Qt.ItemDataRole.DecorationRole and self.thumbs is not None:
            return self._icon(rec, broken)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._colour(rec, broken)
        if role == RecordRole:
            return rec
        return None

    def _text(self, rec: ImageRecord, broken: str | None) -> str:
        mark = ((UNREADABLE_MARK if broken is not None else "") + REVIEW_MARK.get(rec.review, "")
                + (REVIEW_MARK["flagged"] if rec.flagged else ""))
        boxes = f"{rec.n_boxes} box" + ("" if rec.n_boxes == 1 else "es")
        cls = self._class_names.get(rec.class_id, "-")
        state = MISSING_TAG if rec.missing else UNREADABLE_TAG if broken is not None else ""
        return f"{mark + ' ' if mark else ''}{rec.name}{state}\n{cls} \u00b7 {rec.split} \u00b7 {boxes}"

    def _tip(self, rec: ImageRecord, broken: str | None) -> str:
        # an unreadable image leads with why and what to do for it (core/data/unreadable.py)
        why = f"{unreadable_words(rec.name, broken)}\n\n" if broken is not None else ""
        return (f"{why}{rec.rel_path}\n{rec.width} x {rec.height} px\nclass: {self._class_names.get(rec.class_id, '-')}"
                f"\nsplit: {rec.split}\nreview: {rec.review}{', flagged' if rec.flagged else ''}"
                f"\nboxes: {rec.n_boxes}")

    def _icon(self, rec: ImageRecord, broken: str | None) -> QIcon:
        if broken is not None:       # never decoded again for a thumbnail: it fails, and a blank tile says nothing
            return self._broken_tile()
        pix = None if rec.missing else self.thumbs.get(rec.id, self._image_root / rec.rel_path, rec.content_hash)
        return QIcon(pix) if pix is not None else self._placeholder()

    @staticmethod
    def _colour(rec: ImageRecord, broken: str | None) -> QColor | None:
        if broken is not None:
            return QColor(UNREADABLE_COLOUR)
        if rec.flagged or rec.review in REVIEW_COLOUR:
            return QColor(REVIEW_COLOUR["flagged" if rec.flagged else rec.review])
        return None

    def _placeholder(self) -> QIcon:
        """A blank tile of the thumbnail's size until the thumbnail is made: rows have their final height from the
        start, so a row scrolled to (the image on screen, at launch) stays in view when the thumbnails arrive."""
        if self._blank is None:
            pix = QPixmap(thumb_size(self.thumbs))
            pix.fill(QColor(128, 128, 128, 50))
            self._blank = QIcon(pix)
        return self._blank

    def _broken_tile(self) -> QIcon:
        """The tile of an image that could not be decoded: the thumbnail's size, tinted red, a warning sign across."""
        if self._broken is None:
            size = thumb_size(self.thumbs)
            pix = QPixmap(size)
            pix.fill(QColor(220, 38, 38, 40))
            p = QPainter(pix)
            p.setPen(QPen(QColor(UNREADABLE_COLOUR), 2))
            p.drawRect(1, 1, size.width() - 2, size.height() - 2)
            font = QFont()
            font.setPixelSize(max(10, size.height() // 2))
            p.setFont(font)
            p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, UNREADABLE_MARK)
            p.end()
            self._broken = QIcon(pix)
        return self._broken

    def _thumb_ready(self, image_id: int) -> None:
        row = self._row_of.get(image_id)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def count_text(self) -> str:
        n = len(self._ids)
        return f"{n:,} images" if n == self.total else f"{n:,} of {self.total:,} images"


def thumb_size(cache: ThumbnailCache | None) -> QSize:
    s = cache.size if cache is not None else 64
    return QSize(s, s * 3 // 4)
