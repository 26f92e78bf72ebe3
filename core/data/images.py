"""Reading images the same way everywhere: EXIF orientation applied, RGB uint8, clear errors.

Drones write EXIF orientation; display, model input and box coordinates all use the
oriented image, so every reader in the project goes through this module.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, TiffImagePlugin, UnidentifiedImageError

from core.errors import ImageReadError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")
EXIF_ORIENTATION = 274

# The one pixel limit (width x height): larger files are refused right after their header is read, before any
# pixel is decoded, with the same check in every thread. 400 MP is a 20000 x 20000 mosaic, ~1.6 GB once decoded
# (Pillow keeps RGB at 4 bytes a pixel). Pillow's own check is off: it is a warning below twice its limit, and a
# warning is process-wide state, so turning it into an error per call is not thread-safe (a file over the limit
# was accepted or refused depending on thread timing). Every reader in the project opens files through here.
MAX_PIXELS = 400_000_000
Image.MAX_IMAGE_PIXELS = None

# Pixels decoded at the same time, over all threads: a file larger than this decodes alone. Peak memory is then
# about max(DECODE_BUDGET, the largest accepted file) x 4 bytes, whatever the number of large files in a folder.
DECODE_BUDGET = 100_000_000
# Pillow allocates large images in blocks (16 MiB by default; PILLOW_BLOCK_SIZE). glibc serves blocks under its
# dynamic mmap threshold (up to 32 MiB) from per-thread heaps that keep freed memory, so four reader threads each
# kept a 1.5 GB image's worth of heap: peak memory grew with the number of large files even when they decoded one
# at a time. Blocks above 32 MiB are always mmap'd and go back to the system when the image is freed.
if hasattr(Image.core, "set_block_size"):
    Image.core.set_block_size(64 * 1024 * 1024)
SUPPORTED_BANDS = (1, 3, 4)


@dataclass(frozen=True)
class ImageInfo:
    width: int        # after EXIF orientation: the size of the pixels the app shows
    height: int       # after EXIF orientation
    orientation: int  # EXIF tag value as found (1 = upright)
    file_size: int
    content_hash: str  # sha1 of the file bytes


def is_image_name(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


class _PixelBudget:
    """A counting semaphore in pixels: decodes wait until their pixels fit under the budget (or nothing else
    is decoding, so a file larger than the budget still decodes, alone). First come, first served, so a large
    file is not held back for ever by small ones that keep fitting beside each other."""

    def __init__(self, budget: int):
        self.budget = budget
        self.in_use = 0
        self._queue: deque[object] = deque()
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            while self._queue[0] is not ticket or (self.in_use and self.in_use + pixels > self.budget):
                self._cond.wait()
            self._queue.popleft()
            self.in_use += pixels
            self._cond.notify_all()          # the next in line may fit beside this one
        try:
            yield
        finally:
            with self._cond:
                self.in_use -= pixels
                self._cond.notify_all()


DECODING = _PixelBudget(DECODE_BUDGET)


def _megapixels(n: int) -> str:
    return f"{n / 1e6:.0f} MP" if n >= 10_000_000 else f"{n / 1e6:.1f} MP"


def _too_large(path: Path, w: int, h: int) -> ImageReadError:
    return ImageReadError(path, f"{w} x {h} pixels ({_megapixels(w * h)}) is larger than the "
                                f"{_megapixels(MAX_PIXELS)} limit")


def _tiff_bands(data: bytes) -> int | None:
    """Samples per pixel of the first IFD of a (classic) TIFF, read with Pillow's tag reader; None if not a TIFF."""
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    try:
        ifd = TiffImagePlugin.ImageFileDirectory_v2(ifh=data[:8])
        fp = io.BytesIO(data)
        fp.seek(ifd.next)
        ifd.load(fp)
        return int(ifd.get(277, 1))
    except Exception:
        return None


def _band_problem(data: bytes, path: Path) -> ImageReadError | None:
    bands = _tiff_bands(data)
    if bands is not None and bands not in SUPPORTED_BANDS:
        return ImageReadError(path, f"{bands}-band image: only 1-, 3- and 4-channel images are supported")
    return None


def _open(data: bytes, path: Path) -> Image.Image:
    """Open (header only) and check the pixel limit, the same way for every file and thread."""
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise _band_problem(data, path) or ImageReadError(path, "not an image (unrecognised format)") from None
    except Exception as exc:
        if "truncat" in str(exc).lower():
            raise ImageReadError(path, "truncated or corrupt image data") from None
        raise _band_problem(data, path) or ImageReadError(path, f"cannot be opened ({exc})") from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise _too_large(path, w, h)
    return img


