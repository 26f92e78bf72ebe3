"""Edit > Accept predictions above a score: ask (app/dialogs/accept_above.py), then accept in one undoable
transaction. Never acts while predictions are hidden; never touches a box the user made or decided; leaves the
boxes the suggestion gate hides pending (the inspector has not seen them) unless hidden suggestions are shown."""
from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtWidgets import QDialog

from app.commands import save_failure
from app.review_commands import AcceptPredictionsCommand
from core.store.project import ChangedMeanwhile, ProjectWriteError
from core.store.repos.predicted_boxes import BulkPlan


@dataclass
class GatedPlan(BulkPlan):
    hidden: int = 0     # above s but held back by the suggestion gate: left pending
    unreadable: int = 0  # above s on images whose file no longer decodes (core/data/unreadable.py): left pending


def plan_for(session, min_score: float, this_image: bool, hidden=None):
    """The store's plan: pending predicted boxes >= ``min_score`` on the image shown, or on every unreviewed one,
    less those ``hidden(image ids) -> predicted box ids`` holds back (app/suggestion_gate_view.py)."""
    background = {c.id for c in session.classes if session.is_background(c.id)}
    plan = session.project.predicted.plan_accept_above(min_score, session.image_id if this_image else None,
                                                       background_class_ids=background)
    held = hidden({it.image_id for it in plan.items}) if hidden is not None and plan.items else set()
    out = GatedPlan(**{f.name: getattr(plan, f.name) for f in fields(plan)})
    broken = _unreadable_ids(session.project)
    if broken and any(it.image_id in broken for it in out.items):
        out.items = [it for it in out.items if it.image_id not in broken]
        out.unreadable = len(plan.items) - len(out.items)
        out.images = len({it.image_id for it in out.items})
    if held:
        before = len(out.items)
        out.items = [it for it in out.items if it.predicted_box_id not in held]
        out.hidden = before - len(out.items)
        out.images = len({it.image_id for it in out.items})
    return out


def _unreadable_ids(project) -> set[int]:
    """Ids of the project's images recorded as failing to decode: the window offers none of their suggestions."""
    from core.data.unreadable import unreadable_reasons
    found = (project.images.by_path(p) for p in unreadable_reasons(project))
    return {r.id for r in found if r is not None}


def accept_above(parent, session, canvas, dialog_factory=None, hidden=None) -> int:
    """Run the dialog and the accept; returns how many boxes were accepted (0: nothing done, and why is said)."""
    if session.project is None:
        return 0
    if not canvas.layer_visible("prediction"):
        session.message.emit("Nothing accepted: predictions are hidden (View \u25b8 Show predictions, Ctrl+4)")
        return 0
    from app.dialogs.accept_above import AcceptAboveDialog
    make = dialog_factory or AcceptAboveDialog
    dlg = make(lambda s, here: plan_for(session, s, here, hidden), session.image is not None, parent)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return 0
    score, here = dlg.score.value(), dlg.this_image.isChecked()
    plan = plan_for(session, score, here, hidden)    # again: the file may have changed while the dialog was open
    if not plan.items:
        session.message.emit(f"No pending predicted box scores {score:.2f} or more "
                             f"{'on this image' if here else 'on the unreviewed images'}")
        return 0
    where = "on this image" if here else f"on {plan.images} unreviewed image{'s' if plan.images != 1 else ''}"
    shown = session.image_id if session.image_id is not None else plan.items[0].image_id
    items = [(it.predicted_box_id, it.class_id, it.image_id) for it in plan.items]
    cmd = AcceptPredictionsCommand(session, shown, items, f"Accept predictions \u2265 {score:.2f} {where}")
    try:
        cmd.execute()
    except (ProjectWriteError, ChangedMeanwhile) as exc:
        session.message.emit(f"{cmd.text()}: {save_failure(exc)}")
        session.predictions_changed.emit()
        return 0
    canvas.select(None)
    session.message.emit(f"Accepted {cmd.count} predicted box{'es' if cmd.count != 1 else ''} {where}: saved "
                         f"(Ctrl+Z undoes all)")
    return cmd.count
