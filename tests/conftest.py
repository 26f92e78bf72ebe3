"""Shared fixtures: small image folders with the awkward cases users have, and projects over them."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_image(path: Path, size=(64, 48), color=(120, 160, 90), square=None, fmt=None, exif_orientation=None) -> Path:
    """Write a small image; ``square`` = (x0, y0, x1, y1, rgb) paints a patch to locate later."""
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.zeros((size[1], size[0], 3), np.uint8)
    a[:] = color
    if square is not None:
        x0, y0, x1, y1, rgb = square
        a[y0:y1, x0:x1] = rgb
    img = Image.fromarray(a)
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[274] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    img.save(path, format=fmt, **kwargs)
    return path


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """root/site (3 images, one EXIF-rotated, one unicode name), root/no_site (3), plus bad files."""
    return make_image_folder(tmp_path / "images")


def make_image_folder(root: Path) -> Path:
    """The ``image_folder`` fixture's files, written under ``root``."""
    make_image(root / "site" / "a.jpg", square=(10, 10, 30, 30, (255, 0, 0)))
    make_image(root / "site" / "sub" / "b.png", square=(20, 5, 40, 25, (255, 0, 0)))
    # stored 64x48 landscape, EXIF 6 = rotate 90 degrees clockwise for display -> 48x64
    make_image(root / "site" / "rotated.jpg", exif_orientation=6)
    make_image(root / "site" / "tour_été_📡.jpg")
    for i in range(3):
        make_image(root / "no_site" / f"n{i}.png", color=(60 + 20 * i, 90, 60))
    (root / "site" / "notes.txt").write_text("not an image")
    (root / "no_site" / "text.png").write_text("a text file with an image name")
    (root / "no_site" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    good = (root / "site" / "a.jpg").read_bytes()
    (root / "site" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (root / "empty_class").mkdir()
    return root


@pytest.fixture
def project(tmp_path: Path, image_folder: Path):
    from core.data.importer import import_images
    from core.store.project import Project

    p = Project.create(tmp_path / "proj.dips", image_folder)
    import_images(p)
    yield p
    p.close()
