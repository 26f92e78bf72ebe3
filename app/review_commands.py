"""Undoable decisions on predicted boxes, as app/commands.py's on proposals: accept (a curated box, linked to its
predicted box), reject, and accept every pending box above a score. Each redo / undo is one store transaction."""
from __future__ import annotations

from app.commands import BoxRef, StoreCommand


class AcceptPredictionCommand(StoreCommand):
    def __init__(self, session, image_id: int, predicted_box_id: int, class_id: int | None):
        super().__init__(session, image_id, "Accept prediction")
        self.predicted_box_id, self.class_id = predicted_box_id, class_id
        self.ref: BoxRef | None = None
        self.old_status = "pending"

    def _do(self) -> None:
        box, self.old_status = self.project.predicted.accept(self.predicted_box_id, self.class_id)
        if self.ref is None:
            self.ref = self.session.box_refs.get(box.id)
        else:   # redo: a new row, under a new id; later commands hold the same ref
            self.session.box_refs.moved(self.ref, box.id)

    def _undo(self) -> None:
        self.project.predicted.unaccept_many([(self.predicted_box_id, self.ref.id, self.old_status)])

    def _notify(self) -> None:
        self.session.predictions_changed.emit()
        self.session.notify_boxes(self.image_id)


class SetPredictionStatusCommand(StoreCommand):
    def __init__(self, session, image_id: int, predicted_box_id: int, status: str = "rejected"):
        text = "Reject prediction" if status == "rejected" else f"Mark prediction {status}"
        super().__init__(session, image_id, text)
        self.predicted_box_id, self.status = predicted_box_id, status
        self.old_status: str | None = None

    def _do(self) -> None:
        self.old_status = self.project.predicted.set_status(self.predicted_box_id, self.status)

    def _undo(self) -> None:
        self.project.predicted.set_status(self.predicted_box_id, self.old_status)

    def _notify(self) -> None:
        self.session.predictions_changed.emit()


class AcceptPredictionsCommand(StoreCommand):
    """Many pending predicted boxes accepted in one transaction ("accept all above score s"); undone in one.
    ``items``: (predicted box id, class id, image id) each. A box decided meanwhile is skipped, never overwritten."""

    def __init__(self, session, image_id: int, items: list[tuple[int, int | None, int]], text: str):
        super().__init__(session, image_id, text)
        self.items = [(pbid, cls) for pbid, cls, _ in items]
        self.image_ids = {img for _, _, img in items} | {image_id}
        self.refs: dict[int, BoxRef] = {}                # predicted box id -> its curated box
        self.done: list[tuple[int, str]] = []            # (predicted box id, status before) of this pass

    def _do(self) -> None:
        boxes, olds = self.project.predicted.accept_many(self.items)
        for b in boxes:
            ref = self.refs.get(b.predicted_box_id)
            if ref is None:
                self.refs[b.predicted_box_id] = self.session.box_refs.get(b.id)
            else:   # redo: new rows under new ids; later commands hold the same refs
                self.session.box_refs.moved(ref, b.id)
        self.done = [(b.predicted_box_id, old) for b, old in zip(boxes, olds, strict=True)]

    def _undo(self) -> None:
        self.project.predicted.unaccept_many([(pbid, self.refs[pbid].id, old) for pbid, old in self.done])

    @property
    def count(self) -> int:
        return len(self.done)

    def _notify(self) -> None:
        self.session.predictions_changed.emit()
        for image_id in sorted(self.image_ids):
            self.session.notify_boxes(image_id)
