"""The suggestion gate in the review window: predicted boxes scored like those that have not been right on this
project so far are held back (off the canvas, greyed in the review table, out of F / B / Tab's reach), with a
count and the reason in the table's panel, until View > Show hidden suggestions (Ctrl+6) shows them.

The gate itself is core's (``core/review_gate.py``): rebuilt from the review stored in the project when it opens,
then kept up to date one image at a time as the inspector decides boxes, draws them and marks images reviewed.
A project with many reviewed images is replayed on a thread (bench/gate_replay.py measures it); until it is
ready nothing is hidden. The project setting ``suggestion_gate`` (core/settings.py, in the training panel)
turns it off.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QObject, QTimer, Signal

from app.probe import ask_in_background

# above this many reviewed images the replay runs on a thread: about 0.1 ms per reviewed image on a 2-core Xeon,
# 10-30 s for 100,000 (bench/gate_replay.py, docs/BENCHMARKS.md), so up to ~50 ms on the GUI thread below it
REPLAY_ON_THREAD = 500
WHY = "boxes scored like these have not been right on this project so far"


class SuggestionGateView(QObject):
    changed = Signal()    # the gate learnt something or was switched: the current image's boxes are shown again

    def __init__(self, session, panel, presenter, parent=None):
        super().__init__(parent)
        self.s, self.panel, self.presenter = session, panel, presenter
        self.gate = None               # core.review_gate.ReviewGate; None: not built yet (nothing hidden)
        self.enabled = True            # the project's setting (core/settings.py TrainConfig.suggestion_gate)
        self._generation = 0           # a replay started for an earlier project (or state) is dropped
        self._dirty: set[int] = set()   # images whose review changed, relearnt together once the edit is done
        self._replaying = False
        self._watched = None
        panel.hide_rule = self.hide_rule
        session.project_changed.connect(self._project_changed)
        session.boxes_changed.connect(self.relearn)
        session.image_state_changed.connect(self.relearn)
        # F / B on the image shown; "accept all above s" says boxes_changed for each image it touched
        session.predictions_changed.connect(lambda: self.relearn(self.s.image_id))
        # a finished prediction run may change what reviewed images are judged on: replayed whole, once it settles
        self._later = QTimer(self, singleShot=True, interval=300)
        self._later.timeout.connect(self.reload)
        # edits are relearnt once control returns to the event loop: "accept above a score" says boxes_changed
        # for each of its images, and they are then read in one go
        self._soon = QTimer(self, singleShot=True, interval=0)
        self._soon.timeout.connect(self._flush)

    # -- what the window asks -----------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """The gate has learnt everything the project holds (nothing being replayed or waiting to be relearnt)."""
        return self.gate is not None and not self._replaying and not self._dirty

    def hide_rule(self, boxes) -> tuple[set[int], str]:
        """(ids of the pending boxes to hold back, why in plain words) for an image's predicted boxes (best first)."""
        if not self.enabled or self.gate is None or not boxes:
            return set(), ""
        hidden = {boxes[i].id for i in self.gate.hidden([b.score for b in boxes]) if boxes[i].status == "pending"}
        return hidden, WHY

    def explain(self) -> str:
        """The gate's state in a sentence (the tooltip of the panel's count)."""
        g = self.gate
        if not self.enabled:
            return "The suggestion gate is off for this project (training panel: Hide suggestions that have not paid)."
        if g is None:
            return "The suggestion gate is still reading this project's review."

        def rule(rank: int, boxes: str, verb: str) -> str:
            t = g.threshold(rank)
            return (f"{boxes} {verb} not shown: none has paid yet" if math.isinf(t) else
                    f"{boxes} {verb} always shown" if t <= 0 else f"{boxes} {verb} shown from score {t:.2f} up")
        best = rule(0, "An image's best box", "is")
        return (f"Learned from {len(g.lessons)} reviewed images ({g.judged(0) + g.judged(1)} predicted boxes judged "
                f"against the boxes they ended with). {best}; "
                f"{rule(1, 'its other boxes', 'are')}. A shown box costs a look (about {g.costs.verify:g} s) and "
                f"saves drawing one (about {g.costs.draw:g} s) only when it is right.")

    def hidden_ids(self, image_ids) -> set[int]:
        """Ids of the pending predicted boxes the gate hides on these images (their latest predictions), for
        "accept all above s"; empty while hidden suggestions are shown or the gate is off."""
        if not self.enabled or self.gate is None or self.panel.show_hidden or self.s.project is None:
            return set()
        out: set[int] = set()
        ids = sorted(set(image_ids))
        for i in range(0, len(ids), 20_000):    # under SQLite's limit on bound parameters
            for _run, boxes in self.s.project.maps.latest_boxes_by_image(ids[i:i + 20_000]).values():
                out |= self.hide_rule(boxes)[0]
        return out

    # -- switches --------------------------------------------------------------------------------------
    def set_show_hidden(self, on: bool) -> None:
        self.panel.show_hidden = on
        self._refresh()

    def watch(self, training_panel) -> None:
        """The training panel's switch of the setting takes effect (and is saved) at once, not with the next run."""
        editor = getattr(getattr(training_panel, "form", None), "editors", {}).get("suggestion_gate")
        if editor is None or editor is self._watched:
            return
        self._watched = editor
        editor.toggled.connect(self._setting_switched)
        training_panel.run_finished.connect(lambda *_: self._later.start())

    def _setting_switched(self, on: bool) -> None:
        p = self.s.project
        if p is None or on == self.enabled:
            return
        from core.settings import load_settings, save_settings
        settings = load_settings(p, fallback=True)
        settings.train.suggestion_gate = on
        save_settings(p, settings)
        self.enabled = on
        self.s.message.emit("Suggestion gate on: suggestions that have not paid on this project are hidden" if on
                            else "Suggestion gate off: every predicted box is shown")
        self._refresh()

    # -- learning ------------------------------------------------------------------------------------
    def _project_changed(self, project) -> None:
        self.gate, self._replaying, self._dirty = None, False, set()
        self._generation += 1
        if project is None:
            return
        from core.settings import load_settings
        self.enabled = load_settings(project, fallback=True).train.suggestion_gate
        self.reload()

    def reload(self) -> None:
        """Replay the whole stored review (on a thread when it is long)."""
        p = self.s.project
        if p is None:
            return
        from core.review_gate import replay
        self._generation += 1
        gen = self._generation
        n = _images_to_replay(p)
        if n <= REPLAY_ON_THREAD:
            self._replayed((gen, replay(p)))
            return
        self._replaying = True
        self.s.message.emit(f"Suggestion gate: reading the review of {n:,} images (every predicted box is shown "
                            f"until it is done)")
        ask_in_background(lambda: (gen, replay(p)), self._replayed, (gen, None), "gate-replay")

    def _replayed(self, result) -> None:
        gen, gate = result
        if gen != self._generation:
            return
        threaded, self._replaying = self._replaying, False
        if gate is None:     # the replay failed: nothing hidden rather than a wrong gate
            self.s.message.emit("The suggestion gate could not read this project's review: every box is shown")
            return
        self.gate = gate
        if threaded:
            # as after every background task (app/main_window.py _settle_heap): the gate's history, long-lived
            # now, leaves the garbage collector's full passes
            import gc
            gc.freeze()
            self.s.message.emit(f"Suggestion gate ready: learned from {len(gate.lessons):,} reviewed images")
        self._refresh()
        self._flush()     # edits made while the replay read the file

    def relearn(self, image_id: int) -> None:
        """An image's review changed (a box decided or drawn, the image marked reviewed): learn it again, together
        with the other images of the same edit, as soon as the edit is done."""
        if self.s.project is None or image_id is None or image_id < 0:
            return
        self._dirty.add(image_id)
        self._soon.start()

    def _flush(self) -> None:
        if self.gate is None or self._replaying or not self._dirty or self.s.project is None:
            return          # a replay under way reads these edits or is followed by a flush
        ids, self._dirty = self._dirty, set()
        if len(ids) > REPLAY_ON_THREAD:
            self.reload()
            return
        from core.review_gate import lessons
        before = (self.gate.threshold(0), self.gate.threshold(1))
        found = lessons(self.s.project, ids, self.gate.costs)
        for image_id in ids:
            self.gate.set_lesson(image_id, found.get(image_id))
        if (self.gate.threshold(0), self.gate.threshold(1)) != before:
            self._refresh()

    def _refresh(self) -> None:
        if self.s.image is not None:
            self.presenter.show_predictions()
        self.panel.gate_note.setToolTip(self.explain())
        self.changed.emit()


def _images_to_replay(project) -> int:
    """Images a replay reads: those marked reviewed (a bound; images with decided boxes only add a few)."""
    return project.images.counts()["review"].get("verified", 0)
