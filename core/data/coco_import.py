"""COCO JSON import: boxes of a COCO file into a project, as ground truth or as curated boxes.

Images are matched by ``file_name`` as other tools write it, categories by name; every entry that cannot be
used is reported with the reason and skipped, never attached to another image.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from core.data.paths import ImageMatcher
from core.errors import CocoError
from core.result_checks import plural
from core.store.project import Project
from core.store.repos.boxes import normalise_box

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
            n = len(self.unknown_images)
            lines.append(f"image not found: {plural(n, 'file name')} {'matches' if n == 1 else 'match'} no image of "
                         "the project: "
                         + ", ".join(self.unknown_images[:10]) + (" ..." if len(self.unknown_images) > 10 else ""))
        lines += [f"ambiguous: {m}: skipped" for m in self.ambiguous[:20]]
        if self.unknown_categories:
            lines.append("unknown categories (annotations skipped): " + ", ".join(self.unknown_categories))
        lines += [f"duplicate {m}: skipped" for m in self.duplicate_ids[:20]]
        lines += [f"invalid: {m}" for m in self.invalid[:20]]
        if len(self.invalid) > 20:
            lines.append(f"invalid: ... and {len(self.invalid) - 20} more")
        return "\n".join(lines)


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
    x, y, w, h = (_number(v) for v in bbox)
    if x is None or y is None or w is None or h is None:
        return f"{name}: bbox {str(list(bbox))[:60]} has a value that is not a finite number"
    if not _is_id(ann.get("image_id")):
        return f"{name}: image_id must be an integer, not {str(ann.get('image_id'))[:40]}"
    if not _is_id(ann.get("category_id")):
        return f"{name}: category_id must be an integer, not {str(ann.get('category_id'))[:40]}"
    score = ann.get("score")
    if score is not None and _number(score) is None:
        return f"{name}: score must be a finite number, not {str(score)[:40]}"
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
    cats = _read_categories(data, report)
    matcher = ImageMatcher(project.images.list(), lambda r: r.rel_path, project.image_root)
    coco_images, dup_images = _index_images(data, matcher, report)
    anns = data.get("annotations", [])
    # what the project already holds, read once: re-importing a file adds nothing twice
    existing = {_box_key(o.image_id, o.class_id, o.xyxy)
                for o in (project.boxes.gt() if as_ == "gt" else project.boxes.all())}
    placer = _Placer(cats, {c.name: c.id for c in project.classes()}, coco_images, dup_images,
                     _duplicate_annotation_ids(anns, report), report)
    pending = []
    for index, ann in enumerate(anns):
        placed = placer.place(ann, index)
        if placed is None:
            continue
        rec, xyxy, cid, score = placed
        key = _box_key(rec.id, cid, xyxy)
        if key in existing:
            report.duplicates += 1
            continue
        pending.append((rec.id, xyxy, cid) if as_ == "gt" else (rec.id, xyxy, cid, _source(ann), score))
        existing.add(key)
    # one transaction: a file lands whole or not at all, and 100k boxes take seconds, not minutes
    report.added = project.boxes.add_gt_many(pending) if as_ == "gt" else project.boxes.add_many(pending)
    report.unknown_categories = sorted(placer.unknown_cats)
    return report


def _read_categories(data: dict, report: CocoImportReport) -> dict[object, str]:
    """COCO category id -> name; malformed or contradicting entries are reported (the first name wins)."""
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
    return cats


def _duplicate_annotation_ids(anns: list, report: CocoImportReport) -> set:
    """Annotation ids used more than once (reported): none of their annotations is imported."""
    ann_ids: dict[object, int] = {}
    for ann in anns:
        if isinstance(ann, dict) and _is_id(ann.get("id")):
            ann_ids[ann["id"]] = ann_ids.get(ann["id"], 0) + 1
    dup_anns = {k for k, n in ann_ids.items() if n > 1}
    for k in sorted(dup_anns, key=str):
        report.duplicate_ids.append(f"annotation id {k} ({ann_ids[k]} annotations)")
    return dup_anns


def _source(ann: dict) -> str:
    """The box source an annotation exported by us carries in its attributes; else 'imported'."""
    attrs = ann.get("attributes")
    source = attrs.get("source") if isinstance(attrs, dict) else None
    return source if source in ("manual", "proposal", "prediction", "edited", "imported") else "imported"


@dataclass
class _Placer:
    """Finds the project image, class and box of each annotation, or counts why it cannot."""
    cats: dict[object, str]                       # COCO category id -> name
    class_ids: dict[str, int]                     # project class name -> id
    coco_images: dict                             # COCO image id -> (project image or None, reason)
    dup_images: set
    dup_anns: set
    report: CocoImportReport
    unknown_cats: set[str] = field(default_factory=set)

    def place(self, ann, index: int) -> tuple | None:
        """(project image, xyxy, class id, score), or None with the reason counted in the report."""
        report = self.report
        checked = _check_annotation(ann, index)
        if isinstance(checked, str):
            report.invalid.append(checked)
            report.skip("invalid")
            return None
        (x, y, w, h), img_key, cat_key, score = checked
        name = _ann_name(ann, index)
        if ann.get("id") in self.dup_anns or img_key in self.dup_images:
            report.skip("duplicate id")
            return None
        if img_key not in self.coco_images:
            report.invalid.append(f"{name}: image_id {img_key} is not in 'images'")
            report.skip("invalid")
            return None
        rec, why = self.coco_images[img_key]
        if rec is None:
            report.skip(why)         # the file name is reported once, with the images
            return None
        cat_name = self.cats.get(cat_key)
        if cat_name is None or cat_name not in self.class_ids:
            self.unknown_cats.add(str(cat_name if cat_name is not None else f"id {cat_key}"))
            report.skip("unknown category")
            return None
        try:
            xyxy = normalise_box((x, y, x + w, y + h), rec.width, rec.height)
        except ValueError as exc:
            report.invalid.append(f"{name}: {exc}")
            report.skip("invalid")
            return None
        return rec, xyxy, self.class_ids[cat_name], score
