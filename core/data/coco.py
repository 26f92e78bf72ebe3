"""COCO JSON export and import.

Export follows what the careful exporters do: every image listed (also those without
boxes), stable 1-based category ids (the project's class ids, which never change),
unique annotation ids, float ``[x, y, w, h]`` clamped to the image, ``area = w*h``,
``iscrowd = 0``, ``score`` on machine boxes, our extras under ``attributes``, and
``file_name`` relative to the image root. Coordinates are rounded to 0.01 px. Files are
written atomically (``core.atomic_io``), with the permissions the user's umask gives a new file.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.atomic_io import atomic_write
from core.data.paths import ImageMatcher
from core.errors import CocoError
from core.store.project import Project
from core.store.repos.boxes import normalise_box

# "accepted": curated boxes that began as a predicted box an inspector accepted
BOX_KINDS = ("curated", "accepted", "predictions", "proposals", "all")
# Images per block an export reads at once: bounds its memory; under SQLite's old 999-parameter limit for IN (...).
EXPORT_BLOCK = 900


@dataclass
class CocoExportReport:
    images: int = 0
    annotations: int = 0
    skipped: list[str] = field(default_factory=list)


# reasons an annotation is not imported, in the order the report lists them
SKIP_REASONS = ("invalid", "image not found", "ambiguous", "unknown category", "duplicate id")


@dataclass
class CocoImportReport:
    added: int = 0
    duplicates: int = 0                                                  # already present: not added twice
    unknown_images: list[str] = field(default_factory=list)              # file names no project image matches
    ambiguous: list[str] = field(default_factory=list)                   # 'NAME matches N images (a, b)'
    unknown_categories: list[str] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)               # 'image id 1 (a.jpg, a.png)'
    invalid: list[str] = field(default_factory=list)                     # one line per entry, naming it
    skipped: dict[str, int] = field(default_factory=dict)                # reason -> annotations not imported

    def skip(self, reason: str, n: int = 1) -> None:
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + n

    def counts(self) -> dict[str, int]:
        """Annotations per outcome: added, already present, and each reason in ``SKIP_REASONS``."""
        return {"added": self.added, "already present": self.duplicates,
                **{r: self.skipped.get(r, 0) for r in SKIP_REASONS}}

    def summary(self) -> str:
        lines = [f"added {self.added} boxes, {self.duplicates} already present"]
        skipped = [f"{r} {self.skipped[r]}" for r in SKIP_REASONS if self.skipped.get(r)]
        if skipped:
            lines.append("annotations skipped: " + ", ".join(skipped))
        if self.unknown_images:
            lines.append(f"image not found: {len(self.unknown_images)} file name(s) match no image of the project: "
                         + ", ".join(self.unknown_images[:10]) + (" ..." if len(self.unknown_images) > 10 else ""))
        lines += [f"ambiguous: {m}: skipped" for m in self.ambiguous[:20]]
        if self.unknown_categories:
            lines.append("unknown categories (annotations skipped): " + ", ".join(self.unknown_categories))
        lines += [f"duplicate {m}: skipped" for m in self.duplicate_ids[:20]]
        lines += [f"invalid: {m}" for m in self.invalid[:20]]
        if len(self.invalid) > 20:
            lines.append(f"invalid: ... and {len(self.invalid) - 20} more")
        return "\n".join(lines)


def _bbox(xyxy, width: int, height: int) -> list[float] | None:
    x0, y0, x1, y1 = xyxy
    x0, x1 = max(0.0, min(x0, x1)), min(float(width), max(x0, x1))
    y0, y1 = max(0.0, min(y0, y1)), min(float(height), max(y0, y1))
    x0, y0, x1, y1 = (round(float(v), 2) for v in (x0, y0, x1, y1))   # 0.01 px: finer is noise
    if x1 <= x0 or y1 <= y0:
        return None
    return [x0, y0, round(x1 - x0, 2), round(y1 - y0, 2)]


def build_coco(project: Project, boxes: str = "curated", *, reviewed_only: bool = False, split: str | None = None,
               leave_out_classes: tuple[str, ...] | list[str] = ()) -> tuple[dict, CocoExportReport]:
    """The COCO dict of the project and what was left out.

    ``boxes``: one of BOX_KINDS. ``reviewed_only``: only images marked reviewed; ``split``: only the images
    of that split (None: all). ``leave_out_classes``: class names that are no category (e.g. the background
    classes): their boxes are left out and reported; their images stay listed.
    """
    head, annotations, report = coco_parts(project, boxes, reviewed_only=reviewed_only, split=split,
                                           leave_out_classes=leave_out_classes)
    anns = list(annotations)
    coco = {"info": head["info"], "licenses": head["licenses"], "images": head["images"], "annotations": anns,
            "categories": head["categories"]}
    return coco, report


def coco_parts(project: Project, boxes: str = "curated", *, reviewed_only: bool = False, split: str | None = None,
               leave_out_classes: tuple[str, ...] | list[str] = ()
               ) -> tuple[dict, Iterator[dict], CocoExportReport]:
    """``build_coco`` in parts: the COCO dict without its annotations, the annotations as a generator (made
    image by image as it is consumed, so an export never holds them all), and the report, complete once the
    generator is exhausted. Options as ``build_coco``."""
    if boxes not in BOX_KINDS:
        raise ValueError(f"boxes must be one of {BOX_KINDS}, not {boxes!r}")
    report = CocoExportReport()
    all_classes = project.classes()
    classes = [c for c in all_classes if c.name not in set(leave_out_classes)]
    names = {c.id: c.name for c in classes}
    all_names = {c.id: c.name for c in all_classes}
    images = [img for img in project.images.list()
              if (not reviewed_only or img.review == "verified") and (split is None or img.split == split)]
    # Read block by block, grouped by image: one query per kind and block instead of one per image, and never
    # every box of a large project at once (600,000 box records held for 100,000 images: 0.5 GB).
    curated: dict[int, list] = {}
    proposals: dict[int, list] = {}
    predicted: dict[int, tuple] = {}

    def read_block(ids: list[int]) -> None:
        curated.clear(), proposals.clear(), predicted.clear()
        if boxes in ("curated", "accepted", "all"):
            curated.update(_by_image(project.boxes.all(ids)))
        if boxes in ("proposals", "all"):
            proposals.update(_by_image(project.proposals.all(ids)))
        if boxes in ("predictions", "all"):
            predicted.update(project.maps.latest_boxes_by_image(ids))

    def annotation(img, class_id, xyxy, extra_attrs: dict, score: float | None) -> dict | None:
        cid = class_id if class_id in all_names else img.class_id
        if cid in all_names and cid not in names:
            report.skipped.append(f"{img.rel_path}: box {tuple(round(v, 1) for v in xyxy)} is of class "
                                  f"{all_names[cid]}, not exported as a category")
            return None
        if cid not in names:
            report.skipped.append(f"{img.rel_path}: box {tuple(round(v, 1) for v in xyxy)} has no class")
            return None
        bbox = _bbox(xyxy, img.width, img.height)
        if bbox is None:
            report.skipped.append(f"{img.rel_path}: box {tuple(xyxy)} has no area inside the image")
            return None
        ann = {"id": 0, "image_id": img.id, "category_id": cid, "bbox": bbox,
               "area": round(bbox[2] * bbox[3], 4), "iscrowd": 0}
        if score is not None:
            ann["score"] = float(score)
        ann["attributes"] = {"review_state": img.review, **extra_attrs}
        return ann

    def of_image(img) -> Iterator[dict | None]:
        if boxes in ("curated", "accepted", "all"):
            for b in curated.get(img.id, ()):
                if boxes == "accepted" and b.source != "prediction":
                    continue
                machine = b.source in ("proposal", "prediction")
                yield annotation(img, b.class_id, b.xyxy, {"kind": "curated", "source": b.source},
                                 b.score if machine or b.score is not None else None)
        if img.id in predicted:
            run_id, pred_boxes = predicted[img.id]
            for b in pred_boxes:
                yield annotation(img, img.class_id, b.xyxy, {"kind": "prediction", "source": "prediction",
                                                             "run": run_id}, b.score)
        if boxes in ("proposals", "all"):
            for p in proposals.get(img.id, ()):
                yield annotation(img, img.class_id, p.xyxy, {"kind": "proposal", "source": "proposal",
                                                             "rank": p.rank, "status": p.status,
                                                             "source_map": p.source_map}, p.score)

    def annotations() -> Iterator[dict]:
        for start in range(0, len(images), EXPORT_BLOCK):
            block = images[start:start + EXPORT_BLOCK]
            read_block([img.id for img in block])
            yield from numbered(block)

    def numbered(block) -> Iterator[dict]:
        for img in block:
            for ann in of_image(img):
                if ann is not None:
                    report.annotations += 1
                    ann["id"] = report.annotations
                    yield ann

    head = {
        "info": {"description": f"DiPS Studio export of {project.path.name}", "version": "1.0",
                 "date_created": datetime.now(UTC).isoformat(timespec="seconds"),
                 "boxes": boxes, "reviewed_only": reviewed_only, "split": split or "all"},
        "licenses": [],
        "images": [{"id": img.id, "file_name": img.rel_path, "width": img.width, "height": img.height,
                    "attributes": {"class": all_names.get(img.class_id), "split": img.split,
                                   "review_state": img.review, "flagged": img.flagged, "missing": img.missing}}
                   for img in images],
        "categories": [{"id": c.id, "name": c.name, "supercategory": ""} for c in sorted(classes, key=lambda c: c.id)],
    }
    report.images = len(images)
    return head, annotations(), report


def _by_image(records) -> dict[int, list]:
    out: dict[int, list] = {}
    for r in records:
        out.setdefault(r.image_id, []).append(r)
    return out


def write_json_atomic(obj: dict, path: Path) -> None:
    # Compact, in one call: json's C encoder runs only without indent, and is ~10x faster than the Python one
    # (100,000 images with 700,000 boxes: about two minutes indented).
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def export_coco(project: Project, out: Path, boxes: str = "curated", **options) -> CocoExportReport:
    """Write ``build_coco(project, boxes, **options)`` to ``out`` atomically, the annotations streamed in
    chunks as they are made (700,000 boxes held at once took 2 GB), each chunk by json's C encoder."""
    head, annotations, report = coco_parts(project, boxes, **options)
    with atomic_write(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(_compact(head)[:-1] + ',"annotations":[')
        first = True
        for chunk in _chunks(annotations):
            fh.write(("" if first else ",") + _compact(list(chunk))[1:-1])
            first = False
        fh.write("]}")
    return report


def _compact(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _chunks(items: Iterator[dict], n: int = 10_000) -> Iterator[list[dict]]:
    """Lists of ``n`` items (itertools.batched from Python 3.12 on)."""
    chunk: list[dict] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_coco(path: Path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CocoError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CocoError(f"{path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise CocoError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations", []), list):
        raise CocoError(f"{path}: not a COCO file (needs 'images' and 'annotations' lists)")
    return data


def _box_key(image_id: int, class_id, xyxy) -> tuple:
    # the same box of the same class, to 1/1000 px: an exported file re-imported is recognised despite the
    # float round trip through (x, y, w, h)
    return (image_id, class_id, *(round(v * 1000) for v in xyxy))


def _is_id(value) -> bool:
    """COCO ids are integers; some tools write strings. Lists, floats, booleans and null are not ids."""
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value != "")


def _number(value) -> float | None:
    """A finite JSON number, else None (strings, booleans, NaN and Infinity are not coordinates)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _ann_name(ann, index: int) -> str:
    ann_id = ann.get("id") if isinstance(ann, dict) else None
    return f"annotation {ann_id}" if _is_id(ann_id) else f"annotation #{index + 1} (no id)"


def _check_annotation(ann, index: int) -> tuple[tuple[float, float, float, float], object, object, float | None] | str:
    """(x, y, w, h), image id, category id, score; or the reason it is invalid."""
    if not isinstance(ann, dict):
        return f"annotation #{index + 1}: not an object ({str(ann)[:40]})"
    name = _ann_name(ann, index)
    bbox = ann.get("bbox")
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        return f"{name}: bbox must be a list of 4 numbers [x, y, w, h], not {str(bbox)[:60]}"
    nums = [_number(v) for v in bbox]
    if any(v is None for v in nums):
        return f"{name}: bbox {str(list(bbox))[:60]} has a value that is not a finite number"
    if not _is_id(ann.get("image_id")):
        return f"{name}: image_id must be an integer, not {str(ann.get('image_id'))[:40]}"
    if not _is_id(ann.get("category_id")):
        return f"{name}: category_id must be an integer, not {str(ann.get('category_id'))[:40]}"
    score = ann.get("score")
    if score is not None and _number(score) is None:
        return f"{name}: score must be a finite number, not {str(score)[:40]}"
    x, y, w, h = nums
    if w <= 0 or h <= 0:
        return f"{name}: empty box {list(bbox)} (width and height must be > 0)"
    return (x, y, w, h), ann["image_id"], ann["category_id"], (None if score is None else float(score))


def _index_images(data: dict, matcher: ImageMatcher, report: CocoImportReport) -> tuple[dict, set]:
    """COCO image id -> project image (or None: reported), and the ids used by more than one image entry."""
    entries: dict[object, list[dict]] = {}
    for k, im in enumerate(data["images"]):
        if not isinstance(im, dict) or not _is_id(im.get("id")) or not isinstance(im.get("file_name"), str):
            report.invalid.append(f"image entry #{k + 1}: needs an integer id and a file_name: {str(im)[:80]}")
            continue
        entries.setdefault(im["id"], []).append(im)
    out, dup = {}, set()
    for image_id, ims in entries.items():
        if len(ims) > 1:       # CVAT has written image1.jpg and image1.png under one id: boxes could go to either
            dup.add(image_id)
            report.duplicate_ids.append(f"image id {image_id} ({', '.join(str(i['file_name']) for i in ims)})")
            continue
        found = matcher.match(ims[0]["file_name"])
        if found.item is None and found.candidates:
            more = ", ..." if len(found.candidates) > 4 else ""
            report.ambiguous.append(f"{ims[0]['file_name']} matches {len(found.candidates)} images "
                                    f"({', '.join(found.candidates[:4])}{more})")
        elif found.item is None:
            report.unknown_images.append(str(ims[0]["file_name"]))
        out[image_id] = (found.item, "ambiguous" if found.candidates else "image not found")
    return out, dup


def import_coco(project: Project, path: Path, as_: str = "curated") -> CocoImportReport:
    """Boxes of a COCO file into the project: ``gt`` (kept apart, for evaluation) or ``curated``.

    Images are matched by ``file_name`` as other tools write it (``core.data.paths.ImageMatcher``: Windows
    separators, absolute paths inside the image root, the root folder's name in front, a unique base name);
    categories by name. Entries with duplicate image or annotation ids, wrong types or non-finite numbers are
    reported and skipped, never attached to another image. Re-importing the same file adds nothing twice.
    Raises ``CocoError`` when the file cannot be used at all.
    """
    if as_ not in ("gt", "curated"):
        raise ValueError(f"as_ must be 'gt' or 'curated', not {as_!r}")
    data = load_coco(path)
    report = CocoImportReport()
    cats: dict[object, str] = {}
    for k, c in enumerate(data.get("categories") or []):
        if isinstance(c, dict) and _is_id(c.get("id")) and isinstance(c.get("name"), (str, int)) \
                and not isinstance(c.get("name"), bool):
            if c["id"] in cats and cats[c["id"]] != str(c["name"]):
                report.invalid.append(f"category id {c['id']} names both {cats[c['id']]} and {c['name']}; "
                                      "the first is used")
                continue
            cats[c["id"]] = str(c["name"])
        else:
            report.invalid.append(f"category entry #{k + 1}: needs an integer id and a name: {str(c)[:80]}")
    class_ids = {c.name: c.id for c in project.classes()}
    matcher = ImageMatcher(project.images.list(), lambda r: r.rel_path, project.image_root)
    coco_images, dup_images = _index_images(data, matcher, report)

    anns = data.get("annotations", [])
    ann_ids: dict[object, int] = {}
    for ann in anns:
        if isinstance(ann, dict) and _is_id(ann.get("id")):
            ann_ids[ann["id"]] = ann_ids.get(ann["id"], 0) + 1
    dup_anns = {k for k, n in ann_ids.items() if n > 1}
    for k in sorted(dup_anns, key=str):
        report.duplicate_ids.append(f"annotation id {k} ({ann_ids[k]} annotations)")

    # what the project already holds, read once: re-importing a file adds nothing twice
    existing = {_box_key(o.image_id, o.class_id, o.xyxy)
                for o in (project.boxes.gt() if as_ == "gt" else project.boxes.all())}
    unknown_cats: set[str] = set()
    pending = []
    for index, ann in enumerate(anns):
        checked = _check_annotation(ann, index)
        if isinstance(checked, str):
            report.invalid.append(checked)
            report.skip("invalid")
            continue
        (x, y, w, h), img_key, cat_key, score = checked
        name = _ann_name(ann, index)
        if ann.get("id") in dup_anns or img_key in dup_images:
            report.skip("duplicate id")
            continue
        if img_key not in coco_images:
            report.invalid.append(f"{name}: image_id {img_key} is not in 'images'")
            report.skip("invalid")
            continue
        rec, why = coco_images[img_key]
        if rec is None:
            report.skip(why)         # the file name is reported once, with the images
            continue
        cat_name = cats.get(cat_key)
        if cat_name is None or cat_name not in class_ids:
            unknown_cats.add(str(cat_name if cat_name is not None else f"id {cat_key}"))
            report.skip("unknown category")
            continue
        try:
            xyxy = normalise_box((x, y, x + w, y + h), rec.width, rec.height)
        except ValueError as exc:
            report.invalid.append(f"{name}: {exc}")
            report.skip("invalid")
            continue
        cid = class_ids[cat_name]
        key = _box_key(rec.id, cid, xyxy)
        if key in existing:
            report.duplicates += 1
            continue
        if as_ == "gt":
            pending.append((rec.id, xyxy, cid))
        else:
            attrs = ann.get("attributes") if isinstance(ann.get("attributes"), dict) else {}
            source = attrs.get("source") if attrs.get("source") in ("manual", "proposal", "prediction",
                                                                       "edited", "imported") else "imported"
            pending.append((rec.id, xyxy, cid, source, score))
        existing.add(key)
    # one transaction: a file lands whole or not at all, and 100k boxes take seconds, not minutes
    report.added = project.boxes.add_gt_many(pending) if as_ == "gt" else project.boxes.add_many(pending)
    report.unknown_categories = sorted(unknown_cats)
    return report
