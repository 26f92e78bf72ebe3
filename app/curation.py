"""Curation: turns canvas gestures and keys into undoable store commands.

Every edit runs synchronously as one store transaction; the canvas is redrawn from the
database afterwards, so what the inspector sees is what is stored. A refused edit (e.g. a
box of no area) changes nothing and says why in the status bar.
"""
from __future__ import annotations

from PySide6.QtCore import QObject

from core.store.project import ChangedMeanwhile, ProjectWriteError

from app.commands import (AcceptProposalCommand, AddBoxCommand, DeleteBoxCommand, SetProposalStatusCommand,
                          SetReviewCommand, StoreCommand, UpdateBoxCommand)


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

    def _run(self, cmd: StoreCommand) -> bool:
        try:
            cmd.execute()
        except ProjectWriteError as exc:   # read-only file, full disk: said at once, never shown as done
            self.s.message.emit(f"{cmd.text()}: {_reason(exc)}")
            self.s.notify_boxes(cmd.image_id)
            return False
        except ChangedMeanwhile as exc:    # another program replaced the rows: show what the file holds now
            self.s.message.emit(f"{cmd.text()}: {_reason(exc)}")
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
        cmd = AddBoxCommand(self.s, self.s.image.id, xyxy, self.s.default_class_id())
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
            self._run(UpdateBoxCommand(self.s, self.s.image.id, sel[1], class_id=cls.id,
                                       text=f"Set class {cls.name}"))
            self.canvas.select("curated", sel[1], emit=False)
            return
        same = self.s.active_class is not None and self.s.active_class.id == cls.id
        self.s.set_active_class(None if same else cls)
        self.s.message.emit("New boxes take the image's class" if same else f"New boxes: {cls.name}")

    # -- suggestions ------------------------------------------------------------------------------
    def _target_proposal(self) -> int:
        sel = self.canvas.selected()
        if sel is not None and sel[0] == "proposal":
            return sel[1]
        cur = self.panel.current_id()
        rec = self.panel.record(cur) if cur >= 0 else None
        if rec is not None and rec.status == "pending":
            return cur
        first = self.panel.first_pending()
        return first.id if first is not None else -1

    def accept(self) -> None:
        """F: the selected prediction or proposal becomes a curated box (else the top pending proposal)."""
        if self.s.image is None:
            return
        sel = self.canvas.selected()
        if sel is not None and sel[0] == "prediction":
            self._accept_item("prediction", sel[1])
            return
        pid = self._target_proposal()
        if pid < 0:
            self.s.message.emit("No pending proposal to accept")
            return
        self._accept_item("proposal", pid)

    def _accept_item(self, kind: str, key: int) -> None:
        if self.s.image is None:
            return
        if kind == "proposal":
            self._run(AcceptProposalCommand(self.s, self.s.image.id, key, self.s.default_class_id()))
        elif kind == "prediction":
            box = self.presenter.predicted_box(key)
            if box is not None:
                self._run(AddBoxCommand(self.s, self.s.image.id, box.xyxy, self.s.default_class_id(),
                                        source="prediction", score=box.score, text="Accept prediction"))
        self.canvas.select(None)

    def reject(self) -> None:
        """B: reject the selected proposal (else the top pending one)."""
        if self.s.image is None:
            return
        pid = self._target_proposal()
        if pid < 0:
            self.s.message.emit("No pending proposal to reject")
            return
        self._run(SetProposalStatusCommand(self.s, self.s.image.id, pid, "rejected"))
        self.canvas.select(None)

    # -- review ------------------------------------------------------------------------------------
    def toggle_review(self, state: str) -> None:
        """Space (verified) / Ctrl+F (flagged); pressing again returns the image to unreviewed."""
        if self.s.image is None:
            return
        self.s.reload_image()
        new = "unreviewed" if self.s.image.review == state else state
        self._run(SetReviewCommand(self.s, self.s.image.id, new))

    # -- selection sync -------------------------------------------------------------------------------
    def _canvas_selection(self, kind: str, key: int) -> None:
        self.panel.select_proposal(key if kind == "proposal" else -1)

    def _panel_selection(self, pid: int) -> None:
        self.canvas.select("proposal" if pid >= 0 else None, pid if pid >= 0 else None, emit=False)


def _reason(exc: Exception) -> str:
    """'not saved: ...' without the project path, which the window title already shows."""
    text = str(exc)
    return text[text.find("not saved"):] if "not saved" in text else text
