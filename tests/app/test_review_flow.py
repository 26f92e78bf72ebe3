"""The inspector's review flow in the real window: F / B act only on the box picked and seen, the
selection moves to the next pending proposal, focus mode, the table starts at rank 1 on every image."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from core.store.repos.proposals import NewProposal
from tests.app.test_curation import drag, key, three_proposals, vp

pytestmark = pytest.mark.usefixtures("qtbot")
LEFT, NOMOD = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


def status_of(db, rank: int, image_id: int) -> str:
    return db.execute("SELECT status FROM proposals WHERE rank=? AND image_id=?", (rank, image_id)).fetchone()[0]


def decided(db) -> int:
    return db.execute("SELECT count(*) FROM proposals WHERE status != 'pending'").fetchone()[0]


def ids_by_rank(db, image_id: int) -> dict[int, int]:
    return dict(db.execute("SELECT rank, id FROM proposals WHERE image_id=?", (image_id,)).fetchall())


def click(w, x: float, y: float) -> None:
    QTest.mouseClick(w.canvas.viewport(), LEFT, NOMOD, vp(w, x, y))


def message(w) -> str:
    return w.statusBar().currentMessage()


def test_accept_and_reject_need_a_visible_selected_target_and_move_to_the_next_pending(qtbot, main_window, db):
    w = main_window
    img = w.session.image
    three_proposals(w, img.id)
    pid = ids_by_rank(db, img.id)

    key(qtbot, w, Qt.Key.Key_F)          # nothing selected: nothing happens, the status bar says why
    key(qtbot, w, Qt.Key.Key_B)
    assert decided(db) == 0 and "Nothing selected" in message(w)
    key(qtbot, w, Qt.Key.Key_R)          # a curated box selected: not a suggestion, nothing happens either
    drag(w, (120, 95), (150, 115))
    key(qtbot, w, Qt.Key.Key_B)
    assert decided(db) == 0 and "already curated" in message(w)
    key(qtbot, w, Qt.Key.Key_Delete)

    click(w, 110, 55)                    # inside rank 2 only
    assert w.canvas.selected() == ("proposal", pid[2])
    key(qtbot, w, Qt.Key.Key_F)
    assert status_of(db, 2, img.id) == "accepted"
    # the selection moved, visibly, to the next pending proposal in rank order: #3
    assert w.canvas.selected() == ("proposal", pid[3]) and w.proposals.current_id() == pid[3]
    assert w.canvas.items_of("proposal")[pid[3]].selected
    key(qtbot, w, Qt.Key.Key_B)
    assert status_of(db, 3, img.id) == "rejected"
    assert w.canvas.selected() == ("proposal", pid[1])  # past the last rank: back to the first pending

    # a hidden layer is never acted on: hiding proposals drops the selection, F / B then do nothing
    key(qtbot, w, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert w.canvas.selected() is None
    key(qtbot, w, Qt.Key.Key_B)
    key(qtbot, w, Qt.Key.Key_Tab)
    assert status_of(db, 1, img.id) == "pending" and "hidden" in message(w)
    w.proposals.table.selectRow(0)       # picking its row in the table does not select the hidden box
    assert w.canvas.selected() is None and w.proposals.current_id() == -1
    key(qtbot, w, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)

    # B with a prediction selected rejects that prediction, and nothing else (no hidden proposal)
    run = w.session.project.maps.new_prediction_run(None, {})
    w.session.project.maps.save_prediction(run, img.id, [0.5, 0.5, 0.0], np.full((8, 8), 0.5, np.float32),
                                           [(100, 95, 150, 115, 0.7)])
    w.session.predictions_changed.emit()
    pred = db.execute("SELECT id FROM predicted_boxes").fetchone()[0]
    click(w, 125, 112)
    assert w.canvas.selected() == ("prediction", pred)
    key(qtbot, w, Qt.Key.Key_B)
    assert decided(db) == 2 and status_of(db, 1, img.id) == "pending"
    assert db.execute("SELECT status FROM predicted_boxes").fetchone()[0] == "rejected"
    assert db.execute("SELECT count(*) FROM boxes").fetchone()[0] == 1


def test_click_and_double_click_pick_the_box_whose_outline_is_under_the_cursor(qtbot, main_window, db):
    w = main_window
    img = w.session.image
    w.session.project.proposals.replace(img.id, [NewProposal((10, 10, 150, 110), -1, 0.9, 0.8),
                                                 NewProposal((50, 40, 90, 80), 0, 0.6, 0.7)])
    w.session.proposals_changed.emit(img.id)
    pid = ids_by_rank(db, img.id)
    click(w, 70, 60)                     # inside both: the smaller, nested one
    assert w.canvas.selected() == ("proposal", pid[2])
    # on the big box's outline, though inside the small one's reach: the big one
    QTest.mouseDClick(w.canvas.viewport(), LEFT, NOMOD, vp(w, 10.5, 60))
    assert status_of(db, 1, img.id) == "accepted" and status_of(db, 2, img.id) == "pending"
    rows = db.execute("SELECT x0, y0, x1, y1, source FROM boxes").fetchall()
    assert rows == [(10, 10, 150, 110, "proposal")]
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    # the accepted box's outline coincides with the big proposal's: a double-click inside the small
    # one accepts the small one, not the curated box around it
    QTest.mouseDClick(w.canvas.viewport(), LEFT, NOMOD, vp(w, 70, 60))
    assert status_of(db, 2, img.id) == "accepted" and status_of(db, 1, img.id) == "pending"


def test_focus_mode_reviews_one_proposal_at_a_time(qtbot, main_window, db):
    w = main_window
    img = w.session.image
    heads = np.random.default_rng(0).random((3, 6, 8)).astype(np.float32)
    w.session.project.maps.save_attention(img.id, "test@96", heads)
    w.session.maps_changed.emit(img.id)
    three_proposals(w, img.id)           # #1 from the mean map, #2 from head 0, #3 from head 1
    pid = ids_by_rank(db, img.id)
    w.layers.choose(2)                   # the user's own overlay choice, restored when focus mode ends

    key(qtbot, w, Qt.Key.Key_V)
    assert w.actions_by_key["focus_proposals"].isChecked()
    assert w.canvas.selected() == ("proposal", pid[1])
    assert not w.canvas.dimmed("proposal", pid[1]) and w.canvas.dimmed("proposal", pid[2])
    assert not w.canvas.label_shown("proposal", pid[2])
    banner = w.canvas.banner
    assert banner.isVisible() and "#1 of 3" in banner.text() and "0.900" in banner.text()
    assert "mean" in banner.text() and w.layers.wanted_source() == -1   # its source map is shown

    key(qtbot, w, Qt.Key.Key_Tab)        # next, without deciding
    assert w.canvas.selected() == ("proposal", pid[2]) and "#2 of 3" in banner.text()
    assert w.layers.wanted_source() == 0 and w.canvas.dimmed("proposal", pid[1])
    key(qtbot, w, Qt.Key.Key_B)          # decide and move on
    assert status_of(db, 2, img.id) == "rejected" and w.canvas.selected() == ("proposal", pid[3])
    key(qtbot, w, Qt.Key.Key_F)
    assert status_of(db, 3, img.id) == "accepted" and w.canvas.selected() == ("proposal", pid[1])
    key(qtbot, w, Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)  # only #1 is left
    key(qtbot, w, Qt.Key.Key_F)
    assert status_of(db, 1, img.id) == "accepted"
    assert w.canvas.selected() is None and "all decided" in banner.text()

    key(qtbot, w, Qt.Key.Key_V)          # leave: nothing dimmed, the user's overlay back
    assert not banner.isVisible() and w.layers.wanted_source() == 2
    assert not any(w.canvas.dimmed("proposal", k) for k in w.canvas.items_of("proposal"))


def test_proposal_table_starts_at_rank_one_on_every_image(qtbot, main_window, db):
    w = main_window
    ids = w.browser.model.ids
    many = [NewProposal((i, i, i + 30, i + 30), -1, 1.0 - i / 100, 0.5) for i in range(40)]
    for image_id in ids[:2]:
        w.session.project.proposals.replace(image_id, many)
    w.session.proposals_changed.emit(ids[0])
    w.proposals.top_k.setValue(40)
    bar = w.proposals.table.verticalScrollBar()
    w.proposals.table.selectRow(39)
    w.proposals.table.scrollToBottom()
    assert bar.value() > 0
    key(qtbot, w, Qt.Key.Key_D)
    assert w.session.image_id == ids[1]
    assert bar.value() == 0 and w.proposals.current_id() == -1 and w.canvas.selected() is None
    key(qtbot, w, Qt.Key.Key_V)          # in focus mode every image starts at its rank 1
    key(qtbot, w, Qt.Key.Key_A)
    first = ids_by_rank(db, ids[0])[1]
    assert w.canvas.selected() == ("proposal", first) and w.proposals.current_id() == first
    assert bar.value() == 0


def test_focus_mode_on_an_image_without_suggestions_says_none_not_all_decided(qtbot, main_window):
    w = main_window
    assert w.proposals.shown() == [] and w.proposals.predictions() == []   # nothing computed for it
    key(qtbot, w, Qt.Key.Key_V)
    text = w.canvas.banner.text()
    assert w.canvas.banner.isVisible() and "none on this image" in text and "decided" not in text
