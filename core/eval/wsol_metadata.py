"""Read a wsolevaluation metadata folder (CUB / ILSVRC box splits).

Layout (one record per line, comma separated, no header; blank lines are skipped):

* ``image_ids.txt``      ``path``                       - the evaluation order (required)
* ``class_labels.txt``   ``path,label``                 - integer class (required)
* ``localization.txt``   ``path,x0,y0,x1,y1``           - one line per GT box, image pixels (required)
* ``image_sizes.txt``    ``path,width,height``          - optional

Paths may themselves contain commas: the numeric fields are taken from the right. Errors name the
file and the 1-based line number. Mask-style localisation files (OpenImages: ``path,mask,ignore``)
are not read here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.result_checks import plural


class MetadataError(ValueError):
    """A metadata file is missing or has a malformed line."""


@dataclass
class WSOLMetadata:
    """Parsed metadata; boxes are xyxy floats in original image pixels."""
    root: Path
    image_ids: list[str]
    class_labels: dict[str, int]
    boxes: dict[str, list[tuple[float, float, float, float]]]
    image_sizes: dict[str, tuple[int, int]] | None = None   # path -> (width, height)

    def gt_boxes(self, ids: list[str] | None = None) -> list[np.ndarray]:
        """GT boxes ``[K, 4]`` per image, in ``ids`` order (default: ``image_ids``)."""
        ids = self.image_ids if ids is None else ids
        missing = [i for i in ids if i not in self.boxes]
        if missing:
            raise MetadataError(f"{self.root / 'localization.txt'}: no box for {plural(len(missing), 'image')}, "
                                f"first {missing[0]!r}")
        return [np.asarray(self.boxes[i], dtype=np.float64).reshape(-1, 4) for i in ids]

    def labels(self, ids: list[str] | None = None) -> np.ndarray:
        ids = self.image_ids if ids is None else ids
        return np.array([self.class_labels[i] for i in ids], dtype=np.int64)

    def sizes(self, ids: list[str] | None = None) -> list[tuple[int, int]] | None:
        if self.image_sizes is None:
            return None
        ids = self.image_ids if ids is None else ids
        missing = [i for i in ids if i not in self.image_sizes]
        if missing:
            raise MetadataError(f"{self.root / 'image_sizes.txt'}: no size for {missing[0]!r}")
        return [self.image_sizes[i] for i in ids]


def _lines(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MetadataError(f"{path}: file not found") from None
    except UnicodeDecodeError as e:
        raise MetadataError(f"{path}: not UTF-8 text ({e.reason})") from None
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line:
            yield n, line


def _split(path: Path, n: int, line: str, n_numbers: int, expected: str) -> tuple[str, list[str]]:
    parts = line.rsplit(",", n_numbers)
    if len(parts) != n_numbers + 1 or not parts[0].strip():
        raise MetadataError(f"{path}:{n}: expected '{expected}', got {line!r}")
    return parts[0].strip(), [p.strip() for p in parts[1:]]


def _number(path: Path, n: int, text: str, what: str, integer: bool) -> float:
    try:
        v = float(text)
    except ValueError:
        raise MetadataError(f"{path}:{n}: {what} {text!r} is not a number") from None
    if not np.isfinite(v):
        raise MetadataError(f"{path}:{n}: {what} {text!r} is not finite")
    if integer and v != int(v):
        raise MetadataError(f"{path}:{n}: {what} {text!r} is not an integer")
    return int(v) if integer else v


def read_image_ids(path: Path) -> list[str]:
    ids, seen = [], set()
    for n, line in _lines(path):
        if line in seen:
            raise MetadataError(f"{path}:{n}: image {line!r} listed twice")
        seen.add(line)
        ids.append(line)
    return ids


def read_class_labels(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for n, line in _lines(path):
        image, (label,) = _split(path, n, line, 1, "path,label")
        out[image] = int(_number(path, n, label, "class label", integer=True))
    return out


def read_image_sizes(path: Path) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for n, line in _lines(path):
        image, (w, h) = _split(path, n, line, 2, "path,width,height")
        wi = int(_number(path, n, w, "width", integer=True))
        hi = int(_number(path, n, h, "height", integer=True))
        if wi <= 0 or hi <= 0:
            raise MetadataError(f"{path}:{n}: image size must be positive, got {wi}x{hi}")
        out[image] = (wi, hi)
    return out


def read_localization(path: Path) -> dict[str, list[tuple[float, float, float, float]]]:
    out: dict[str, list[tuple[float, float, float, float]]] = {}
    for n, line in _lines(path):
        if line.count(",") == 2:
            raise MetadataError(f"{path}:{n}: looks like a mask line (path,mask,ignore); "
                                f"only box lines 'path,x0,y0,x1,y1' are supported")
        image, nums = _split(path, n, line, 4, "path,x0,y0,x1,y1")
        x0, y0, x1, y1 = (_number(path, n, t, name, integer=False)
                          for t, name in zip(nums, ("x0", "y0", "x1", "y1"), strict=True))
        if x1 < x0 or y1 < y0:
            raise MetadataError(f"{path}:{n}: box needs x0 <= x1 and y0 <= y1, got {x0},{y0},{x1},{y1}")
        out.setdefault(image, []).append((x0, y0, x1, y1))
    return out


def read_wsol_metadata(folder: str | Path) -> WSOLMetadata:
    """Parse a metadata folder; checks every listed image has a label and at least one box."""
    root = Path(folder)
    if not root.is_dir():
        raise MetadataError(f"{root}: not a folder")
    ids = read_image_ids(root / "image_ids.txt")
    labels = read_class_labels(root / "class_labels.txt")
    boxes = read_localization(root / "localization.txt")
    sizes_path = root / "image_sizes.txt"
    sizes = read_image_sizes(sizes_path) if sizes_path.exists() else None
    for what, table, name in (("class label", labels, "class_labels.txt"), ("box", boxes, "localization.txt")):
        missing = [i for i in ids if i not in table]
        if missing:
            raise MetadataError(f"{root / name}: no {what} for {plural(len(missing), 'image')} of image_ids.txt, "
                                f"first {missing[0]!r}")
    return WSOLMetadata(root=root, image_ids=ids, class_labels=labels, boxes=boxes, image_sizes=sizes)
