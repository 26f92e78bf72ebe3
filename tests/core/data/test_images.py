"""Every format and orientation a drone folder throws at us reads the same way everywhere."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from core.data.images import ImageReadError, inspect_image, read_image, thumbnail
from tests.conftest import make_image


@pytest.mark.parametrize("name, fmt", [("a.tif", "TIFF"), ("a.bmp", "BMP"), ("a.webp", "WEBP"), ("a.png", "PNG"),
                                       ("a.jpg", "JPEG")])
def test_formats(tmp_path, name, fmt):
    path = make_image(tmp_path / name, size=(40, 30), fmt=fmt)
    info = inspect_image(path)
    assert (info.width, info.height) == (40, 30) and len(info.content_hash) == 40
    img = read_image(path)
    assert img.shape == (30, 40, 3) and img.dtype == np.uint8 and img.flags.writeable


def test_16_bit_grey_and_rgba(tmp_path):
    a = (np.arange(20 * 10, dtype=np.uint16).reshape(10, 20) * 300)
    Image.fromarray(a).save(tmp_path / "g16.tif")
    img = read_image(tmp_path / "g16.tif")
    assert img.shape == (10, 20, 3) and img.max() == 255 and img.min() == 0
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:4, :, 3] = 255                      # top half opaque red, bottom transparent -> white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert tuple(img[0, 0]) == (255, 0, 0) and tuple(img[7, 7]) == (255, 255, 255)


@pytest.mark.parametrize("orientation, size", [(1, (40, 30)), (2, (40, 30)), (3, (40, 30)), (4, (40, 30)),
                                               (5, (30, 40)), (6, (30, 40)), (7, (30, 40)), (8, (30, 40))])
def test_exif_orientation_applied_to_size_and_pixels(tmp_path, orientation, size):
    # red patch in the stored top-left corner
    path = make_image(tmp_path / f"o{orientation}.jpg", size=(40, 30), square=(0, 0, 10, 10, (255, 0, 0)),
                      exif_orientation=orientation)
    info = inspect_image(path)
    assert (info.width, info.height) == size and info.orientation == orientation
    img = read_image(path)
    assert img.shape[:2] == (size[1], size[0])
    # orientation 6 (rotate 90 cw for display) moves the stored top-left corner to the top-right
    if orientation == 6:
        assert img[2, -3, 1] < 60 and img[2, 2, 1] > 120       # green channel: red patch vs background


def test_large_jpeg_decodes_reduced_and_thumbnail(tmp_path):
    path = make_image(tmp_path / "big.jpg", size=(7680, 4320), square=(100, 100, 4000, 4000, (250, 10, 10)))
    small = read_image(path, max_side=448)
    assert max(small.shape[:2]) == 448 and small.shape[1] == 448
    assert thumbnail(path, 64).shape == (36, 64, 3)


def test_empty_and_missing_files_name_the_file(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty.jpg: empty file"):
        inspect_image(tmp_path / "empty.jpg")
    with pytest.raises(ImageReadError, match="gone.jpg: cannot be read"):
        read_image(tmp_path / "gone.jpg")


# -- every orientation in every accepted format ------------------------------------------------------------------

def _expected_pixels(stored: np.ndarray, orientation: int) -> np.ndarray:
    """What the app must show: the stored pixels transposed as EXIF says (Pillow's table, applied in memory)."""
    ex = Image.Exif()
    ex[274] = orientation
    img = Image.fromarray(stored)
    img.info["exif"] = ex.tobytes()
    return np.asarray(ImageOps.exif_transpose(img))


@pytest.mark.parametrize("fmt, suffix", [("TIFF", "tif"), ("PNG", "png"), ("WEBP", "webp"), ("JPEG", "jpg")])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_recorded_size_is_the_shown_size_in_every_format(tmp_path, fmt, suffix, orientation):
    stored = np.full((40, 64, 3), 40, np.uint8)
    stored[:10, :20] = (250, 20, 20)                # a marker in the stored top-left corner
    ex = Image.Exif()
    ex[274] = orientation
    path = tmp_path / f"o{orientation}.{suffix}"
    Image.fromarray(stored).save(path, fmt, exif=ex.tobytes(), **({"lossless": True} if fmt == "WEBP" else {}))
    info = inspect_image(path)
    shown = read_image(path)
    want = _expected_pixels(stored, orientation)
    assert (info.height, info.width) == shown.shape[:2] == want.shape[:2]
    assert info.orientation == orientation
    # the marker is where the oriented image has it (JPEG is lossy: compare the red channel coarsely)
    assert np.array_equal(shown[..., 0] > 128, want[..., 0] > 128)
    small = read_image(path, max_side=32)
    assert max(small.shape[:2]) == 32 and (small.shape[0] > small.shape[1]) == (info.height > info.width)


def test_box_in_the_shown_frame_of_a_rotated_tiff_is_accepted(tmp_path):
    from core.store.repos.boxes import normalise_box
    stored = np.zeros((40, 64, 3), np.uint8)
    ex = Image.Exif()
    ex[274] = 6
    Image.fromarray(stored).save(tmp_path / "r.tif", exif=ex.tobytes())
    info = inspect_image(tmp_path / "r.tif")
    assert (info.width, info.height) == (40, 64)
    assert normalise_box((5, 45, 35, 60), info.width, info.height) == (5, 45, 35, 60)


# -- sizes, bands ----------------------------------------------------------------------------------------------

def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (with almost no pixel data: only the header is read)."""
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [20001, 23345, 25000, 30000, 60000])
def test_images_over_the_pixel_limit_are_refused_after_the_header(tmp_path, side):
    from core.data import images
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header(side, 20000))
    assert side * 20000 > images.MAX_PIXELS
    for reader in (inspect_image, read_image):
        with pytest.raises(ImageReadError) as err:
            reader(path)
        assert "larger than the 400 MP limit" in err.value.reason and f"{side} x 20000" in err.value.reason


def test_the_pixel_limit_holds_the_same_in_every_thread(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from core.data import images
    monkeypatch.setattr(images, "MAX_PIXELS", 40 * 30 - 1)
    paths = [make_image(tmp_path / f"{i}.png", size=(40, 30)) for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda p: _outcome(inspect_image, p), paths * 4))
    assert set(outcomes) == {"refused"}
    monkeypatch.setattr(images, "MAX_PIXELS", 40 * 30)
    assert _outcome(inspect_image, paths[0]) == "ok"


def _outcome(fn, path) -> str:
    try:
        fn(path)
    except ImageReadError as exc:
        assert "limit" in exc.reason
        return "refused"
    return "ok"


def test_pixels_decoded_at_once_stay_under_the_budget(tmp_path, monkeypatch):
    """Four threads decoding large files: the pixels held at once never pass the budget (or one file alone)."""
    from concurrent.futures import ThreadPoolExecutor

    from core.data import images
    budget = images._PixelBudget(100 * 80)
    monkeypatch.setattr(images, "DECODING", budget)
    peak = []
    real_hold = budget.hold

    def watched(pixels):
        cm = real_hold(pixels)

        class _W:
            def __enter__(self):
                cm.__enter__()
                peak.append(budget.in_use)

            def __exit__(self, *exc):
                return cm.__exit__(*exc)
        return _W()
    monkeypatch.setattr(budget, "hold", watched)
    from PIL import ImageFile
    real_load = ImageFile.ImageFile.load
    outside = []

    def load(img):      # every decode, also one Pillow starts on its own (PNG's getexif), runs inside the budget
        if img.tile and budget.in_use == 0:
            outside.append(img)
        return real_load(img)
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    paths = [make_image(tmp_path / f"{i}.png", size=(100, 60)) for i in range(12)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(read_image, paths))
        list(pool.map(inspect_image, paths))
    assert len(peak) == 24 and max(peak) == 100 * 60       # never two 6000-pixel files under an 8000 budget
    assert budget.in_use == 0 and outside == []


@pytest.mark.parametrize("bands", [2, 5, 8])
def test_multispectral_tiff_is_refused_in_plain_words(tmp_path, bands):
    import tifffile
    path = tmp_path / f"ms{bands}.tif"
    tifffile.imwrite(path, np.zeros((16, 20, bands), np.uint8), photometric="minisblack", planarconfig="contig")
    if bands == 2:
        # Pillow 13.0 here reads a 2-sample TIFF as grey (accepted); the Pillow of the GPU machine's image
        # refuses it, and then the user must get the same plain words as for 5 or 8 bands.
        try:
            assert inspect_image(path).width == 20
        except ImageReadError as exc:
            assert exc.reason == "2-band image: only 1-, 3- and 4-channel images are supported"
        return
    with pytest.raises(ImageReadError) as err:
        inspect_image(path)
    assert err.value.reason == f"{bands}-band image: only 1-, 3- and 4-channel images are supported"


def test_a_large_file_is_not_held_back_by_small_ones():
    import threading
    import time

    from core.data.images import _PixelBudget
    budget = _PixelBudget(10)
    order = []

    def take(name, pixels, release):
        with budget.hold(pixels):
            order.append(name)
            release.wait()

    def queued(n):
        while len(budget._queue) < n:
            time.sleep(0.001)

    gates = {k: threading.Event() for k in "abc"}
    a = threading.Thread(target=take, args=("a", 6, gates["a"]))
    a.start()
    while budget.in_use < 6:
        time.sleep(0.001)
    big = threading.Thread(target=take, args=("big", 10, gates["b"]))
    big.start()
    queued(1)
    small = threading.Thread(target=take, args=("small", 2, gates["c"]))
    small.start()
    queued(2)
    assert order == ["a"] and budget.in_use == 6        # the small one would fit, but waits its turn
    gates["a"].set()
    gates["b"].set()
    gates["c"].set()
    for t in (a, big, small):
        t.join()
    assert order == ["a", "big", "small"] and budget.in_use == 0
