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
from core.store.project import ChangedMeanwhile, ProjectWriteError


class CurationController(QObject):
    def __init__(self, session, canvas, proposals_panel, presenter, parent=None):
        super().__init__(parent)
        self.s, self.canvas, self.panel, self.presenter = session, canvas, proposals_panel, presenter
        canvas.box_drawn.connect(self.add_drawn_box)
        canvas.box_edited.connect(self.move_box)
        canvas.accept_requested.connect(self._accept_item)
        canvas.selection_changed.connect(self._canvas_selection)
        proposals_panel.selected.connect(self._panel_selection)
        proposals_panel.hovered.connect(lambda pid: canvas.highlight("proposal" if pid >= 0 else None, pid))
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

    def add_drawn_box(self, xyxy: tuple) -> None:
        if self.s.image is None:
            return
        class_id = self.s.default_class_id()
        if not self.confirm_class(class_id):
            return
        cmd = AddBoxCommand(self.s, self.s.image.id, xyxy, class_id)
        if self._run(cmd):
            self.canvas.select("curated", cmd.ref.id)

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
        project, with the reason; False if the user declines (then nothing is done)."""
        if not self.s.is_background(class_id) or class_id in self.s.background_box_ok:
            return True
        name = self.s.class_name(class_id)
        box = QMessageBox(QMessageBox.Icon.Question, "Box of a background class",
                          f"'{name}' is a background class: its images show no object. DiPS computes no "
                          f"proposals on them and training learns every pixel of them as background.\n\n"
                          f"A box of class '{name}' marks nothing to find. If the image does show an object, "
                          f"give the box an object class (keys 1-9) instead.\n\n"
                          f"Keep boxes of class '{name}' in this project? (You will not be asked again.)",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self.canvas.window())
        box.setObjectName("background_class_question")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        if box.exec() != QMessageBox.StandardButton.Yes:
            self.s.message.emit(f"Not done: no box of the background class '{name}'")
            return False
        self.s.background_box_ok.add(class_id)
        return True

    # -- suggestions ------------------------------------------------------------------------------
    # F / B / double-click act only on the box the user picked and sees: the canvas selection, which
    # never holds a box of a hidden layer. Without one nothing happens and the status bar says why.
    def accept(self) -> None:
        """F: the selected proposal or prediction becomes a curated box."""
        if self.s.image is None:
            return
        sel = self.canvas.selected()
        if sel is None or sel[0] not in ("proposal", "prediction"):
            self.s.message.emit(self._no_target("accept"))
            return
        self._accept_item(*sel)

    def _accept_item(self, kind: str, key: int) -> None:
        if self.s.image is None:
            return
        class_id = self.s.default_class_id()
        if not self.confirm_class(class_id):
            return
        if kind == "proposal":
            rank = self._rank(key)
            if self._run(AcceptProposalCommand(self.s, self.s.image.id, key, class_id)):
                self.select_next_proposal(after_rank=rank)
        elif kind == "prediction":
            box = self.presenter.predicted_box(key)
            if box is not None and self._run(AddBoxCommand(self.s, self.s.image.id, box.xyxy, class_id,
                                                           source="prediction", score=box.score,
                                                           text="Accept prediction")):
                self.canvas.select(None)

    def reject(self) -> None:
        """B: reject the selected proposal."""
        if self.s.image is None:
            return
        sel = self.canvas.selected()
        if sel is not None and sel[0] == "prediction":
            self.s.message.emit("B rejects proposals; a predicted box is only kept if you accept it (F)")
            return
        if sel is None or sel[0] != "proposal":
            self.s.message.emit(self._no_target("reject"))
            return
        rank = self._rank(sel[1])
        if self._run(SetProposalStatusCommand(self.s, self.s.image.id, sel[1], "rejected")):
            self.select_next_proposal(after_rank=rank)

    def _no_target(self, verb: str) -> str:
        sel = self.canvas.selected()
        if sel is not None and sel[0] == "curated":
            what = "a proposal or prediction" if verb == "accept" else "a proposal"
            return f"The selected box is already curated: select {what} to {verb} (Tab: next proposal)"
        if not self.canvas.layer_visible("proposal"):
            return f"Nothing to {verb}: proposals are hidden (View \u25b8 Show proposals, Ctrl+3)"
        if not self.panel.visible():
            return f"Nothing to {verb}: this image has no pending proposal"
        return f"Nothing selected to {verb}: click a proposal (or press Tab for the next one), then " \
               f"{'F' if verb == 'accept' else 'B'}"

    def _rank(self, proposal_id: int) -> int:
        rec = self.panel.record(proposal_id)
        return rec.rank if rec is not None else 0

    def select_next_proposal(self, after_rank: int | None = None, step: int = 1) -> bool:
        """Select the next pending proposal in rank order (``step`` -1: the previous), wrapping around.

        ``after_rank``: the rank to count from (default: the selected proposal's). Only proposals the
        list and canvas show count, and none while the proposal layer is hidden. False if none is left.
        """
        pending = self.panel.visible()
        if after_rank is None:
            sel = self.canvas.selected()
            after_rank = self._rank(sel[1]) if sel is not None and sel[0] == "proposal" else (0 if step > 0 else 10**9)
        if not pending or not self.canvas.layer_visible("proposal"):
            self.canvas.select(None)
            if pending:
                self.s.message.emit("Proposals are hidden (View \u25b8 Show proposals, Ctrl+3)")
            elif self.panel.shown():
                self.s.message.emit("Every proposal shown for this image is decided (D: next image)")
            return False
        if step > 0:
            nxt = next((p for p in pending if p.rank > after_rank), pending[0])
        else:
            nxt = next((p for p in reversed(pending) if p.rank < after_rank), pending[-1])
        self.canvas.select("proposal", nxt.id)
        return True

    # -- focus mode -------------------------------------------------------------------------------
    def set_focus_mode(self, on: bool) -> None:
        """Review proposals one at a time: the selected one in full with its source map, the rest dimmed."""
        self.canvas.set_focus_mode(on)
        self.presenter.set_focus_mode(on)
        if on:
            sel = self.canvas.selected()
            if sel is None or sel[0] != "proposal":
                self.select_next_proposal(after_rank=0)
            self.presenter.show_focus(self._focused())
        else:
            self.presenter.show_focus(None)

    def _focused(self):
        sel = self.canvas.selected()
        return self.panel.record(sel[1]) if sel is not None and sel[0] == "proposal" else None

    def _image_shown(self, rec) -> None:
        if rec is not None and self.canvas.focus_mode:
            self.select_next_proposal(after_rank=0)   # every image starts at its best-ranked proposal
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
        self.panel.select_proposal(key if kind == "proposal" else -1)
        if self.canvas.focus_mode:
            self.presenter.show_focus(self._focused())

    def _panel_selection(self, pid: int) -> None:
        if pid >= 0 and not self.canvas.select("proposal", pid):
            self.panel.select_proposal(-1)
            self.s.message.emit("Proposals are hidden (View \u25b8 Show proposals, Ctrl+3)")
        elif pid < 0:
            self.canvas.select(None)
