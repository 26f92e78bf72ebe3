from __future__ import annotations

import builtins  # the repo's own list() method hides the type in the class body
import math
from collections.abc import Collection

from sqlalchemy import delete, func, select

from core.store.records import BoxRecord, GtBoxRecord
from core.store.schema import BOX_SOURCES, BoxRow, GtBoxRow, ImageRow, utcnow

_UNSET = object()


def _record(r: BoxRow) -> BoxRecord:
    return BoxRecord(r.id, r.image_id, r.class_id, r.x0, r.y0, r.x1, r.y1, r.source, r.score,
                     r.proposal_id, r.created_at, r.updated_at, r.predicted_box_id)


def normalise_box(xyxy, width: int, height: int) -> tuple[float, float, float, float]:
    """Order the corners and clamp to the image. Raises ValueError naming the box when a coordinate is NaN or
    infinite (clamping would turn NaN into the image's edge: a full-width box) or when the box has no area."""
    x0, y0, x1, y1 = (float(v) for v in xyxy)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise ValueError(f"box {tuple(xyxy)} has a coordinate that is not a finite number: not stored")
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    x0, x1 = max(0.0, x0), min(float(width), x1)
    y0, y1 = max(0.0, y0), min(float(height), y1)
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        raise ValueError(f"box {tuple(xyxy)} has no area inside the {width}x{height} image")
    return x0, y0, x1, y1


