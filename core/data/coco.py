"""COCO JSON export and import.

Export follows what the careful exporters do: every image listed (also those without
boxes), stable 1-based category ids (the project's class ids, which never change),
unique annotation ids, float ``[x, y, w, h]`` clamped to the image, ``area = w*h``,
``iscrowd = 0``, ``score`` on machine boxes, our extras under ``attributes``, and
``file_name`` relative to the image root. Files are written atomically.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from core.errors import CocoError  # noqa: F401 - raised here; importable from here as before
from core.store.project import Project
from core.store.repos.boxes import normalise_box

BOX_KINDS = ("curated", "predictions", "proposals", "all")


@dataclass
class CocoExportReport:
    images: int = 0
    annotations: int = 0
    skipped: list[str] = field(default_factory=list)


@dataclass
class CocoImportReport:
    added: int = 0
    duplicates: int = 0
    unknown_images: list[str] = field(default_factory=list)
    unknown_categories: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"added {self.added} boxes, {self.duplicates} already present"]
        if self.unknown_images:
            lines.append(f"{len(self.unknown_images)} image(s) not in the project: "
                         + ", ".join(self.unknown_images[:10]) + (" ..." if len(self.unknown_images) > 10 else ""))
        if self.unknown_categories:
            lines.append("unknown categories (annotations skipped): " + ", ".join(self.unknown_categories))
        lines += [f"invalid: {m}" for m in self.invalid[:20]]
        return "\n".join(lines)


def _bbox(xyxy, width: int, height: int) -> list[float] | None:
    x0, y0, x1, y1 = xyxy
    x0, x1 = max(0.0, min(x0, x1)), min(float(width), max(x0, x1))
    y0, y1 = max(0.0, min(y0, y1)), min(float(height), max(y0, y1))
    if x1 <= x0 or y1 <= y0:
        return None
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


def build_coco(project: Project, boxes: str = "curated") -> tuple[dict, CocoExportReport]:
    if boxes not in BOX_KINDS:
        raise ValueError(f"boxes must be one of {BOX_KINDS}, not {boxes!r}")
    report = CocoExportReport()
    classes = project.classes()
    names = {c.id: c.name for c in classes}
    images = project.images.list()
    out_images, anns = [], []

    def add(img, class_id, xyxy, extra_attrs: dict, score: float | None) -> None:
        cid = class_id if class_id in names else img.class_id
        if cid not in names:
            report.skipped.append(f"{img.rel_path}: box {tuple(round(v, 1) for v in xyxy)} has no class")
            return
        bbox = _bbox(xyxy, img.width, img.height)
        if bbox is None:
            report.skipped.append(f"{img.rel_path}: box {tuple(xyxy)} has no area inside the image")
            return
        ann = {"id": len(anns) + 1, "image_id": img.id, "category_id": cid, "bbox": bbox,
               "area": bbox[2] * bbox[3], "iscrowd": 0}
        if score is not None:
            ann["score"] = float(score)
        ann["attributes"] = {"review_state": img.review, **extra_attrs}
        anns.append(ann)

    for img in images:
        out_images.append({"id": img.id, "file_name": img.rel_path, "width": img.width, "height": img.height,
                           "attributes": {"class": names.get(img.class_id), "split": img.split,
                                          "review_state": img.review, "missing": img.missing}})
        if boxes in ("curated", "all"):
            for b in project.boxes.list(img.id):
                machine = b.source in ("proposal", "prediction")
                add(img, b.class_id, b.xyxy, {"kind": "curated", "source": b.source},
                    b.score if machine or b.score is not None else None)
        if boxes in ("predictions", "all"):
            pred = project.maps.prediction(img.id)
            if pred is not None:
                for b in pred.boxes:
                    add(img, img.class_id, b.xyxy, {"kind": "prediction", "source": "prediction",
                                                    "run": pred.run_id}, b.score)
        if boxes in ("proposals", "all"):
            for p in project.proposals.list(img.id):
                add(img, img.class_id, p.xyxy, {"kind": "proposal", "source": "proposal", "rank": p.rank,
                                                "status": p.status, "source_map": p.source_map}, p.score)
    coco = {
        "info": {"description": f"DiPS Studio export of {project.path.name}", "version": "1.0",
                 "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "boxes": boxes},
        "licenses": [],
        "images": out_images,
        "annotations": anns,
        "categories": [{"id": c.id, "name": c.name, "supercategory": ""} for c in sorted(classes, key=lambda c: c.id)],
    }
    report.images, report.annotations = len(out_images), len(anns)
    return coco, report


def write_json_atomic(obj: dict, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def export_coco(project: Project, out: Path, boxes: str = "curated") -> CocoExportReport:
    coco, report = build_coco(project, boxes)
    write_json_atomic(coco, out)
    return report


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


def import_coco(project: Project, path: Path, as_: str = "curated") -> CocoImportReport:
    """Boxes of a COCO file into the project: ``gt`` (kept apart, for evaluation) or ``curated``.

    Images are matched by ``file_name`` relative to the image root (then by unique base
    name); categories by name. Re-importing the same file adds nothing twice.
    """
    if as_ not in ("gt", "curated"):
        raise ValueError(f"as_ must be 'gt' or 'curated', not {as_!r}")
    data = load_coco(path)
    report = CocoImportReport()
    cats = {}
    for c in data.get("categories", []):
        if isinstance(c, dict) and "id" in c and "name" in c:
            cats[c["id"]] = str(c["name"])
    class_ids = {c.name: c.id for c in project.classes()}
    images = project.images.list()
    by_rel = {i.rel_path: i for i in images}
    by_base: dict[str, list] = {}
    for i in images:
        by_base.setdefault(i.name, []).append(i)
    coco_images = {}
    for im in data["images"]:
        if not isinstance(im, dict) or "id" not in im or "file_name" not in im:
            report.invalid.append(f"image entry without id/file_name: {str(im)[:80]}")
            continue
        fn = Path(str(im["file_name"])).as_posix().lstrip("./")
        rec = by_rel.get(fn)
        if rec is None:
            cands = by_base.get(fn.rsplit("/", 1)[-1], [])
            rec = cands[0] if len(cands) == 1 else None
        if rec is None:
            report.unknown_images.append(fn)
        coco_images[im["id"]] = rec
    # what the project already holds, read once: re-importing a file adds nothing twice
    existing = {_box_key(o.image_id, o.class_id, o.xyxy)
                for o in (project.boxes.gt() if as_ == "gt" else project.boxes.all())}
    unknown_cats: set[str] = set()
    pending = []
    for ann in data.get("annotations", []):
        try:
            x, y, w, h = (float(v) for v in ann["bbox"])
            img_key, cat_key = ann["image_id"], ann["category_id"]
        except (KeyError, TypeError, ValueError):
            report.invalid.append(f"annotation {ann.get('id', '?') if isinstance(ann, dict) else '?'}: bad bbox/ids")
            continue
        if img_key not in coco_images:
            report.invalid.append(f"annotation {ann.get('id', '?')}: image_id {img_key} not in 'images'")
            continue
        rec = coco_images[img_key]
        if rec is None:
            continue  # already reported as an unknown image
        name = cats.get(cat_key)
        if name is None or name not in class_ids:
            unknown_cats.add(str(name if name is not None else f"id {cat_key}"))
            continue
        if w <= 0 or h <= 0:
            report.invalid.append(f"annotation {ann.get('id', '?')}: empty box {ann['bbox']}")
            continue
        try:
            xyxy = normalise_box((x, y, x + w, y + h), rec.width, rec.height)
        except ValueError as exc:
            report.invalid.append(f"annotation {ann.get('id', '?')}: {exc}")
            continue
        cid = class_ids[name]
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
            pending.append((rec.id, xyxy, cid, source, ann.get("score")))
        existing.add(key)
    # one transaction: a file lands whole or not at all, and 100k boxes take seconds, not minutes
    report.added = project.boxes.add_gt_many(pending) if as_ == "gt" else project.boxes.add_many(pending)
    report.unknown_categories = sorted(unknown_cats)
    return report
