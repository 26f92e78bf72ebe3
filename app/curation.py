"""Curation: turns canvas gestures and keys into undoable store commands.

Every edit runs synchronously as one store transaction; the canvas is redrawn from the
database afterwards, so what the inspector sees is what is stored. A refused edit (e.g. a
box of no area) changes nothing and says why in the status bar.
"""
from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from app.commands import (
    AcceptProposalCommand,
    AddBoxCommand,
    DeleteBoxCommand,
    SetFlagCommand,
    SetProposalStatusCommand,
    SetReviewCommand,
    StoreCommand,
    UpdateBoxCommand,
    save_failure,
)
from app.review_commands import AcceptPredictionCommand, SetPredictionStatusCommand
from core.store.project import ChangedMeanwhile, ProjectWriteError

# where the kept answer to "keep boxes of this background class?" is changed
CHANGE_ANSWER = "File \u25b8 Background classes..."
SUGGESTIONS = ("proposal", "prediction")   # the kinds F / B / Tab / focus mode work on, in table order


class CurationController(QObject):
    def __init__(self, session, canvas, proposals_panel, presenter, parent=None):
        super().__init__(parent)
        self.s, self.canvas, self.panel, self.presenter = session, canvas, proposals_panel, presenter
        canvas.box_drawn.connect(self.add_drawn_box)
        canvas.box_edited.connect(self.move_box)
        canvas.accept_requested.connect(self._accept_item)
        canvas.selection_changed.connect(self._canvas_selection)
        proposals_panel.selected.connect(self._panel_selection)
        proposals_panel.hovered.connect(lambda kind, key: canvas.highlight(kind or None, key))
        proposals_panel.accept_clicked.connect(self.accept)
        proposals_panel.reject_clicked.connect(self.reject)
        session.image_changed.connect(self._image_shown)

    def _run(self, cmd: StoreCommand) -> bool:
        try:
            cmd.execute()
        except ProjectWriteError as exc:   # read-only file, full disk: said at once, never shown as done
            self.s.message.emit(f"{cmd.text()}: {save_failure(exc)}")
            self.s.notify_boxes(cmd.image_id)
            return False
        except ChangedMeanwhile as exc:    # another program replaced the rows: show what the file holds now
            self.s.message.emit(f"{cmd.text()}: {save_failure(exc)}")
            self.s.notify_boxes(cmd.image_id)
            self.s.proposals_changed.emit(cmd.image_id)
            return False
        except (ValueError, KeyError) as exc:
            self.s.message.emit(f"{cmd.text()}: not done ({exc})")
            return False
        self.s.message.emit(f"{cmd.text()}: saved")
        return True

    # -- boxes ------------------------------------------------------------------------------
    def start_draw(self) -> None:
        if self.s.image is not None:
            self.canvas.start_draw()
            self.s.message.emit("Drag on the image to draw a box (Esc cancels)")

    def add_drawn_box(self, xyxy: tuple, text: str = "Draw box", class_id: int | None = None) -> int | None:
        """A new curated box (one undoable transaction), selected; its id, or None if it was not stored.

        ``class_id``: the class fixed when the box was asked for (a click box); default: the one new boxes get now."""
        if self.s.image is None:
            return None
        if class_id is None:
            class_id = self.s.default_class_id()
        if not self.confirm_class(class_id):
            return None
        cmd = AddBoxCommand(self.s, self.s.image.id, xyxy, class_id, text=text)
        if self._run(cmd):
            self.canvas.select("curated", cmd.ref.id)
            return cmd.ref.id
        return None

    def move_box(self, box_id: int, xyxy: tuple) -> None:
        text = "Move box"
        if not self._run(UpdateBoxCommand(self.s, self.s.image.id, box_id, xyxy=xyxy, text=text)):
            self.presenter.show_curated()  # put it back where the database has it

    def delete_selected(self) -> None:
        sel = self.canvas.selected()
        if sel is None or sel[0] != "curated":
            self.s.message.emit("Select a curated box to delete (click it)")
            return
        self._run(DeleteBoxCommand(self.s, self.s.image.id, sel[1]))

    def set_class(self, position: int) -> None:
        """1-9: the selected curated box gets that class; with none selected, new boxes will."""
        cls = self.s.class_at(position)
        if cls is None:
            self.s.message.emit(f"No class {position}: the project has {len(self.s.classes)} classes")
            return
        sel = self.canvas.selected()
        if sel is not None and sel[0] == "curated" and self.s.image is not None:
            if not self.confirm_class(cls.id):
                return
            self._run(UpdateBoxCommand(self.s, self.s.image.id, sel[1], class_id=cls.id,
                                       text=f"Set class {cls.name}"))
            self.canvas.select("curated", sel[1], emit=False)
            return
        same = self.s.active_class is not None and self.s.active_class.id == cls.id
        self.s.set_active_class(None if same else cls)
        self.s.message.emit("New boxes take the image's class" if same else f"New boxes: {cls.name}")

    def confirm_class(self, class_id: int | None) -> bool:
        """A box of a background class (its images show no object) is asked about once per class and
        project, with the reason; the answer is kept in the project (core.class_roles.set_box_answer), so neither
        Yes nor No brings the question back (File > Background classes... changes it). False if declined now or
        before (then nothing is done)."""
        if not self.s.is_background(class_id):
            return True
        name = self.s.class_name(class_id)
        answer = self.s.background_box_answer(class_id)
        if answer is not None:
            if not answer:
                self.s.message.emit(f"Not done: you chose no boxes of the background class '{name}' "
                                    f"({CHANGE_ANSWER} changes it)")
            return answer
        box = QMessageBox(QMessageBox.Icon.Question, "Box of a background class",
                          f"'{name}' is a background class: its images show no object. DiPS computes no "
                          f"proposals on them and training learns every pixel of them as background.\n\n"
                          f"A box of class '{name}' marks nothing to find. If the image does show an object, "
                          f"give the box an object class (keys 1-9) instead.\n\n"
                          f"Keep boxes of class '{name}' in this project? Your answer is kept with the project "
                          f"and not asked again; {CHANGE_ANSWER} changes it.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self.canvas.window())
        box.setObjectName("background_class_question")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        yes = box.exec() == QMessageBox.StandardButton.Yes
        if not self._keep_answer(name, yes):
            return False
        if not yes:
            self.s.message.emit(f"Not done: no boxes of the background class '{name}' ({CHANGE_ANSWER} changes it)")
        return yes

    def _keep_answer(self, name: str, yes: bool) -> bool:
        """The answer on disk before anything follows from it; False (and said) when the project cannot be written."""
        from core.class_roles import set_box_answer
        try:
            set_box_answer(self.s.project, name, yes)
        except (ProjectWriteError, ChangedMeanwhile) as exc:   # a read-only or locked file: said, nothing done
            self.s.message.emit(f"Not done: the answer could not be saved ({exc})")
            return False
        return True

    # -- suggestions ------------------------------------------------------------------------------
    # F / B / double-click act only on the box the user picked and sees: the canvas selection, which
    # never holds a box of a hidden layer. Without one nothing happens and the status bar says why.
    # Proposals and predicted boxes are decided alike; the next target follows the table's order.
    def accept(self) -> None:
        """F: the selected proposal or prediction becomes a curated box."""
        if self.s.image is None:
            return
        if self.presenter.unreadable() is not None:   # nothing is offered: say why rather than "nothing selected"
            self.s.message.emit(f"Nothing to accept: {self.s.image.name} could not be decoded, its suggestions are "
                                f"not offered (the card on the image says what to do)")
            return
        sel = self.canvas.selected()
        if sel is None or sel[0] not in SUGGESTIONS:
            self.s.message.emit(self._no_target("accept"))
            return
        self._accept_item(*sel)

    def _accept_item(self, kind: str, key: int) -> None:
        if self.s.image is None or kind not in SUGGESTIONS or self.presenter.unreadable() is not None:
            return
        class_id = self.s.default_class_id()
        if not self.confirm_class(class_id):
            return
        row = self.panel.row_of(kind, key)
        cmd = (AcceptProposalCommand(self.s, self.s.image.id, key, class_id) if kind == "proposal" else
               AcceptPredictionCommand(self.s, self.s.image.id, key, class_id))
        if self._run(cmd):
            self.select_next_proposal(after_row=row)

    def reject(self) -> None:
        """B: reject the selected proposal or prediction (kept as rejected: it is not shown again)."""
        if self.s.image is None:
            return
        sel = self.canvas.selected()
        if sel is None or sel[0] not in SUGGESTIONS:
            self.s.message.emit(self._no_target("reject"))
            return
        row = self.panel.row_of(*sel)
        cmd = (SetProposalStatusCommand(self.s, self.s.image.id, sel[1], "rejected") if sel[0] == "proposal" else
               SetPredictionStatusCommand(self.s, self.s.image.id, sel[1], "rejected"))
        if self._run(cmd):
            self.select_next_proposal(after_row=row)

    def _shown_kinds(self) -> tuple[str, ...]:
        return tuple(k for k in SUGGESTIONS if self.canvas.layer_visible(k))

    def _no_target(self, verb: str) -> str:
        sel = self.canvas.selected()
        if sel is not None and sel[0] == "curated":
            return f"The selected box is already curated: select a proposal or prediction to {verb} (Tab: next one)"
        shown = self._shown_kinds()
        if not shown:
            return f"Nothing to {verb}: proposals and predictions are hidden (View \u25b8 Show proposals, " \
                   f"Ctrl+3; Show predictions, Ctrl+4)"
        if not self.panel.pending(shown):
            hidden = [k for k in SUGGESTIONS if k not in shown and self.panel.pending((k,))]
            held = self.panel.hidden_count() if "prediction" in shown else 0
            return (f"Nothing to {verb}: this image has no pending proposal or prediction" +
                    (f" shown ({hidden[0]}s are hidden)" if hidden else "") +
                    (f"; {held} held back by the suggestion gate (Ctrl+6 shows them)" if held else ""))
        return f"Nothing selected to {verb}: click a proposal or prediction (or press Tab for the next one), then " \
               f"{'F' if verb == 'accept' else 'B'}"

    def _rank(self, proposal_id: int) -> int:
        rec = self.panel.record(proposal_id)
        return rec.rank if rec is not None else 0

    def select_next_proposal(self, after_row: int | None = None, step: int = 1) -> bool:
        """Select the next pending proposal or prediction in the table's order (``step`` -1: the previous),
        wrapping around: proposals by rank, then predicted boxes by score.

        ``after_row``: the table row to count from (default: the selected item's). Only what the list and canvas
        show counts, and nothing of a hidden layer. False if nothing is left.
        """
        kinds = self._shown_kinds()
        pending = self.panel.pending(kinds)
        if after_row is None:
            sel = self.canvas.selected()
            after_row = self.panel.row_of(*sel) if sel is not None and sel[0] in SUGGESTIONS else -1
            if after_row < 0 and step < 0:
                after_row = 10**9
        if not pending:
            self.canvas.select(None)
            if self.panel.pending(SUGGESTIONS):
                self.s.message.emit("Proposals are hidden (View \u25b8 Show proposals, Ctrl+3)"
                                    if "proposal" not in kinds and self.panel.pending(("proposal",)) else
                                    "Predictions are hidden (View \u25b8 Show predictions, Ctrl+4)")
            elif self.panel.rows():
                held = sum(self.panel.is_hidden(it.key) for it in self.panel.rows() if it.kind == "prediction")
                self.s.message.emit("Every suggestion shown for this image is decided (D: next image)" +
                                    (f"; {held} hidden by the suggestion gate (Ctrl+6 shows them)" if held else ""))
            return False
        rows = [(self.panel.row_of(it.kind, it.key), it) for it in pending]
        if step > 0:
            nxt = next((it for r, it in rows if r > after_row), rows[0][1])
        else:
            nxt = next((it for r, it in reversed(rows) if r < after_row), rows[-1][1])
        self.canvas.select(nxt.kind, nxt.key)
        return True

    # -- focus mode -------------------------------------------------------------------------------
    def set_focus_mode(self, on: bool) -> None:
        """Review suggestions one at a time: the selected one in full with its source map, the rest dimmed."""
        self.canvas.set_focus_mode(on)
        self.presenter.set_focus_mode(on)
        if on:
            sel = self.canvas.selected()
            if sel is None or sel[0] not in SUGGESTIONS:
                self.select_next_proposal(after_row=-1)
            self.presenter.show_focus(self._focused())
        else:
            self.presenter.show_focus(None)

    def _focused(self):
        sel = self.canvas.selected()
        if sel is None:
            return None
        if sel[0] == "proposal":
            return self.panel.record(sel[1])
        return self.panel.prediction(sel[1]) if sel[0] == "prediction" else None

    def _image_shown(self, rec) -> None:
        if rec is not None and self.canvas.focus_mode:
            self.select_next_proposal(after_row=-1)   # every image starts at its best-ranked suggestion
            self.presenter.show_focus(self._focused())

    # -- review ------------------------------------------------------------------------------------
    def toggle_review(self) -> None:
        """Space: mark the image reviewed; again: back to unreviewed. The flag is left alone."""
        if self.s.image is None:
            return
        self.s.reload_image()
        new = "unreviewed" if self.s.image.review == "verified" else "verified"
        self._run(SetReviewCommand(self.s, self.s.image.id, new))

    def toggle_flag(self) -> None:
        """Ctrl+F: flag the image for a second look; again: clear the flag. The review mark is left alone."""
        if self.s.image is None:
            return
        self.s.reload_image()
        self._run(SetFlagCommand(self.s, self.s.image.id, not self.s.image.flagged))

    # -- selection sync -------------------------------------------------------------------------------
    def _canvas_selection(self, kind: str, key: int) -> None:
        self.panel.select_item(kind if kind in SUGGESTIONS else "", key)
        if self.canvas.focus_mode:
            self.presenter.show_focus(self._focused())

    def _panel_selection(self, kind: str, key: int) -> None:
        if kind and not self.canvas.select(kind, key):
            self.panel.select_item("", -1)
            if kind == "prediction" and self.panel.is_hidden(key):
                self.s.message.emit("That prediction is hidden: boxes scored like it have not been right on this "
                                    "project so far (View \u25b8 Show hidden suggestions, Ctrl+6)")
            elif not self.canvas.layer_visible(kind):
                self.s.message.emit("Proposals are hidden (View \u25b8 Show proposals, Ctrl+3)" if kind == "proposal"
                                    else "Predictions are hidden (View \u25b8 Show predictions, Ctrl+4)")
            else:
                self.s.message.emit(f"That {kind} is decided: it is no longer drawn")
        elif not kind:
            self.canvas.select(None)
