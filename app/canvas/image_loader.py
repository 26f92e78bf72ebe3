"""Decode images for the canvas off the GUI thread.

A request decodes a preview (longer side ``PREVIEW_SIDE``, fast for JPEGs thanks to DCT
scaling) and then, for big images, the full resolution. Results of a request that was
superseded (the user pressed D again) are dropped, so fast paging never shows a stale image.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from app.canvas.colormaps import rgb_to_qimage
from core.data.images import ImageReadError, read_image

PREVIEW_SIDE = 1600
# Decoding beyond this is pointless on a screen and would cost ~1 GB for a 16K panorama.
MAX_FULL_SIDE = 12000


class _Signals(QObject):
    loaded = Signal(int, int, str, object)   # generation, image id, "preview" | "full", QImage
    failed = Signal(int, int, str, str)      # generation, image id, message, decoding reason ("" : not a decode)


class _Decode(QRunnable):
    def __init__(self, signals: _Signals, generation: int, image_id: int, path: Path, size: tuple[int, int],
                 is_current):
        super().__init__()
        self.signals, self.generation, self.image_id, self.path, self.size = signals, generation, image_id, path, size
        self.is_current = is_current

    def run(self) -> None:  # worker thread: QImage only, never QPixmap or widgets
        try:
            big = max(self.size) > PREVIEW_SIDE
            first = read_image(self.path, max_side=PREVIEW_SIDE if big else None)
            self.signals.loaded.emit(self.generation, self.image_id, "preview" if big else "full",
                                     rgb_to_qimage(first))
            if big and self.is_current(self.generation):
                full = read_image(self.path, max_side=MAX_FULL_SIDE)
                if self.is_current(self.generation):
                    self.signals.loaded.emit(self.generation, self.image_id, "full", rgb_to_qimage(full))
        except ImageReadError as exc:     # the file, read as the stages read it, is not a usable image
            self.signals.failed.emit(self.generation, self.image_id, str(exc), exc.reason)
        except Exception as exc:          # anything else (memory, a bug) says nothing about the file
            self.signals.failed.emit(self.generation, self.image_id, f"{self.path}: {exc}", "")


class ImageLoader(QObject):
    """``request()`` the current image; ``loaded(image_id, level, QImage)`` arrives on the GUI thread."""

    loaded = Signal(int, str, object)
    failed = Signal(int, str)
    undecodable = Signal(int, str)   # image id, reason: read_image refused the file (core.errors.ImageReadError)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._generation = 0
        self._signals = _Signals(self)
        self._signals.loaded.connect(self._on_loaded)
        self._signals.failed.connect(self._on_failed)

    def request(self, image_id: int, path: Path, size: tuple[int, int]) -> None:
        self._generation += 1
        self._pool.clear()  # drop queued decodes of images already paged past
        self._pool.start(_Decode(self._signals, self._generation, image_id, Path(path), size, self._is_current))

    def cancel(self) -> None:
        self._generation += 1
        self._pool.clear()

    def wait(self, ms: int = 5000) -> bool:
        return self._pool.waitForDone(ms)

    def _is_current(self, generation: int) -> bool:
        return generation == self._generation  # an int read: safe enough across threads

    def _on_loaded(self, generation: int, image_id: int, level: str, img: QImage) -> None:
        if generation == self._generation:
            self.loaded.emit(image_id, level, img)

    def _on_failed(self, generation: int, image_id: int, message: str, reason: str) -> None:
        if generation == self._generation:
            if reason:
                self.undecodable.emit(image_id, reason)
            self.failed.emit(image_id, message)
