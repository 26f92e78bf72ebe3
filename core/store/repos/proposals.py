from __future__ import annotations

import builtins  # the repo's own list() method hides the type in the class body
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from core.store.records import BoxRecord, ProposalRecord
from core.store.repos.boxes import _record as _box_record
from core.store.schema import PROPOSAL_STATES, BoxRow, ProposalRow


@dataclass(frozen=True)
class NewProposal:
    xyxy: tuple[float, float, float, float]
    source_map: int
    score: float
    class_prob: float


def _record(r: ProposalRow) -> ProposalRecord:
    return ProposalRecord(r.id, r.image_id, r.x0, r.y0, r.x1, r.y1, r.source_map, r.score, r.class_prob,
                          r.rank, r.status)


def undo_accept(s, row_type, row_id: int, box_id: int, old_status: str) -> None:
    """Inside session ``s``: delete the curated box an accept made and give the proposal or predicted box row its
    status back (rows deleted meanwhile are skipped)."""
    box = s.get(BoxRow, box_id)
    if box is not None:
        s.delete(box)
    row = s.get(row_type, row_id)
    if row is not None:
        row.status = old_status


def set_decision(project, row_type, row_id: int, status: str, noun: str) -> str:
    """Set the review status (one of PROPOSAL_STATES) of a proposal or predicted box row, in one transaction;
    returns the old status, for undo. Raises ValueError for an unknown status, KeyError for an unknown id."""
    if status not in PROPOSAL_STATES:
        raise ValueError(f"{noun} status must be one of {PROPOSAL_STATES}, not {status!r}")
    with project.transaction() as s:
        row = s.get(row_type, row_id)
        if row is None:
            raise KeyError(f"no {noun} with id {row_id}")
        old, row.status = row.status, status
        return old


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class ProposalRepo:
    # A regenerated proposal this close to one an inspector already judged keeps that judgement.
    KEEP_DECISION_IOU = 0.9

    def __init__(self, project):
        self.p = project

    def list(self, image_id: int, include_rejected: bool = True) -> list[ProposalRecord]:
        q = select(ProposalRow).where(ProposalRow.image_id == image_id)
        if not include_rejected:
            q = q.where(ProposalRow.status != "rejected")
        with self.p.read() as s:
            return [_record(r) for r in s.scalars(q.order_by(ProposalRow.rank)).all()]

    def all(self, image_ids: Collection[int] | None = None) -> builtins.list[ProposalRecord]:
        """Every proposal, or those of ``image_ids`` only (an export reads a large project block by block)."""
        with self.p.read() as s:
            # plain rows, not ORM objects: an export of 100,000 images reads half a million of them
            q = select(*ProposalRow.__table__.columns).order_by(ProposalRow.image_id, ProposalRow.rank)
            if image_ids is not None:
                q = q.where(ProposalRow.image_id.in_(list(image_ids)))
            return [_record(r) for r in s.execute(q)]

    def image_ids_with_proposals(self) -> set[int]:
        with self.p.read() as s:
            return set(s.scalars(select(ProposalRow.image_id).distinct()).all())

    def replace(self, image_id: int, proposals: builtins.list[NewProposal]) -> builtins.list[ProposalRecord]:
        """Store a fresh ranked list for an image (rank = list order, 1-based).

        Inspectors' decisions survive: a new box matching an accepted or rejected one keeps
        its status, and old decided proposals linked to curated boxes are kept.
        """
        with self.p.transaction() as s:
            old = s.scalars(select(ProposalRow).where(ProposalRow.image_id == image_id)).all()
            decided = [(o.x0, o.y0, o.x1, o.y1, o.status) for o in old if o.status != "pending"]
            linked = set(s.scalars(select(BoxRow.proposal_id).where(BoxRow.image_id == image_id,
                                                                   BoxRow.proposal_id.is_not(None))).all())
            for o in old:
                if o.id not in linked:
                    s.delete(o)
            s.flush()
            kept_linked = [o for o in old if o.id in linked]
            out = []
            for rank, prop in enumerate(proposals, start=1):
                status = "pending"
                for *box, st in decided:
                    if _iou(box, prop.xyxy) >= self.KEEP_DECISION_IOU:
                        status = st
                        break
                match = next((o for o in kept_linked if _iou((o.x0, o.y0, o.x1, o.y1), prop.xyxy)
                              >= self.KEEP_DECISION_IOU), None)
                if match is not None:  # refresh the linked row in place rather than duplicating it
                    row = match
                    kept_linked.remove(match)
                else:
                    row = ProposalRow(image_id=image_id)
                    s.add(row)
                row.x0, row.y0, row.x1, row.y1 = (float(v) for v in prop.xyxy)
                row.source_map = int(prop.source_map)
                row.score, row.class_prob = float(prop.score), float(prop.class_prob)
                row.rank, row.status = rank, status
                out.append(row)
            # decided proposals that vanished but back a curated box stay, ranked after the new ones
            for extra, row in enumerate(kept_linked, start=len(proposals) + 1):
                row.rank = extra
            s.flush()
            return [_record(r) for r in out]

    def set_status(self, proposal_id: int, status: str) -> str:
        return set_decision(self.p, ProposalRow, proposal_id, status, "proposal")

    def accept(self, proposal_id: int, class_id: int | None) -> tuple[BoxRecord, str]:
        """Mark accepted and add the curated box, in one transaction. Returns (box, old status)."""
        with self.p.transaction() as s:
            row = s.get(ProposalRow, proposal_id)
            if row is None:
                raise KeyError(f"no proposal with id {proposal_id}")
            old = row.status
            row.status = "accepted"
            box = BoxRow(image_id=row.image_id, class_id=class_id, x0=row.x0, y0=row.y0, x1=row.x1, y1=row.y1,
                         source="proposal", score=row.class_prob, proposal_id=row.id)
            s.add(box)
            s.flush()
            return _box_record(box), old

    def unaccept(self, proposal_id: int, box_id: int, old_status: str) -> None:
        """Undo of accept: remove the box and restore the status, in one transaction."""
        with self.p.transaction() as s:
            undo_accept(s, ProposalRow, proposal_id, box_id, old_status)

    def clear(self, image_id: int | None = None) -> None:
        with self.p.transaction() as s:
            q = delete(ProposalRow)
            if image_id is not None:
                q = q.where(ProposalRow.image_id == image_id)
            s.execute(q)

    def count(self) -> int:
        with self.p.read() as s:
            return s.scalar(select(func.count(ProposalRow.id))) or 0
