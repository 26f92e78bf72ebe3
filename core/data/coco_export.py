"""COCO JSON export.

Export follows what the careful exporters do: every image listed (also those without
boxes), stable 1-based category ids (the project's class ids, which never change),
unique annotation ids, float ``[x, y, w, h]`` clamped to the image, ``area = w*h``,
``iscrowd = 0``, ``score`` on machine boxes, our extras under ``attributes``, and
``file_name`` relative to the image root. Coordinates are rounded to 0.01 px. Files are
written atomically (``core.atomic_io``), with the permissions the user's umask gives a new file.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import and_, func, select

from core.atomic_io import atomic_write
from core.store.project import Project
from core.store.schema import BoxRow, ClassRow, ImageRow, PredictedBoxRow, PredictionRow, ProposalRow

# "accepted": curated boxes that began as a predicted box an inspector accepted
BOX_KINDS = ("curated", "accepted", "predictions", "proposals", "all")
# Images per block an export reads at once: bounds its memory; under SQLite's old 999-parameter limit for IN (...).
EXPORT_BLOCK = 900


@dataclass
class CocoExportReport:
    images: int = 0
    annotations: int = 0
    skipped: list[str] = field(default_factory=list)


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
    all_names: dict[int | None, str] = {c.id: c.name for c in all_classes}
    images = [img for img in project.images.list()
              if (not reviewed_only or img.review == "verified") and (split is None or img.split == split)]
    maker = _Annotations(project, boxes, {c.id: c.name for c in classes}, all_names, report)
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
    return head, maker.numbered(images), report


class _Annotations:
    """Makes the COCO annotations of one export, image by image, and notes in ``report`` what it leaves out."""

    def __init__(self, project: Project, boxes: str, names: dict[int, str], all_names: dict[int | None, str],
                 report: CocoExportReport):
        self.project = project
        self.boxes, self.names, self.all_names, self.report = boxes, names, all_names, report
        self.curated: dict[int, list] = {}
        self.proposals: dict[int, list] = {}
        self.predicted: dict[int, tuple] = {}
        # "run": the training run the model came from (the training panel's number); "prediction_run": the
        # prediction run's own number, the one evaluate --prediction-run takes (core/run_names.py)
        self.training_run = ({r.id: r.training_run_id for r in project.maps.prediction_runs()}
                             if boxes in ("predictions", "all") else {})

    def read_block(self, ids: list[int]) -> None:
        """The boxes of the images ``ids``, grouped by image: one query per kind and block instead of one per
        image, and never every box of a large project at once (600,000 records for 100,000 images: 0.5 GB)."""
        p, kind = self.project, self.boxes
        self.curated = _by_image(p.boxes.all(ids)) if kind in ("curated", "accepted", "all") else {}
        self.proposals = _by_image(p.proposals.all(ids)) if kind in ("proposals", "all") else {}
        self.predicted = p.maps.latest_boxes_by_image(ids) if kind in ("predictions", "all") else {}

    def numbered(self, images) -> Iterator[dict]:
        """The annotations of ``images`` in order, with ids 1, 2, ... counted in the report."""
        for start in range(0, len(images), EXPORT_BLOCK):
            block = images[start:start + EXPORT_BLOCK]
            self.read_block([img.id for img in block])
            yield from self._numbered(block)

    def _numbered(self, images) -> Iterator[dict]:
        for img in images:
            for ann in self.of_image(img):
                if ann is not None:
                    self.report.annotations += 1
                    ann["id"] = self.report.annotations
                    yield ann

    def of_image(self, img) -> Iterator[dict | None]:
        if self.boxes in ("curated", "accepted", "all"):
            for b in self.curated.get(img.id, ()):
                if self.boxes == "accepted" and b.source != "prediction":
                    continue
                machine = b.source in ("proposal", "prediction")
                yield self.annotation(img, b.class_id, b.xyxy, {"kind": "curated", "source": b.source},
                                      b.score if machine or b.score is not None else None)
        if img.id in self.predicted:
            run_id, pred_boxes = self.predicted[img.id]
            for b in pred_boxes:
                yield self.annotation(img, img.class_id, b.xyxy,
                                      {"kind": "prediction", "source": "prediction",
                                       "run": self.training_run.get(run_id), "prediction_run": run_id,
                                       "status": b.status}, b.score)
        if self.boxes in ("proposals", "all"):
            for p in self.proposals.get(img.id, ()):
                yield self.annotation(img, img.class_id, p.xyxy, {"kind": "proposal", "source": "proposal",
                                                                  "rank": p.rank, "status": p.status,
                                                                  "source_map": p.source_map}, p.score)

    def annotation(self, img, class_id, xyxy, extra_attrs: dict, score: float | None) -> dict | None:
        """One annotation (id 0 until numbered), or None with the reason added to the report."""
        cid = class_id if class_id in self.all_names else img.class_id
        if cid in self.all_names and cid not in self.names:
            self.report.skipped.append(f"{img.rel_path}: box {tuple(round(v, 1) for v in xyxy)} is of class "
                                       f"{self.all_names[cid]}, not exported as a category")
            return None
        if cid not in self.names:
            self.report.skipped.append(f"{img.rel_path}: box {tuple(round(v, 1) for v in xyxy)} has no class")
            return None
        bbox = _bbox(xyxy, img.width, img.height)
        if bbox is None:
            self.report.skipped.append(f"{img.rel_path}: box {tuple(xyxy)} has no area inside the image")
            return None
        ann = {"id": 0, "image_id": img.id, "category_id": cid, "bbox": bbox,
               "area": round(bbox[2] * bbox[3], 4), "iscrowd": 0}
        if score is not None:
            ann["score"] = float(score)
        ann["attributes"] = {"review_state": img.review, **extra_attrs}
        return ann


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


@dataclass
class ExportCounts:
    """What an export with given image choices writes, per choice of boxes (``coco_parts``'s options)."""
    images: int = 0            # images listed
    curated: int = 0           # curated boxes
    accepted: int = 0          # ... of them accepted predictions
    predictions: int = 0       # boxes of each listed image's latest prediction
    predicted_images: int = 0  # ... on this many images
    proposals: int = 0


def export_counts(project: Project, *, reviewed_only: bool = False, split: str | None = None,
                  leave_out_classes: tuple[str, ...] | list[str] = ()) -> ExportCounts:
    """The counts the export dialog shows beside each choice, following its image choices: SQL counts over the
    images ``coco_parts`` would list, less boxes of a left-out class or of none (as ``_Annotations.annotation``
    leaves them out). A box with no area inside its image is counted here and left out by the export (its report
    names it). Four aggregate queries, whatever the size: 0.7 s at 100,000 images on a busy 2-core machine, where
    the export itself took 290 s (bench/scale.py, docs/BENCHMARKS.md)."""
    out = ExportCounts()
    with project.read() as s:
        kept = select(ClassRow.id).where(ClassRow.name.not_in(list(leave_out_classes)))
        chosen = [ImageRow.review == "verified"] if reviewed_only else []
        if split is not None:
            chosen.append(ImageRow.split == split)
        out.images = s.scalar(select(func.count(ImageRow.id)).where(*chosen)) or 0
        # a curated box is of its own class, else of its image's (as the export reads it)
        box_class = func.coalesce(BoxRow.class_id, ImageRow.class_id)
        curated = dict(s.execute(select(BoxRow.source == "prediction", func.count(BoxRow.id))
                                 .join(ImageRow, BoxRow.image_id == ImageRow.id)
                                 .where(*chosen, box_class.in_(kept)).group_by(BoxRow.source == "prediction")).all())
        out.curated, out.accepted = sum(curated.values()), curated.get(True, 0)
        own_class = [*chosen, ImageRow.class_id.in_(kept)]   # proposals and predictions: the image's class
        out.proposals = s.scalar(select(func.count(ProposalRow.id)).join(ImageRow, ProposalRow.image_id == ImageRow.id)
                                 .where(*own_class)) or 0
        latest = (select(PredictionRow.image_id, func.max(PredictionRow.run_id).label("run_id"))
                  .group_by(PredictionRow.image_id).subquery())
        preds = (select(PredictionRow.id, PredictionRow.image_id)
                 .join(latest, and_(PredictionRow.image_id == latest.c.image_id,
                                    PredictionRow.run_id == latest.c.run_id))
                 .join(ImageRow, PredictionRow.image_id == ImageRow.id).where(*own_class).subquery())
        n, images = s.execute(select(func.count(PredictedBoxRow.id), func.count(func.distinct(preds.c.image_id)))
                              .join(preds, PredictedBoxRow.prediction_id == preds.c.id)).one()
        out.predictions, out.predicted_images = int(n or 0), int(images or 0)
    return out
