"""Every format and orientation a drone folder throws at us reads the same way everywhere."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

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
