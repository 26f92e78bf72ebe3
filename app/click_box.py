"""Click box (C): one click on an object, one curated box around it.

The canvas reports the click (``point_clicked``); the box is computed off the GUI thread by
core.pipeline.click_stage (GrabCut on a window can take ~0.1 s, decoding a large frame longer) and stored exactly
like a drawn box: one undoable transaction (Ctrl+Z removes it), selected, editable by its handles. The method is the
one whose boxes fitted best so far on this project (core.dips.click_box.ClickBoxChooser): when the inspector leaves
an image (or the project closes), every method's box for each click on it is judged against what became of the click
box (kept, moved, or deleted and drawn again), and the chooser's tallies are saved in the project
(core.pipeline.click_stage.save_chooser): a reopened project goes on with the method it had learned. A result that
arrives after the inspector moved to another image is dropped and said so. Click-box mode stays on from image to image
until Esc or another tool (the canvas keeps it): boxing the objects of a whole folder is one key press, then clicks.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from app.curation import CHANGE_ANSWER


class _Signals(QObject):
    done = Signal(int, object)      # request number, ClickResult
    failed = Signal(int, str)       # request number, one line


class _Compute(QRunnable):
    def __init__(self, signals: _Signals, number: int, project, image, click, methods):
        super().__init__()
        self.signals, self.number, self.args = signals, number, (project, image, click, methods)

    def run(self) -> None:   # worker thread: store reads and numpy only, never widgets
        from core.errors import user_message
        from core.pipeline.click_stage import box_for_click
        try:
            result = box_for_click(*self.args)
        except Exception as exc:   # shown in the status bar; the window carries on
            self.signals.failed.emit(self.number, user_message(exc) or f"{exc.__class__.__name__}: {exc}")
        else:
            self.signals.done.emit(self.number, result)


class ClickBoxController(QObject):
    """Click-box mode on ``canvas``; boxes go through ``curation`` (app.curation.CurationController)."""

    box_added = Signal(int)         # curated box id (tests and the status bar wait on it)

    def __init__(self, session, canvas, curation, parent=None):
        super().__init__(parent)
        self.s, self.canvas, self.curation = session, canvas, curation
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)   # clicks are boxed in the order they were made
        self._signals = _Signals(self)
        self._signals.done.connect(self._done)
        self._signals.failed.connect(self._failed)
        self._number = 0
        self._pending: dict[int, tuple] = {}   # request number -> (image id, chosen method, class id of the box)
        self._clicks: list[tuple[int, object, tuple, dict]] = []   # (image id, BoxRef, click, every method's box)
        self._chooser = None   # made at the first click: opening a project loads no OpenCV or torch
        self._to_ask: list[tuple[float, float]] | None = None   # clicks waiting for the background-class question
        canvas.point_clicked.connect(self.click_at)
        session.image_changed.connect(lambda _rec: self._judge_clicks())
        session.project_changed.connect(self._new_project)

    @property
    def chooser(self):
        """The project's core.dips.click_box.ClickBoxChooser."""
        if self._chooser is None:
            from core.dips.click_box import ClickBoxChooser
            self._chooser = ClickBoxChooser()
            if self.s.project is not None:
                from core.pipeline.click_stage import load_chooser
                try:
                    load_chooser(self.s.project, self._chooser)
                except ValueError as exc:   # a damaged tally: the click box still works, learning again
                    self.s.message.emit(f"Click box: starting again from {self._chooser.default} ({exc})")
        return self._chooser

    @chooser.setter
    def chooser(self, value) -> None:
        self._chooser = value

    def start(self) -> None:
        """C: enter click-box mode. On an image whose new boxes get a background class (its images show no object)
        the once-per-class question comes now, before any click; No leaves the mode off."""
        if self.s.image is None:
            return
        if not self.curation.confirm_class(self.s.default_class_id()):
            name = self.s.class_name(self.s.default_class_id())
            self.s.message.emit(f"Click box not started: new boxes here would be of the background class '{name}', "
                                f"and you chose no boxes of it (keys 1-9 pick another class; {CHANGE_ANSWER} "
                                "changes the answer)")
            return
        self.canvas.start_click()
        self.s.message.emit("Click on an object: its box is drawn for you (Esc leaves click-box mode)")

    def click_at(self, x: float, y: float) -> None:
        """A click in click-box mode. The box's class is fixed now; if it is a background class not agreed to yet
        (the mode came along from an object image, or 1-9 picked it), the question comes at the click, before the
        box is computed, never when the box arrives, and Yes boxes this very click."""
        if self.s.project is None or self.s.image is None:
            return
        class_id = self.s.default_class_id()
        if self.s.is_background(class_id) and self.s.background_box_answer(class_id) is not True:
            if self._to_ask is not None:    # a second click before the question showed: one question for both
                self._to_ask.append((x, y))
                return
            # asked once the press is handled (a modal box inside the canvas's mouse press leaves it half-pressed)
            self._to_ask = [(x, y)]
            image_id = self.s.image.id
            QTimer.singleShot(0, lambda: self._ask_then_box(image_id, class_id))
            return
        self._box(class_id, x, y)

    def _ask_then_box(self, image_id: int, class_id) -> None:
        if self._to_ask is None or self.s.image is None or self.s.image.id != image_id:
            self._to_ask = None
            return
        yes = self.curation.confirm_class(class_id)
        clicks, self._to_ask = self._to_ask or [], None
        for x, y in clicks if yes else ():
            self._box(class_id, x, y)

    def _box(self, class_id, x: float, y: float) -> None:
        self._number += 1
        method = self.chooser.choose()
        self._pending[self._number] = (self.s.image.id, method, class_id)
        self.s.message.emit("Click box: finding the object...")
        self.pool.start(_Compute(self._signals, self._number, self.s.project, self.s.image, (x, y),
                                 self.chooser.methods))

    def wait(self, ms: int = -1) -> bool:
        """Wait for the clicks being boxed (closing the window, tests)."""
        return self.pool.waitForDone(ms)

    # -- results (GUI thread) ---------------------------------------------------------------------
    def _done(self, number: int, result) -> None:
        image_id, method, class_id = self._pending.pop(number, (None, "", None))
        if image_id is None or self.s.image is None or self.s.image.id != image_id:
            self.s.message.emit("Click box: not added (the image changed before its box was found)")
            return
        box = tuple(round(float(v), 2) for v in result.boxes[method])
        box_id = self.curation.add_drawn_box(box, text="Click box", class_id=class_id)
        if box_id is not None:
            # the box's ref follows it through undo / redo (app.commands.BoxRefs)
            self._clicks.append((image_id, self.s.box_refs.get(box_id), result.click, result.boxes))
            self.box_added.emit(box_id)

    def _failed(self, number: int, message: str) -> None:
        self._pending.pop(number, None)
        self.s.message.emit(f"Click box: not added ({message})")

    # -- learning which method pays ----------------------------------------------------------------
    def _judge_clicks(self) -> None:
        """The inspector left the image: what each of its click boxes became tells the chooser which method
        would have cost least (the box as it stands now; if it was deleted, the curated box drawn around the
        click instead; neither: not counted)."""
        if not self._clicks or self.s.project is None:
            self._clicks = []
            return
        by_image: dict[int, list] = {}
        for c in self._clicks:
            by_image.setdefault(c[0], []).append(c)
        self._clicks = []
        learned = False
        for image_id, clicks in by_image.items():
            boxes = {b.id: b for b in self.s.project.boxes.list(image_id)}
            for _, ref, (x, y), candidates in clicks:
                final = boxes.get(ref.id)
                if final is None:
                    around = [b for b in boxes.values() if b.x0 <= x <= b.x1 and b.y0 <= y <= b.y1]
                    final = min(around, key=lambda b: (b.x1 - b.x0) * (b.y1 - b.y0)) if around else None
                if final is not None and self._chooser is not None:
                    self._chooser.record(candidates, np.array([final.x0, final.y0, final.x1, final.y1]))
                    learned = True
        if learned:
            from core.errors import ProjectError
            from core.pipeline.click_stage import save_chooser
            try:
                save_chooser(self.s.project, self._chooser)
            except ProjectError as exc:   # read-only file, full disk: the boxes are saved, what was learned is not
                self.s.message.emit(f"Click box: the method choice was not saved ({exc})")

    def finish(self) -> None:
        """The project is about to close (another opens, or the window): wait for the clicks being boxed and judge
        those of the image shown, so what they taught is saved with the project."""
        self.wait(5000)
        self._judge_clicks()

    def _new_project(self, _project) -> None:
        self._clicks, self._pending, self._to_ask = [], {}, None
        self._chooser = None
