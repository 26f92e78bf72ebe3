"""Writes the demo data set: images, site masks and COCO ground truth."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.atomic_io import write_text_atomic

from .render import _STREAM, is_site_index, mask_box, render_demo_image

CLASSES: tuple[str, str] = ("site", "no_site")


@dataclass(frozen=True)
class DemoInfo:
    """Where ``write_demo`` put things. ``classes`` are folder names = COCO category names."""

    root: Path
    image_dir: Path
    gt_path: Path
    n_images: int
    classes: tuple[str, ...]
    mask_dir: Path | None = None


def write_demo(out_dir: Path, n_images: int = 240, size: tuple[int, int] = (640, 480), seed: int = 0,
               site_fraction: float = 0.5, progress: Callable[[int, int], None] | None = None) -> DemoInfo:
    """Write the demo data set under ``out_dir`` and return where everything is.

    ``size`` is (width, height) px. Images go to ``images/<class>/<class>_NNNN.jpg``, site masks to
    ``masks/site/site_NNNN.png``, boxes to ``ground_truth.json`` (COCO, ``file_name`` relative to
    ``images/``, bbox ``[x, y, w, h]`` in pixels). Re-running into the same folder replaces the demo's
    own files and removes stale ones left by a larger earlier run. ``progress(done, total)`` is
    called after every image.
    """
    w, h = (int(v) for v in size)
    _check_demo_args(n_images, w, h, site_fraction, seed)
    root = Path(out_dir)
    image_dir = root / "images"
    mask_dir = root / "masks" / "site"
    for d in (image_dir / "site", image_dir / "no_site", mask_dir):
        d.mkdir(parents=True, exist_ok=True)

    images, annotations = [], []
    written: set[Path] = set()
    counts = {"site": 0, "no_site": 0}
    for i in range(n_images):
        site = is_site_index(i, site_fraction)
        cls = "site" if site else "no_site"
        counts[cls] += 1
        name = f"{cls}_{counts[cls]:04d}"
        rgb, mask = render_demo_image(seed, i, (w, h), site)
        written.add(_write_jpeg(image_dir / cls / f"{name}.jpg", rgb, seed, i))
        image_id = i + 1
        images.append({"id": image_id, "file_name": f"{cls}/{name}.jpg", "width": w, "height": h})
        if site:
            box = mask_box(mask) if mask is not None else None
            if box is None:  # cannot happen with the fitted camera; never write an empty site
                raise RuntimeError(f"demo: image {i} ({name}) has no visible site")
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "bbox": box, "area": box[2] * box[3], "iscrowd": 0})
            ok, png = cv2.imencode(".png", mask)
            mpath = mask_dir / f"{name}.png"
            mpath.write_bytes(png.tobytes())
            written.add(mpath)
        if progress is not None:
            progress(i + 1, n_images)
    _remove_stale(written, (image_dir / "site", image_dir / "no_site", mask_dir))

    coco = {
        "info": {"description": "DiPS Studio synthetic demo: drone views of cell-tower sites",
                 "version": "1", "seed": int(seed), "site_fraction": float(site_fraction)},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "site", "supercategory": "tower_site"},
                       {"id": 2, "name": "no_site", "supercategory": "tower_site"}],
    }
    gt_path = root / "ground_truth.json"
    write_text_atomic(gt_path, json.dumps(coco, indent=1))
    return DemoInfo(root=root, image_dir=image_dir, gt_path=gt_path, n_images=n_images,
                    classes=CLASSES, mask_dir=mask_dir)


def _check_demo_args(n_images: int, w: int, h: int, site_fraction: float, seed: int) -> None:
    """ValueError naming the first argument ``write_demo`` cannot use."""
    if n_images < 1:
        raise ValueError(f"demo: n_images must be >= 1, got {n_images}")
    if w < 64 or h < 48:
        raise ValueError(f"demo: image size must be at least 64x48 px, got {w}x{h}")
    if not 0.0 <= site_fraction <= 1.0:
        raise ValueError(f"demo: site_fraction must be in [0, 1], got {site_fraction}")
    if seed < 0:
        raise ValueError(f"demo: seed must be >= 0, got {seed}")


def _write_jpeg(path: Path, rgb: np.ndarray, seed: int, index: int) -> Path:
    """Write ``rgb`` as JPEG at a quality that varies per image (78-95), like photos from several cameras."""
    quality = int(np.random.default_rng([_STREAM, int(seed), index, 1]).integers(78, 96))
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"demo: could not encode {path.name}")
    path.write_bytes(buf.tobytes())
    return path


_STALE = re.compile(r"^(site|no_site)_\d{4,}\.(jpg|png)$")


def _remove_stale(written: set[Path], folders: tuple[Path, ...]) -> None:
    """Remove the demo's own files that this run did not write (left by a larger earlier run)."""
    for d in folders:
        for p in d.iterdir():
            if p not in written and _STALE.match(p.name):
                p.unlink()
