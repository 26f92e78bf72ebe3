"""Reading images the same way everywhere: EXIF orientation applied, RGB uint8, clear errors.

Drones write EXIF orientation; display, model input and box coordinates all use the
oriented image, so every reader in the project goes through this module.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ImageReadError  # noqa: F401 - raised here; importable from here as before

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")
EXIF_ORIENTATION = 274
# Pillow refuses > 179 MP by default; aerial mosaics can be large, but a limit still guards memory.
Image.MAX_IMAGE_PIXELS = 400_000_000


@dataclass(frozen=True)
class ImageInfo:
    width: int        # after EXIF orientation
    height: int       # after EXIF orientation
    orientation: int  # EXIF tag value as found (1 = upright)
    file_size: int
    content_hash: str  # sha1 of the file bytes


def is_image_name(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _open(data: bytes, path: Path) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image (unrecognised format)") from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(path, f"too large to open safely ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on malformed headers
        if "truncat" in str(exc).lower():
            raise ImageReadError(path, "truncated or corrupt image data") from None
        raise ImageReadError(path, f"cannot be opened ({exc})") from None


def _orientation(img: Image.Image) -> int:
    try:
        value = int(img.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the image
        return 1
    return value if 1 <= value <= 8 else 1


def _decode(img: Image.Image, path: Path) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
    except OSError as exc:
        msg = str(exc)
        low = msg.lower()
        reason = "truncated or corrupt image data" if "truncat" in low or "broken" in low else f"corrupt ({msg})"
        raise ImageReadError(path, reason) from None
    except Exception as exc:  # noqa: BLE001
        raise ImageReadError(path, f"cannot be decoded ({exc.__class__.__name__}: {exc})") from None


def inspect_image(path: Path | str) -> ImageInfo:
    """Read the file once: hash its bytes and decode it (cheaply) to prove it is whole.

    JPEGs decode at 1/8 scale through libjpeg's DCT scaling: the whole entropy-coded
    stream is still read, so truncation is caught, at a fraction of the cost.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageReadError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not data:
        raise ImageReadError(path, "empty file")
    img = _open(data, path)
    w, h = img.size
    orientation = _orientation(img)
    if img.format == "JPEG":
        img.draft("RGB", (max(1, w // 8), max(1, h // 8)))
    _decode(img, path)
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    return ImageInfo(w, h, orientation, len(data), hashlib.sha1(data).hexdigest())


def _to_rgb(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
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


def read_image(path: Path | str, max_side: int | None = None) -> np.ndarray:
    """The oriented image as HxWx3 uint8 RGB.

    With ``max_side``, a JPEG is decoded at a reduced DCT scale first (fast for 4K/8K
    drone frames) and the result is resized so its longer side is at most ``max_side``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageReadError(path, f"cannot be read ({exc.strerror or exc})") from None
    img = _open(data, path)
    if max_side is not None and img.format == "JPEG":
        w, h = img.size
        scale = max(w, h) / max_side
        if scale >= 2:
            img.draft("RGB", (int(w / scale) + 1, int(h / scale) + 1))
    _decode(img, path)
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - a malformed EXIF block: keep the pixels as stored
        pass
    if max_side is not None and max(img.size) > max_side:
        w, h = img.size
        s = max_side / max(w, h)
        img = img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.BILINEAR)
    return _to_rgb(img)


def thumbnail(path: Path | str, size: int = 128) -> np.ndarray:
    """A small oriented RGB preview, longer side = ``size``."""
    return read_image(path, max_side=size)