class BoxRepo:
    """Curated boxes (what inspectors keep) and ground truth (kept apart, for evaluation)."""

    def __init__(self, project):
        self.p = project

    # -- curated -------------------------------------------------------------
    def list(self, image_id: int) -> list[BoxRecord]:
        with self.p.read() as s:
            rows = s.scalars(select(BoxRow).where(BoxRow.image_id == image_id).order_by(BoxRow.id)).all()
            return [_record(r) for r in rows]

    def all(self, image_ids: Collection[int] | None = None) -> builtins.list[BoxRecord]:
        """Every curated box, or those of ``image_ids`` only (an export reads a large project block by block)."""
        with self.p.read() as s:
            # plain rows, not ORM objects: an export of a large project reads every one
            q = select(*BoxRow.__table__.columns).order_by(BoxRow.image_id, BoxRow.id)
            if image_ids is not None:
                q = q.where(BoxRow.image_id.in_(list(image_ids)))
            return [_record(r) for r in s.execute(q)]

    def get(self, box_id: int) -> BoxRecord:
        with self.p.read() as s:
            row = s.get(BoxRow, box_id)
            if row is None:
                raise KeyError(f"no box with id {box_id}")
            return _record(row)

    def add(self, image_id: int, xyxy, class_id: int | None, source: str = "manual",
            score: float | None = None, proposal_id: int | None = None) -> BoxRecord:
        if source not in BOX_SOURCES:
            raise ValueError(f"box source must be one of {BOX_SOURCES}, not {source!r}")
        with self.p.transaction() as s:
            img = s.get(ImageRow, image_id)
            if img is None:
                raise KeyError(f"no image with id {image_id}")
            x0, y0, x1, y1 = normalise_box(xyxy, img.width, img.height)
            row = BoxRow(image_id=image_id, class_id=class_id, x0=x0, y0=y0, x1=x1, y1=y1,
                         source=source, score=score, proposal_id=proposal_id)
            s.add(row)
            s.flush()
            return _record(row)

    def add_many(self, items) -> int:
        """Many curated boxes in one transaction (imports): ``(image_id, xyxy, class_id, source, score)`` each.
        All or nothing: an unknown image or a box with no area rolls the whole batch back."""
        rows = []
        with self.p.transaction() as s:
            sizes = self._sizes(s, {it[0] for it in items})
            for image_id, xyxy, class_id, source, score in items:
                if source not in BOX_SOURCES:
                    raise ValueError(f"box source must be one of {BOX_SOURCES}, not {source!r}")
                x0, y0, x1, y1 = normalise_box(xyxy, *sizes[image_id])
                rows.append(BoxRow(image_id=image_id, class_id=class_id, x0=x0, y0=y0, x1=x1, y1=y1,
                                   source=source, score=score))
            s.add_all(rows)
        return len(rows)

    @staticmethod
    def _sizes(s, image_ids) -> dict[int, tuple[int, int]]:
        sizes = {i: (w, h) for i, w, h in s.execute(select(ImageRow.id, ImageRow.width, ImageRow.height)
                                                     .where(ImageRow.id.in_(list(image_ids))))}
        missing = set(image_ids) - set(sizes)
        if missing:
            raise KeyError(f"no image with id {min(missing)}")
        return sizes

    def update(self, box_id: int, xyxy=None, class_id=_UNSET) -> tuple[BoxRecord, BoxRecord]:
        """Move/resize and/or re-class a box. Returns (before, after) for undo.

        A machine box (proposal, prediction, imported) whose geometry a person changes
        becomes ``edited``.
        """
        with self.p.transaction() as s:
            row = s.get(BoxRow, box_id)
            if row is None:
                raise KeyError(f"no box with id {box_id}")
            before = _record(row)
            if xyxy is not None:
                img = s.get(ImageRow, row.image_id)
                row.x0, row.y0, row.x1, row.y1 = normalise_box(xyxy, img.width, img.height)
                if row.source != "manual" and (row.x0, row.y0, row.x1, row.y1) != before.xyxy:
                    row.source = "edited"
            if class_id is not _UNSET:
                row.class_id = class_id
            row.updated_at = utcnow()
            s.flush()
            return before, _record(row)

    def delete(self, box_id: int) -> BoxRecord:
        with self.p.transaction() as s:
            row = s.get(BoxRow, box_id)
            if row is None:
                raise KeyError(f"no box with id {box_id}")
            rec = _record(row)
            s.delete(row)
            return rec

    def restore(self, rec: BoxRecord) -> BoxRecord:
        """Put back a box exactly as recorded (same id): undo of delete or of update."""
        with self.p.transaction() as s:
            row = s.get(BoxRow, rec.id)
            if row is None:
                row = BoxRow(id=rec.id, image_id=rec.image_id)
                s.add(row)
            row.class_id, row.source, row.score, row.proposal_id = rec.class_id, rec.source, rec.score, rec.proposal_id
            row.predicted_box_id = rec.predicted_box_id
            row.x0, row.y0, row.x1, row.y1 = rec.x0, rec.y0, rec.x1, rec.y1
            row.created_at = rec.created_at or utcnow()
            row.updated_at = utcnow()
            s.flush()
            return _record(row)

    def counts_by_class(self) -> dict[int | None, int]:
        """Curated boxes per class id (None: boxes without a class)."""
        with self.p.read() as s:
            return dict(s.execute(select(BoxRow.class_id, func.count(BoxRow.id)).group_by(BoxRow.class_id)).all())

    def counts_by_source(self) -> dict[str, int]:
        with self.p.read() as s:
            return dict(s.execute(select(BoxRow.source, func.count(BoxRow.id)).group_by(BoxRow.source)).all())

    # -- ground truth --------------------------------------------------------------
    def add_gt(self, image_id: int, xyxy, class_id: int | None) -> GtBoxRecord:
        with self.p.transaction() as s:
            img = s.get(ImageRow, image_id)
            x0, y0, x1, y1 = normalise_box(xyxy, img.width, img.height)
            row = GtBoxRow(image_id=image_id, class_id=class_id, x0=x0, y0=y0, x1=x1, y1=y1)
            s.add(row)
            s.flush()
            return GtBoxRecord(row.id, row.image_id, row.class_id, row.x0, row.y0, row.x1, row.y1)

    def add_gt_many(self, items) -> int:
        """Many ground-truth boxes in one transaction: ``(image_id, xyxy, class_id)`` each; all or nothing."""
        rows = []
        with self.p.transaction() as s:
            sizes = self._sizes(s, {it[0] for it in items})
            for image_id, xyxy, class_id in items:
                x0, y0, x1, y1 = normalise_box(xyxy, *sizes[image_id])
                rows.append(GtBoxRow(image_id=image_id, class_id=class_id, x0=x0, y0=y0, x1=x1, y1=y1))
            s.add_all(rows)
        return len(rows)

    def gt(self, image_id: int | None = None) -> builtins.list[GtBoxRecord]:
        q = select(GtBoxRow).order_by(GtBoxRow.image_id, GtBoxRow.id)
        if image_id is not None:
            q = q.where(GtBoxRow.image_id == image_id)
        with self.p.read() as s:
            return [GtBoxRecord(r.id, r.image_id, r.class_id, r.x0, r.y0, r.x1, r.y1) for r in s.scalars(q).all()]

    def clear_gt(self) -> int:
        with self.p.transaction() as s:
            return s.execute(delete(GtBoxRow)).rowcount or 0

    def gt_count(self) -> int:
        with self.p.read() as s:
            return s.scalar(select(func.count(GtBoxRow.id))) or 0
