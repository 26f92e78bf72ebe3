"""Reviewing predicted boxes like proposals: accept (a curated box, linked), reject, and accept every pending box
above a score at once. Every call is one transaction; each returns what its undo needs."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, select

from core.result_checks import FULL_FRAME
from core.store.records import BoxRecord
from core.store.repos.boxes import _record as _box_record
from core.store.repos.proposals import _iou, set_decision, undo_accept
from core.store.schema import BoxRow, ClassRow, ImageRow, PredictedBoxRow, PredictionRow

# A pending prediction this close to a curated box of its image is the box the user already has:
# "accept all above s" leaves it alone instead of adding a duplicate.
COVERED_IOU = 0.5
# A predicted box covering FULL_FRAME of its image says where nothing is (a flat map from a model that has not
# learnt yet draws exactly the frame): "accept all above s" leaves it for the user to look at.


@dataclass(frozen=True)
class BulkItem:
    """One predicted box that "accept all above s" would accept."""
    predicted_box_id: int
    image_id: int
    class_id: int | None
    score: float


@dataclass
class BulkPlan:
    """What "accept all above s" will do: ``items`` to accept, and what it leaves alone and why."""
    items: list[BulkItem] = field(default_factory=list)
    images: int = 0            # images with at least one item
    decided: int = 0           # above s but already accepted or rejected: left as they are
    covered: int = 0           # above s but over a curated box (IoU >= COVERED_IOU): left pending
    whole_frame: int = 0       # above s but covering >= FULL_FRAME of the image: left pending
    below: int = 0             # pending, under the score


class PredictedBoxRepo:
    def __init__(self, project):
        self.p = project

    def get_status(self, predicted_box_id: int) -> str:
        with self.p.read() as s:
            row = s.get(PredictedBoxRow, predicted_box_id)
            if row is None:
                raise KeyError(f"no predicted box with id {predicted_box_id}")
            return row.status

    def set_status(self, predicted_box_id: int, status: str) -> str:
        """Reject (or put back to pending); returns the old status for undo."""
        return set_decision(self.p, PredictedBoxRow, predicted_box_id, status, "predicted box")

    def accept(self, predicted_box_id: int, class_id: int | None) -> tuple[BoxRecord, str]:
        """Mark accepted and add the curated box (source "prediction", its score), in one transaction.
        Returns (box, old status)."""
        boxes, olds = self.accept_many([(predicted_box_id, class_id)], only_pending=False)
        return boxes[0], olds[0]

    def accept_many(self, items: list[tuple[int, int | None]], only_pending: bool = True
                    ) -> tuple[list[BoxRecord], list[str]]:
        """``(predicted box id, class id)`` each, in one transaction. With ``only_pending`` a box decided
        meanwhile (e.g. by another window) is skipped, never overwritten. Returns (boxes, old statuses) of
        the ones accepted."""
        boxes, olds = [], []
        with self.p.transaction() as s:
            for pbid, class_id in items:
                row = s.get(PredictedBoxRow, pbid)
                if row is None:
                    raise KeyError(f"no predicted box with id {pbid}")
                if only_pending and row.status != "pending":
                    continue
                image_id = s.scalar(select(PredictionRow.image_id).where(PredictionRow.id == row.prediction_id))
                box = BoxRow(image_id=image_id, class_id=class_id, x0=row.x0, y0=row.y0, x1=row.x1, y1=row.y1,
                             source="prediction", score=row.score, predicted_box_id=row.id)
                olds.append(row.status)
                row.status = "accepted"
                s.add(box)
                boxes.append(box)
            s.flush()
            return [_box_record(b) for b in boxes], olds

    def unaccept_many(self, items: list[tuple[int, int, str]]) -> None:
        """Undo of accept: ``(predicted box id, curated box id, old status)`` each, in one transaction."""
        with self.p.transaction() as s:
            for pbid, box_id, old in items:
                undo_accept(s, PredictedBoxRow, pbid, box_id, old)

    def plan_accept_above(self, min_score: float, image_id: int | None = None,
                          background_class_ids: frozenset[int] | set[int] = frozenset()) -> BulkPlan:
        """The pending boxes of each image's latest prediction scoring >= ``min_score``: on ``image_id``, or
        (None) on every unreviewed image. Left alone: accepted and rejected boxes, boxes over a curated box,
        images of a background class. Class of each new box: the image's label, else the object class the
        classifier found most likely (class ids in class order; ``background_class_ids`` never chosen)."""
        with self.p.read() as s:
            latest = (select(PredictionRow.image_id, func.max(PredictionRow.run_id).label("run_id"))
                      .group_by(PredictionRow.image_id).subquery())
            q = (select(PredictionRow.id, PredictionRow.image_id, PredictionRow.class_probs, ImageRow.class_id,
                        ImageRow.width, ImageRow.height)
                 .join(latest, and_(PredictionRow.image_id == latest.c.image_id,
                                    PredictionRow.run_id == latest.c.run_id))
                 .join(ImageRow, ImageRow.id == PredictionRow.image_id)
                 .where(ImageRow.missing.is_(False)))
            q = q.where(ImageRow.id == image_id) if image_id is not None else q.where(ImageRow.review == "unreviewed")
            preds = {pid: (img, probs, cls, w * h) for pid, img, probs, cls, w, h in s.execute(q).all()}
            if not preds:
                return BulkPlan()
            boxes = s.execute(select(PredictedBoxRow.id, PredictedBoxRow.prediction_id, PredictedBoxRow.x0,
                                     PredictedBoxRow.y0, PredictedBoxRow.x1, PredictedBoxRow.y1,
                                     PredictedBoxRow.score, PredictedBoxRow.status)
                              .where(PredictedBoxRow.prediction_id.in_(list(preds)))
                              .order_by(PredictedBoxRow.score.desc(), PredictedBoxRow.id)).all()
            images = {img for img, _, _, _ in preds.values()}
            curated: dict[int, list] = {}
            for img, x0, y0, x1, y1 in s.execute(select(BoxRow.image_id, BoxRow.x0, BoxRow.y0, BoxRow.x1, BoxRow.y1)
                                                 .where(BoxRow.image_id.in_(list(images)))).all():
                curated.setdefault(img, []).append((x0, y0, x1, y1))
            ordered = list(s.scalars(select(ClassRow.id).order_by(ClassRow.position, ClassRow.id)).all())
        plan = BulkPlan()
        with_items: set[int] = set()
        for pbid, pred_id, x0, y0, x1, y1, score, status in boxes:
            img, probs, cls, frame = preds[pred_id]
            if score < min_score:
                plan.below += status == "pending"
                continue
            if status != "pending":
                plan.decided += 1
                continue
            if cls in background_class_ids:
                continue
            if any(_iou(c, (x0, y0, x1, y1)) >= COVERED_IOU for c in curated.get(img, ())):
                plan.covered += 1
                continue
            if (x1 - x0) * (y1 - y0) >= FULL_FRAME * frame:
                plan.whole_frame += 1
                continue
            plan.items.append(BulkItem(pbid, img, cls if cls is not None else _likely_class(probs, ordered,
                                                                                            background_class_ids),
                                       float(score)))
            with_items.add(img)
        plan.images = len(with_items)
        return plan


def _likely_class(probs, ordered_ids: list[int], background: frozenset[int] | set[int]) -> int | None:
    """The object class with the highest probability (``probs`` in class order), None if there is none."""
    # not strict: a class added since the prediction ran has no probability
    best = [(p, cid) for p, cid in zip(probs or [], ordered_ids, strict=False) if cid not in background]
    return max(best)[1] if best else None
