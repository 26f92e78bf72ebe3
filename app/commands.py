"""Undoable edits. Each redo/undo is one store call, i.e. one committed transaction.

A command runs its first ``redo`` before it is pushed (``execute``): if the store refuses
(a box with no area, a row gone), nothing lands on the undo stack and the caller shows why.
Boxes are referred to through ``BoxRef`` so that a box re-created by redo under a new id
(an accepted proposal) is still found by the later commands that moved or re-classed it.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QTimer
from PySide6.QtGui import QUndoCommand

from core.store.project import ChangedMeanwhile, ProjectWriteError
from core.store.records import BoxRecord


def save_failure(exc: Exception) -> str:
    """A refused write as the status bar says it: 'not saved: ...' without the project path, which the window
    title already shows."""
    text = str(exc)
    return text[text.find("not saved"):] if "not saved" in text else text


@dataclass
class BoxRef:
    id: int


class BoxRefs:
    """One shared ``BoxRef`` per live box id, for the lifetime of an undo stack."""

    def __init__(self):
        self._refs: dict[int, BoxRef] = {}

    def get(self, box_id: int) -> BoxRef:
        return self._refs.setdefault(box_id, BoxRef(box_id))

    def moved(self, ref: BoxRef, new_id: int) -> None:
        self._refs.pop(ref.id, None)
        ref.id = new_id
        self._refs[new_id] = ref

    def clear(self) -> None:
        self._refs.clear()


class StoreCommand(QUndoCommand):
    def __init__(self, session, image_id: int, text: str):
        super().__init__(text)
        self.session = session
        self.project = session.project
        self.image_id = image_id
        self._skip_once = False

    def execute(self) -> None:
        """Do the edit now, then push it; a store error propagates and nothing is pushed."""
        self._do()
        self._notify()
        self._skip_once = True
        self.session.undo_stack.push(self)  # push() calls redo() at once: skipped, it is done

    def redo(self) -> None:
        if self._skip_once:
            self._skip_once = False
            return
        if not self._guarded("Redo", self._do):
            self._step_back(self.session.undo_stack.undo)

    def undo(self) -> None:
        if self._skip_once:   # only after a refused redo: the index moves back, the file already agrees
            self._skip_once = False
            return
        if not self._guarded("Undo", self._undo):
            self._step_back(self.session.undo_stack.redo)

    def _step_back(self, move) -> None:
        # The file refused the step, so the edit stands as it was; put the stack's index back where the file
        # is (after Qt has finished this undo/redo) without writing again, so stack and file agree.
        self._skip_once = True
        QTimer.singleShot(0, move)

    def _guarded(self, what: str, step) -> bool:
        """Run an undo/redo step; False when the project file refused the write (nothing changed)."""
        # An exception must not escape into Qt's undo machinery; a step the database can no
        # longer take (its row was removed meanwhile, e.g. by a COCO import) is dropped instead.
        self.session.show_image_of_edit(self.image_id)
        try:
            step()
        except ProjectWriteError as exc:
            self.session.message.emit(f"{what} {self.text()}: {save_failure(exc)}")
            return False
        except (KeyError, ValueError, ChangedMeanwhile) as exc:
            self.setObsolete(True)
            self.session.message.emit(f"{what} {self.text()}: not possible any more ({exc})")
        self._notify()
        return True

    def _do(self) -> None:
        raise NotImplementedError

    def _undo(self) -> None:
        raise NotImplementedError

    def _notify(self) -> None:
        self.session.notify_boxes(self.image_id)


class AddBoxCommand(StoreCommand):
    """A drawn box, or a prediction accepted as a curated box (source="prediction")."""

    def __init__(self, session, image_id: int, xyxy, class_id: int | None, source: str = "manual",
                 score: float | None = None, text: str = "Draw box"):
        super().__init__(session, image_id, text)
        self.args = (tuple(float(v) for v in xyxy), class_id, source, score)
        self.record: BoxRecord | None = None
        self.ref: BoxRef | None = None

    def _do(self) -> None:
        if self.record is None:
            xyxy, class_id, source, score = self.args
            self.record = self.project.boxes.add(self.image_id, xyxy, class_id, source=source, score=score)
            self.ref = self.session.box_refs.get(self.record.id)
        else:  # redo after undo: the same id comes back, so later commands still find it
            self.project.boxes.restore(self.record)

    def _undo(self) -> None:
        self.project.boxes.delete(self.ref.id)


class DeleteBoxCommand(StoreCommand):
    def __init__(self, session, image_id: int, box_id: int):
        super().__init__(session, image_id, "Delete box")
        self.ref = session.box_refs.get(box_id)
        self.record: BoxRecord | None = None

    def _do(self) -> None:
        self.record = self.project.boxes.delete(self.ref.id)

    def _undo(self) -> None:
        self.project.boxes.restore(self.record)


class UpdateBoxCommand(StoreCommand):
    """Move / resize (``xyxy``) and/or re-class (``class_id``) a curated box."""

    _UNSET = object()

    def __init__(self, session, image_id: int, box_id: int, xyxy=None, class_id=_UNSET, text: str = "Move box"):
        super().__init__(session, image_id, text)
        self.ref = session.box_refs.get(box_id)
        self.xyxy = None if xyxy is None else tuple(float(v) for v in xyxy)
        self.class_id = class_id
        self.before: BoxRecord | None = None

    def _do(self) -> None:
        kwargs = {}
        if self.xyxy is not None:
            kwargs["xyxy"] = self.xyxy
        if self.class_id is not self._UNSET:
            kwargs["class_id"] = self.class_id
        self.before, _ = self.project.boxes.update(self.ref.id, **kwargs)

    def _undo(self) -> None:
        self.project.boxes.restore(self.before)  # also restores the source a move turned into "edited"


class AcceptProposalCommand(StoreCommand):
    def __init__(self, session, image_id: int, proposal_id: int, class_id: int | None):
        super().__init__(session, image_id, "Accept proposal")
        self.proposal_id, self.class_id = proposal_id, class_id
        self.ref: BoxRef | None = None
        self.old_status = "pending"

    def _do(self) -> None:
        box, self.old_status = self.project.proposals.accept(self.proposal_id, self.class_id)
        if self.ref is None:
            self.ref = self.session.box_refs.get(box.id)
        else:
            self.session.box_refs.moved(self.ref, box.id)

    def _undo(self) -> None:
        self.project.proposals.unaccept(self.proposal_id, self.ref.id, self.old_status)

    def _notify(self) -> None:
        self.session.notify_proposals(self.image_id)


class SetProposalStatusCommand(StoreCommand):
    def __init__(self, session, image_id: int, proposal_id: int, status: str = "rejected"):
        super().__init__(session, image_id, "Reject proposal" if status == "rejected" else f"Mark proposal {status}")
        self.proposal_id, self.status = proposal_id, status
        self.old_status: str | None = None

    def _do(self) -> None:
        self.old_status = self.project.proposals.set_status(self.proposal_id, self.status)

    def _undo(self) -> None:
        self.project.proposals.set_status(self.proposal_id, self.old_status)

    def _notify(self) -> None:
        self.session.notify_proposals(self.image_id)


class SetReviewCommand(StoreCommand):
    def __init__(self, session, image_id: int, state: str):
        super().__init__(session, image_id, {"verified": "Mark reviewed",
                                             "unreviewed": "Mark unreviewed"}.get(state, state))
        self.state = state
        self.old: str | None = None

    def _do(self) -> None:
        self.old = self.project.images.set_review(self.image_id, self.state)

    def _undo(self) -> None:
        self.project.images.set_review(self.image_id, self.old)

    def _notify(self) -> None:
        self.session.notify_image_state(self.image_id)


class SetFlagCommand(StoreCommand):
    """Flag an image for a second look, or clear the flag; the review mark stays as it is."""

    def __init__(self, session, image_id: int, flagged: bool):
        super().__init__(session, image_id, "Flag image" if flagged else "Clear flag")
        self.flagged = flagged
        self.old = False

    def _do(self) -> None:
        self.old = self.project.images.set_flagged(self.image_id, self.flagged)

    def _undo(self) -> None:
        self.project.images.set_flagged(self.image_id, self.old)

    def _notify(self) -> None:
        self.session.notify_image_state(self.image_id)
