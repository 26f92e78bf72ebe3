"""The suggestion gate in the real window: predicted boxes scored like those that have not been right on this project
are held back, counted and explained; Ctrl+6 shows them; the review stored in the project rebuilds the same gate."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.store.project import Project
from tests.app.test_curation import key
from tests.app.test_window_notices import _shot
from tests.app.window_helpers import open_window
from tests.conftest import make_image

pytestmark = pytest.mark.usefixtures("qtbot")
FG = np.full((8, 10), 0.5, np.float32)
TOP = (100.0, 90.0, 150.0, 115.0)
# each image: its best box (0.8) and three second boxes on nothing, until the inspector finds otherwise
SECONDS = [((10.0, 10.0, 30.0, 30.0), 0.5), ((40.0, 10.0, 60.0, 30.0), 0.4), ((70.0, 10.0, 90.0, 30.0), 0.3)]
WHY = "boxes scored like these have not been right on this project so far"


@pytest.fixture
def gate_project(tmp_path: Path):
    """Six 160x120 images of one class, four boxes predicted on each."""
    from core.data.importer import import_images
    root = tmp_path / "imgs"
    for i in range(6):
        make_image(root / "cars" / f"c{i}.png", size=(160, 120), color=(90 + 20 * i, 120, 60))
    p = Project.create(tmp_path / "gate.dips", root)
    import_images(p)
    run = p.maps.new_prediction_run(None, {})
    for rec in p.images.list():
        p.maps.save_prediction(run, rec.id, [1.0], FG, [(*TOP, 0.8)] + [(*b, s) for b, s in SECONDS])
    yield p
    p.close()


@pytest.fixture
def window(qtbot, gate_project):
    with open_window(qtbot, gate_project) as w:
        yield w


def ids(w) -> list[int]:
    return w.browser.model.ids


def go(qtbot, w, n: int) -> None:
    w.session.set_image(ids(w)[n])
    w.canvas.setFocus()
    qtbot.waitUntil(lambda: w.gate_view.ready, timeout=5000)


def on_canvas(w) -> list[float]:
    return sorted(b.score for b in w.proposals.predictions() if b.id in w.canvas.items_of("prediction"))


def statuses(w) -> list[str]:
    return [w.proposals.table.item(r, 5).text() for r in range(w.proposals.table.rowCount())]


def reject_all_and_finish(qtbot, w) -> None:
    """What an inspector does on an image where no suggestion is right: Tab, then B on each; Space; nothing drawn."""
    key(qtbot, w, Qt.Key.Key_Tab)
    while w.canvas.selected() is not None:
        key(qtbot, w, Qt.Key.Key_B)
    key(qtbot, w, Qt.Key.Key_Space)


def reject_first_images(qtbot, w, n: int) -> None:
    """The first ``n`` images reviewed with every suggestion rejected: enough history to close the gate."""
    for k in range(n):
        go(qtbot, w, k)
        reject_all_and_finish(qtbot, w)


def test_rejected_suggestions_close_the_gate_on_scores_like_theirs(qtbot, window):
    w = window
    for n in range(2):
        go(qtbot, w, n)
        assert on_canvas(w) == [0.3, 0.4, 0.5, 0.8]       # too little history: every box is shown
        reject_all_and_finish(qtbot, w)
    go(qtbot, w, 2)
    assert on_canvas(w) == [0.3, 0.4, 0.5, 0.8] and not w.proposals.gate_note.isVisible()
    reject_all_and_finish(qtbot, w)    # 9 second boxes judged, none paid: second boxes are no longer shown

    go(qtbot, w, 3)
    assert on_canvas(w) == [0.8]                          # the image's best box is still shown (3 judged < 8)
    note = w.proposals.gate_note
    assert note.isVisible() and note.text().startswith(f"3 suggestions hidden: {WHY}")
    assert "Ctrl+6" in note.text()
    assert "An image's best box is always shown; its other boxes are not shown: none has paid yet." in note.toolTip()
    assert statuses(w) == ["pending", "hidden", "hidden", "hidden"]   # greyed in the table, with their scores
    # keyboard review skips hidden boxes: Tab, V and F / B only reach the shown one
    key(qtbot, w, Qt.Key.Key_Tab)
    best = w.proposals.predictions()[0].id
    assert w.canvas.selected() == ("prediction", best)
    key(qtbot, w, Qt.Key.Key_Tab)
    assert w.canvas.selected() == ("prediction", best)
    key(qtbot, w, Qt.Key.Key_V)
    # the banner counts the boxes on screen and says how many the gate holds back (not "#1 of 4")
    assert w.canvas.selected() == ("prediction", best)
    said = w.canvas.banner.text()
    assert "Predicted box #1 \u00b7 1 shown, 3 held back by the suggestion gate (Ctrl+6) \u00b7" in said
    _shot(w, "focus_banner_gated")
    banner = w.canvas.banner   # whole on the image area: wrapped, not cut at the canvas's edge
    assert w.canvas.viewport().geometry().contains(banner.geometry())
    assert banner.height() >= banner.heightForWidth(banner.width()) and banner.text().endswith("V leave")
    messages = []
    w.session.message.connect(messages.append)
    key(qtbot, w, Qt.Key.Key_B)
    assert w.canvas.selected() is None and any("3 hidden by the suggestion gate" in m for m in messages)
    assert "3 held back by the suggestion gate" in w.canvas.banner.text()
    key(qtbot, w, Qt.Key.Key_V)
    key(qtbot, w, Qt.Key.Key_F)
    assert "3 held back by the suggestion gate (Ctrl+6 shows them)" in messages[-1]

    # View > Show hidden suggestions (Ctrl+6) shows them, and they can be reviewed like any other
    key(qtbot, w, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    assert w.actions_by_key["show_hidden_suggestions"].isChecked()
    assert on_canvas(w) == [0.3, 0.4, 0.5]
    assert statuses(w) == ["rejected", "pending", "pending", "pending"]
    assert "3 suggestions the gate would hide are shown" in w.proposals.gate_note.text()
    key(qtbot, w, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    assert on_canvas(w) == []


def test_reopening_the_project_gives_the_same_hidden_boxes(qtbot, window, gate_project):
    w = window
    reject_first_images(qtbot, w, 3)
    go(qtbot, w, 4)
    before = sorted(b.id for b in w.proposals.predictions() if w.proposals.is_hidden(b.id))
    assert len(before) == 3
    w.set_project(Project.open(gate_project.path))      # the file alone: nothing kept in the window
    go(qtbot, w, 4)
    assert sorted(b.id for b in w.proposals.predictions() if w.proposals.is_hidden(b.id)) == before
    assert on_canvas(w) == [0.8]


def test_boxes_that_pay_open_the_gate_again(qtbot, window):
    w = window
    reject_first_images(qtbot, w, 3)
    go(qtbot, w, 3)
    assert on_canvas(w) == [0.8]
    # on this image the second boxes are objects: the inspector shows them and keeps all three
    w.actions_by_key["show_hidden_suggestions"].trigger()
    key(qtbot, w, Qt.Key.Key_Tab)
    key(qtbot, w, Qt.Key.Key_B)                 # the best box is wrong here
    for _ in range(3):
        key(qtbot, w, Qt.Key.Key_F)
    key(qtbot, w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.gate_view.ready, timeout=5000)
    w.actions_by_key["show_hidden_suggestions"].trigger()
    # second boxes by score: 0.5 x 4 (3 rejected, 1 kept: -4.8 + 5.4), then 0.4 and 0.3 alike: totals 0.6, 1.2,
    # 1.8 -> shown from 0.3, i.e. all of them
    assert w.gate_view.gate.threshold(1) == pytest.approx(0.3)
    go(qtbot, w, 4)
    assert on_canvas(w) == [0.3, 0.4, 0.5, 0.8] and not w.proposals.gate_note.isVisible()


def test_the_project_setting_turns_the_gate_off(qtbot, window, gate_project):
    w = window
    reject_first_images(qtbot, w, 3)
    go(qtbot, w, 3)
    assert on_canvas(w) == [0.8]
    switch = w.training_panel.form.editors["suggestion_gate"]   # the training panel's "Hide suggestions..."
    switch.setChecked(False)
    assert on_canvas(w) == [0.3, 0.4, 0.5, 0.8]
    from core.settings import load_settings
    assert load_settings(gate_project).train.suggestion_gate is False      # saved with the project at once
    w.set_project(Project.open(gate_project.path))
    go(qtbot, w, 3)
    assert on_canvas(w) == [0.3, 0.4, 0.5, 0.8]


def test_accept_above_a_score_leaves_hidden_boxes_pending(qtbot, window):
    from app.bulk_accept import plan_for
    from app.dialogs.accept_above import describe
    w = window
    reject_first_images(qtbot, w, 3)
    go(qtbot, w, 3)
    plan = plan_for(w.session, 0.2, True, w.gate_view.hidden_ids)
    assert [it.score for it in plan.items] == [pytest.approx(0.8)] and plan.hidden == 3
    assert "3 hidden by the suggestion gate" in describe(plan)
    everywhere = plan_for(w.session, 0.2, False, w.gate_view.hidden_ids)     # images 4-6: the best box of each
    assert len(everywhere.items) == 3 and everywhere.hidden == 9
    w.actions_by_key["show_hidden_suggestions"].trigger()                   # shown: they are accepted too
    assert len(plan_for(w.session, 0.2, True, w.gate_view.hidden_ids).items) == 4


def test_a_long_review_is_replayed_off_the_gui_thread(qtbot, window, gate_project, monkeypatch):
    import threading

    import app.suggestion_gate_view as view
    import core.review_gate as core_gate
    w = window
    reject_first_images(qtbot, w, 3)
    threads = []
    real = core_gate.replay

    def spy(project, *a, **k):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(project, *a, **k)
    monkeypatch.setattr(core_gate, "replay", spy)
    monkeypatch.setattr(view, "REPLAY_ON_THREAD", 2)      # 3 reviewed images count as a long review here
    w.set_project(Project.open(gate_project.path))
    qtbot.waitUntil(lambda: w.gate_view.ready, timeout=10000)
    assert threads == [False]
    go(qtbot, w, 3)
    assert on_canvas(w) == [0.8] and w.proposals.gate_note.isVisible()


def test_accepting_on_many_images_at_once_is_learnt_in_one_read(qtbot, window, monkeypatch):
    """"Accept above a score" on every unreviewed image says boxes_changed once per image: the gate reads them
    together, once the edit is done, and what they teach counts (accepted boxes that are kept pay)."""
    import core.review_gate as core_gate
    from app.bulk_accept import plan_for
    from app.review_commands import AcceptPredictionsCommand
    w = window
    reads = []
    real = core_gate.lessons
    monkeypatch.setattr(core_gate, "lessons", lambda p, ids, *a: reads.append(sorted(ids)) or real(p, ids, *a))
    plan = plan_for(w.session, 0.35, False, w.gate_view.hidden_ids)     # nothing hidden yet: 3 boxes x 6 images
    assert len(plan.items) == 18
    AcceptPredictionsCommand(w.session, w.session.image_id, [(it.predicted_box_id, it.class_id, it.image_id)
                                                             for it in plan.items], "accept").execute()
    qtbot.waitUntil(lambda: w.gate_view.ready, timeout=5000)
    assert reads == [sorted(ids(w))]
    # best boxes: 6 kept (+5.4 each); second boxes 0.5 and 0.4 kept: 12 judged, all paid -> shown from 0.4
    assert w.gate_view.gate.judged(0) == 6 and w.gate_view.gate.threshold(1) == pytest.approx(0.4)