def _orientation(img: Image.Image) -> int:
    try:
        value = int(img.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


@contextmanager
def _decoded(img: Image.Image, data: bytes, path: Path, pixels: int | None = None) -> Iterator[None]:
    """Decode ``img`` inside the pixel budget, which is held until the block ends: callers shrink or measure the
    decoded image there and drop it, so the next large file is not decoded while this one is still in memory.
    ``pixels``: what the decode holds (default the image's size; less for a JPEG decoded at a reduced scale)."""
    w, h = img.size
    with DECODING.hold(max(1, pixels if pixels is not None else w * h)):
        _load(img, data, path)
        yield


def _load(img: Image.Image, data: bytes, path: Path) -> None:
    try:
        img.load()
    except OSError as exc:
        msg = str(exc)
        low = msg.lower()
        if "raw mode" in low or "not supported" in low:
            problem = _band_problem(data, path)
            if problem is not None:
                raise problem from None
        reason = "truncated or corrupt image data" if "truncat" in low or "broken" in low else f"corrupt ({msg})"
        raise ImageReadError(path, reason) from None
    except Exception as exc:
        raise _band_problem(data, path) or ImageReadError(
            path, f"cannot be decoded ({exc.__class__.__name__}: {exc})") from None


def _shown_size(img: Image.Image, stored: tuple[int, int]) -> tuple[int, int]:
    """The size ``ImageOps.exif_transpose`` gives the decoded image. Some plugins (TIFF) already rotate on load
    and drop the tag, others leave it for exif_transpose: ask the loaded image which applies."""
    w, h = stored
    return (h, w) if _orientation(img) in (5, 6, 7, 8) else (w, h)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImageReadError(path, f"cannot be read ({exc.strerror or exc})") from None


def inspect_image(path: Path | str) -> ImageInfo:
    """Read the file once: hash its bytes and decode it (cheaply) to prove it is whole.

    JPEGs decode at 1/8 scale through libjpeg's DCT scaling: the whole entropy-coded
    stream is still read, so truncation is caught, at a fraction of the cost. Raises
    ``ImageReadError`` (file + reason) for unreadable, corrupt, too large (``MAX_PIXELS``)
    or unsupported (band count) files.
    """
    path = Path(path)
    data = _read_bytes(path)
    if not data:
        raise ImageReadError(path, "empty file")
    img = _open(data, path)
    stored = w, h = img.size
    # TIFF's loader applies the orientation and drops the tag, so it is read first; PNG's getexif decodes the whole
    # image when no EXIF precedes the pixels, so the others are read after decoding, inside the pixel budget
    orientation = _orientation(img) if img.format == "TIFF" else None
    pixels = None
    if img.format == "JPEG":
        img.draft("RGB", (max(1, w // 8), max(1, h // 8)))
        pixels = img.size[0] * img.size[1]
    with _decoded(img, data, path, pixels):
        if orientation is None:
            orientation = _orientation(img)
        w, h = _shown_size(img, stored)
        img.close()              # frees the pixels now, inside the budget
    return ImageInfo(w, h, orientation, len(data), hashlib.sha1(data).hexdigest())


def _to_rgb(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(img, dtype=np.float32)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)
        a = a.astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=2)
    if img.mode != "RGB":
        if img.mode in ("RGBA", "LA", "P", "PA"):
            img = img.convert("RGBA")
            background = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(background, img)
        img = img.convert("RGB")
    return np.array(img, dtype=np.uint8)  # a writable copy: callers hand it to torch


def _shrink(img: Image.Image, max_side: int) -> Image.Image:
    """Longer side down to ``max_side``: a cheap integer ``reduce`` (box filter) first, then a bilinear resize.
    The result carries the original's info (EXIF included), so exif_transpose still applies to it."""
    info = dict(img.info)
    w, h = img.size
    factor = max(w, h) // (2 * max_side)
    if factor >= 2:
        img = img.reduce(factor)
    if max(img.size) > max_side:
        s = max_side / max(w, h)
        img = img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BILINEAR)
    img.info.update(info)
    return img


def read_image(path: Path | str, max_side: int | None = None) -> np.ndarray:
    """The oriented image as HxWx3 uint8 RGB (the frame box coordinates are in).

    With ``max_side``, a JPEG is decoded at a reduced DCT scale first (fast for 4K/8K
    drone frames) and the result is resized so its longer side is at most ``max_side``;
    other formats are shrunk right after decoding, before any conversion, so only the
    decoded file itself is ever held at full size. Raises ``ImageReadError``.
    """
    path = Path(path)
    data = _read_bytes(path)
    img = _open(data, path)
    if max_side is not None and img.format == "JPEG":
        w, h = img.size
        scale = max(w, h) / max_side
        if scale >= 2:
            img.draft("RGB", (int(w / scale) + 1, int(h / scale) + 1))
    with _decoded(img, data, path):
        if max_side is not None and max(img.size) > max_side:
            decoded, img = img, _shrink(img, max_side)
            decoded.close()
        if _orientation(img) != 1:    # exif_transpose copies even an upright image
            with contextlib.suppress(Exception):   # a broken EXIF block: show the image as stored
                img = ImageOps.exif_transpose(img)
        return _to_rgb(img)


def thumbnail(path: Path | str, size: int = 128) -> np.ndarray:
    """A small oriented RGB preview, longer side = ``size``."""
    return read_image(path, max_side=size)
