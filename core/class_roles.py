"""Which classes show no object (background classes), and what changes when the user says so.

A background class's images show no object: no proposals are computed on them (core.pipeline.proposal_stage)
and training learns all their pixels as background (core.pipeline.train_stage). By default a class is one by
its name (``core.settings.BACKGROUND_CLASS_PATTERN``: no_*, background, ...); the project's settings may name
them instead (``Settings.background_classes``), from the new-project wizard, ``new --background-classes`` or
the window's background-classes dialog.

Changing the declaration (:func:`apply_roles`) is one transaction: the settings are saved, the proposals of
images whose class became background are removed (curated boxes stay), images whose class became an object
class are queued for the next proposals run, and the change is recorded so the window can say what it made
out of date: those proposals, and the trained heads (a run records the background classes it was trained
with, :func:`run_is_out_of_date`).

A box of a background class is asked about once per class: the answer (keep such boxes, or refuse them) is kept
in the project (:func:`set_box_answer`, meta ``BOX_ANSWERS``), so neither answer brings the question back, and the
background-classes dialog shows and changes it (:func:`apply_roles` writes it with the roles, one transaction).

Torch-free and Qt-free: the wizard and the window call it on the GUI thread.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select

from core.result_checks import plural
from core.run_names import training_run_name
from core.settings import BACKGROUND_CLASS_PATTERN, META_KEY, Settings, load_settings
from core.store.schema import ImageRow, Meta, ProposalRow, utcnow

# The images the next proposals run redoes (core.pipeline.proposal_stage.META_PENDING is this key).
PROPOSALS_PENDING = "proposals_pending"
# The last change of roles: {"at": ISO time (UTC), "background": [names], "object": [names], "images": [ids]}.
ROLES_CHANGED = "background_classes_changed"
RUN_KEY = "background_classes"    # what a training run records in its config
# The answers to "keep boxes of background class X?": {class name: true (boxes kept) | false (refused)}; a class
# without an answer is asked at its first box.
BOX_ANSWERS = "background_box_answers"


def box_answers(project) -> dict[str, bool]:
    """Every recorded answer to "keep boxes of this background class?", by class name (a damaged record: none)."""
    try:
        rows = json.loads(project.get_meta(BOX_ANSWERS) or "{}")
    except ValueError:
        return {}
    return {str(k): bool(v) for k, v in rows.items()} if isinstance(rows, dict) else {}


def box_answer(project, name: str) -> bool | None:
    """True: boxes of background class ``name`` are kept without asking; False: refused without asking; None: ask."""
    return box_answers(project).get(name)


def _merge_answers(s, answers: dict[str, bool | None]) -> None:
    """Write ``answers`` (None forgets one: ask again) into the open transaction ``s``."""
    row = s.get(Meta, BOX_ANSWERS)
    try:
        kept = json.loads(row.value) if row is not None and row.value else {}
    except ValueError:
        kept = {}
    kept = kept if isinstance(kept, dict) else {}
    for name, answer in answers.items():
        if answer is None:
            kept.pop(name, None)
        else:
            kept[name] = bool(answer)
    s.merge(Meta(key=BOX_ANSWERS, value=json.dumps(kept, sort_keys=True)))


def set_box_answer(project, name: str, answer: bool | None) -> None:
    """Keep the user's answer for background class ``name`` (None: ask again next time), in one transaction."""
    with project.transaction() as s:
        _merge_answers(s, {name: answer})


def by_name_rule(names: list[str]) -> list[str]:
    """The names the default rule makes background classes (no_site, background, empty, ...), in order."""
    return [n for n in names if BACKGROUND_CLASS_PATTERN.search(n)]


def background_names(settings: Settings, names: list[str]) -> list[str]:
    """The names among ``names`` that are background classes under ``settings``, in order."""
    return [n for n in names if settings.is_background(n)]


def setting_for(names: list[str], ticked: list[str]) -> list[str] | None:
    """The value of ``Settings.background_classes`` for a choice: None (the name rule) when the ticks are what
    the rule gives, so classes added later are judged by their names; else the ticked names."""
    ticked = [n for n in names if n in set(ticked)]
    return None if ticked == by_name_rule(names) else ticked


@dataclass
class RoleChange:
    """What a new choice of background classes changes in a project."""
    became_background: list[str] = field(default_factory=list)
    became_object: list[str] = field(default_factory=list)
    proposals_removed: int = 0           # proposals of images whose class became background
    images_removed: int = 0              # ... on this many images
    images_to_propose: list[int] = field(default_factory=list)   # images whose class became an object class

    @property
    def changed(self) -> bool:
        return bool(self.became_background or self.became_object)

    def describe(self) -> str:
        """The change in the inspector's words, one sentence per effect."""
        if not self.changed:
            return "Nothing changes."
        out = []
        if self.became_background:
            out.append(f"{_names(self.became_background)} will count as showing no object: no proposals for "
                       "their images, and training learns all their pixels as background.")
            if self.proposals_removed:
                out.append(f"{plural(self.proposals_removed, 'proposal')} on {self.images_removed} of their "
                           f"images will be removed; curated boxes stay.")
        if self.became_object:
            out.append(f"{_names(self.became_object)} will count as showing the object: proposals are computed "
                       f"for their {plural(len(self.images_to_propose), 'image')} by the next proposals run.")
        out.append("Trained models become out of date: train again to use the new classes.")
        return " ".join(out)


    def done_text(self) -> str:
        """The change once made, one line for the status bar."""
        out = []
        if self.became_background:
            out.append(f"{_names(self.became_background)} now {_show(self.became_background)} no object"
                       + (f" ({plural(self.proposals_removed, 'proposal')} removed)" if self.proposals_removed else ""))
        if self.became_object:
            out.append(f"{_names(self.became_object)} now {_show(self.became_object)} the object (proposals by the "
                       f"next proposals run)")
        return "; ".join(out) + ". Trained models are out of date." if out else "Nothing changed."


