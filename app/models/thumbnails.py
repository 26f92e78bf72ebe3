"""Thumbnails for the image browser: made on worker threads, cached in memory (LRU) and on disk.

The disk cache lives in ``project.work_dir/thumbs`` keyed by the file's content hash, so a
renamed or moved image keeps its thumbnail and an edited one gets a new one.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from app.canvas.colormaps import rgb_to_qimage
from core.data.images import thumbnail

THUMB_SIZE = 96
MEMORY_ITEMS = 3000  # ~3000 * 96*72*4 B = 80 MB at most


class _Signals(QObject):
    done = Signal(int, object)  # image id, QImage | None (unreadable)


class _Job(QRunnable):
    def __init__(self, signals: _Signals, image_id: int, path: Path, cache_file: Path | None, size: int):
        super().__init__()
        self.signals, self.image_id, self.path, self.cache_file, self.size = signals, image_id, path, cache_file, size

    def run(self) -> None:  # worker thread: QImage is fine here, QPixmap is not
        img = None
        try:
            if self.cache_file is not None and self.cache_file.is_file():
                img = QImage(str(self.cache_file))
                img = None if img.isNull() else img
            if img is None:
                img = rgb_to_qimage(np.asarray(thumbnail(self.path, self.size)))
                if self.cache_file is not None:
                    tmp = self.cache_file.with_suffix(".tmp.png")
                    if img.save(str(tmp), "PNG"):
                        tmp.replace(self.cache_file)  # atomic: a half-written thumb is never read
        except Exception:
            img = None
        self.signals.done.emit(self.image_id, img)


class ThumbnailCache(QObject):
    """``get()`` returns a cached pixmap or None and schedules it; ``ready(image_id)`` follows."""

    ready = Signal(int)

    def __init__(self, parent: QObject | None = None, size: int = THUMB_SIZE, threads: int = 2):
        super().__init__(parent)
        self.size = size
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._mem: OrderedDict[int, QPixmap | None] = OrderedDict()
        self._pending: set[int] = set()
        self._priority = itertools.count()
        self._signals = _Signals(self)
        self._signals.done.connect(self._on_done)
        self._dir: Path | None = None

    def set_cache_dir(self, folder: Path | None) -> None:
        self.clear()
        self._dir = folder
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def clear(self) -> None:
        self._pool.clear()
        self._mem.clear()
        self._pending.clear()

    def get(self, image_id: int, path: Path, content_hash: str = "") -> QPixmap | None:
        if image_id in self._mem:
            self._mem.move_to_end(image_id)
            return self._mem[image_id]
        if image_id not in self._pending:
            self._pending.add(image_id)
            cache_file = (self._dir / f"{content_hash}_{self.size}.png") if (self._dir and content_hash) else None
            # newest requests first: the rows on screen now matter more than those scrolled past
            self._pool.start(_Job(self._signals, image_id, Path(path), cache_file, self.size), next(self._priority))
        return None

    def pending(self) -> int:
        """How many thumbnails are being made right now."""
        return len(self._pending)

    def failed(self, image_id: int) -> bool:
        return image_id in self._mem and self._mem[image_id] is None

    def wait(self, ms: int = 5000) -> bool:
        return self._pool.waitForDone(ms)

    def _on_done(self, image_id: int, img: QImage | None) -> None:
        if image_id not in self._pending:
            return  # cleared meanwhile (another project)
        self._pending.discard(image_id)
        self._mem[image_id] = QPixmap.fromImage(img) if img is not None else None
        while len(self._mem) > MEMORY_ITEMS:
            self._mem.popitem(last=False)
        self.ready.emit(image_id)