def _show(names: list[str]) -> str:
    """The verb after the class names: "'field' shows", "'field', 'road' show"."""
    return "shows" if len(names) == 1 else "show"


def _names(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _class_ids(project, names: list[str]) -> list[int]:
    by_name = {c.name: c.id for c in project.classes()}
    return [by_name[n] for n in names if n in by_name]


def preview_roles(project, ticked: list[str]) -> RoleChange:
    """What :func:`apply_roles` would change, without writing."""
    names = [c.name for c in project.classes()]
    before = set(background_names(load_settings(project, fallback=True), names))
    after = {n for n in names if n in set(ticked)}
    change = RoleChange([n for n in names if n in after - before], [n for n in names if n in before - after])
    with project.read() as s:
        bg_ids = _class_ids(project, change.became_background)
        if bg_ids:
            rows = s.execute(select(ProposalRow.image_id).join(ImageRow, ImageRow.id == ProposalRow.image_id)
                             .where(ImageRow.class_id.in_(bg_ids))).all()
            change.proposals_removed = len(rows)
            change.images_removed = len({r[0] for r in rows})
        obj_ids = _class_ids(project, change.became_object)
        if obj_ids:
            change.images_to_propose = sorted(s.scalars(select(ImageRow.id).where(ImageRow.class_id.in_(obj_ids),
                                                                                  ImageRow.missing.is_(False))).all())
    return change


def apply_roles(project, ticked: list[str], answers: dict[str, bool | None] | None = None) -> RoleChange:
    """Make ``ticked`` the project's background classes, in one transaction (see the module doc). ``answers``:
    the answers to "keep boxes of this background class?" to keep with them (None forgets one), same transaction."""
    change = preview_roles(project, ticked)
    names = [c.name for c in project.classes()]
    settings = load_settings(project, fallback=True)
    settings.background_classes = setting_for(names, ticked)
    with project.transaction() as s:
        s.merge(Meta(key=META_KEY, value=json.dumps(settings.to_dict())))
        if answers:
            _merge_answers(s, answers)
        if not change.changed:
            return change
        bg_ids = _class_ids(project, change.became_background)
        if bg_ids:
            s.execute(delete(ProposalRow).where(ProposalRow.image_id.in_(
                select(ImageRow.id).where(ImageRow.class_id.in_(bg_ids)))))
        row = s.get(Meta, PROPOSALS_PENDING)
        pending = set(json.loads(row.value)) if row is not None and row.value else set()
        pending |= set(change.images_to_propose)
        s.merge(Meta(key=PROPOSALS_PENDING, value=json.dumps(sorted(pending))))
        record = {"at": utcnow().isoformat(), "background": change.became_background,
                  "object": change.became_object, "images": change.images_to_propose}
        s.merge(Meta(key=ROLES_CHANGED, value=json.dumps(record)))
    return change


def last_change(project) -> dict | None:
    """The last recorded change of roles (see ROLES_CHANGED), or None."""
    text = project.get_meta(ROLES_CHANGED)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def proposals_out_of_date(project, image_id: int) -> bool:
    """Whether this image's class became an object class in the last change and its proposals were not
    computed since."""
    change = last_change(project)
    if not change or image_id not in set(change.get("images", ())):
        return False
    pending = set(json.loads(project.get_meta(PROPOSALS_PENDING) or "[]"))
    return image_id in pending or not project.proposals.list(image_id)


def run_record(project, settings: Settings) -> list[str]:
    """What a training run records: the background classes it is trained with."""
    return background_names(settings, [c.name for c in project.classes()])


def run_is_out_of_date(project, run, settings: Settings | None = None) -> bool:
    """Whether a training run was trained with other background classes than the project has now.

    Runs from before runs recorded them count as out of date when a change was made after they started."""
    settings = settings if settings is not None else load_settings(project, fallback=True)
    recorded = (run.config or {}).get(RUN_KEY)
    if recorded is not None:
        names = [c.name for c in project.classes()]
        return set(recorded) & set(names) != set(background_names(settings, names))
    change = last_change(project)
    if not change or run.started_at is None:
        return False
    try:
        return datetime.fromisoformat(change["at"]) > run.started_at
    except (KeyError, ValueError, TypeError):
        return False


def runs_notice(project, settings: Settings | None = None) -> str:
    """What the training panel says when the latest trained model was trained with other background classes."""
    settings = settings if settings is not None else load_settings(project, fallback=True)
    finished = [r for r in project.runs.list() if r.status == "finished"]
    if not finished or not run_is_out_of_date(project, finished[-1], settings):
        return ""
    return (f"Out of date: background classes changed since {training_run_name(finished[-1].id)} was trained. "
            "Train again so the model learns with the classes as they are now.")


def first_object_image(project, ids: list[int]) -> int | None:
    """The first of ``ids`` (the browser's order) whose class shows an object, so a new project opens on something
    to look at rather than on e.g. ``no_site_0001``; the first of ``ids`` when none does; None when empty."""
    if not ids:
        return None
    settings = load_settings(project, fallback=True)
    objects = [c.id for c in project.classes() if not settings.is_background(c.name)]
    if not objects:
        return ids[0]
    with project.read() as s:
        wanted = set(s.scalars(select(ImageRow.id).where(ImageRow.class_id.in_(objects))).all())
    return next((i for i in ids if i in wanted), ids[0])
