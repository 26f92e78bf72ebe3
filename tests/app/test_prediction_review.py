"""Predictions are reviewed like proposals in the real window: one table with a source column, F / B, Tab, focus
mode, "accept all above s", a colour bar on every map overlay, and runs numbered alike everywhere."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from app.canvas.colormaps import value_range
from core.store.project import Project
from tests.app.test_curation import drag, key, three_proposals, vp

pytestmark = pytest.mark.usefixtures("qtbot")
LEFT, NOMOD, CTRL = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ControlModifier
FG = np.linspace(0.45, 0.58, 8 * 10, dtype=np.float32).reshape(8, 10)   # a calibrated map: a narrow band


def predict(w, boxes_by_image: dict[int, list], training_runs: int = 2) -> int:
    """Training runs 1..N (the last finished), then one prediction run of the last; returns its training run id.
    Prediction run ids are made to differ from training run ids, as after a re-prediction (``pred_run``: its own)."""
    p = w.session.project
    trained = [p.runs.start({"epochs": 1}) for _ in range(training_runs)]
    for t in trained:
        p.runs.update(t, status="finished")
    for _ in range(training_runs):                           # earlier prediction runs: ids now differ
        p.maps.new_prediction_run(trained[0], {})
    run = p.maps.new_prediction_run(trained[-1], {"operating_threshold": 0.5})
    for image_id, boxes in boxes_by_image.items():
        p.maps.save_prediction(run, image_id, [0.9, 0.05, 0.05], FG, boxes)
    w.session.predictions_changed.emit()
    if w.training_panel is not None:
        w.training_panel.refresh_runs()
    return trained[-1]


def pred_run(w) -> int:
    """The latest prediction run's own number (the one evaluate --prediction-run takes)."""
    return w.session.project.maps.latest_run_id()


def pred_ids(db, image_id: int) -> list[int]:
    return [r[0] for r in db.execute("SELECT b.id FROM predicted_boxes b JOIN predictions p ON p.id = b.prediction_id "
                                     "WHERE p.image_id = ? ORDER BY b.score DESC", (image_id,))]


def status(db, box_id: int) -> str:
    return db.execute("SELECT status FROM predicted_boxes WHERE id=?", (box_id,)).fetchone()[0]


def click(w, x, y):
    QTest.mouseClick(w.canvas.viewport(), LEFT, NOMOD, vp(w, x, y))


def click_row(w, row: int) -> None:
    table = w.proposals.table
    rect = table.visualRect(table.model().index(row, 1))
    QTest.mouseClick(table.viewport(), LEFT, NOMOD, rect.center())


def test_predictions_share_the_table_and_are_accepted_and_rejected_like_proposals(qtbot, main_window, db):
    w = main_window
    img = w.session.image
    three_proposals(w, img.id)
    run = predict(w, {img.id: [(100, 90, 150, 115, 0.71), (70, 5, 100, 25, 0.33)]})
    best, worst = pred_ids(db, img.id)
    table = w.proposals.table
    sources = [table.item(r, 1).text() for r in range(table.rowCount())]
    # one number per prediction run, the one evaluate --prediction-run takes, in the table, the Layers legend and
    # the row's tooltip; the training run it came from is named as such, and is the training panel's number
    pred = pred_run(w)
    assert pred != run
    assert sources == ["proposal"] * 3 + [f"pred. run #{pred}"] * 2
    assert [table.item(r, 2).text() for r in (3, 4)] == ["0.710", "0.330"]
    assert f"pred. run #{pred}" in w.layers.legends["prediction"].text()
    full = f"prediction run #{pred} (from training run #{run})"
    assert full in w.layers.legends["prediction"].toolTip() and full in table.item(3, 1).toolTip()
    assert f"{2} predicted (pred. run #{pred})" in w.proposals.summary.text()
    assert w.training_panel.runs.topLevelItem(0).text(0) == f"#{run}"
    assert w.training_panel.runs.headerItem().text(0) == "Training run"
    assert w.canvas.items_of("prediction")[best].label.text == "pred #1 0.71"

    click_row(w, 3)                      # a prediction picked in the table is selected on the canvas
    assert w.canvas.selected() == ("prediction", best)
    w.canvas.setFocus()
    key(qtbot, w, Qt.Key.Key_F)
    rows = db.execute("SELECT source, score, x0, y0, x1, y1, class_id, predicted_box_id FROM boxes").fetchall()
    assert rows == [("prediction", pytest.approx(0.71), 100, 90, 150, 115, img.class_id, best)]
    assert status(db, best) == "accepted" and best not in w.canvas.items_of("prediction")
    assert w.canvas.selected() == ("prediction", worst)   # on to the next pending row, as after a proposal
    key(qtbot, w, Qt.Key.Key_B)
    assert status(db, worst) == "rejected" and not w.canvas.items_of("prediction")
    assert w.canvas.selected()[0] == "proposal"           # wrapped round to proposal #1
    assert [table.item(r, 5).text() for r in (3, 4)] == ["accepted", "rejected"]
    key(qtbot, w, Qt.Key.Key_Z, CTRL)                     # undo the rejection, then the acceptance
    key(qtbot, w, Qt.Key.Key_Z, CTRL)
    assert (status(db, best), status(db, worst)) == ("pending", "pending")
    assert db.execute("SELECT count(*) FROM boxes").fetchone()[0] == 0
    key(qtbot, w, Qt.Key.Key_Y, CTRL)                     # redo the acceptance: a linked box again
    assert db.execute("SELECT predicted_box_id FROM boxes").fetchall() == [(best,)]

    # hidden predictions are never acted on
    click(w, 85, 15)
    assert w.canvas.selected() == ("prediction", worst)
    key(qtbot, w, Qt.Key.Key_4, CTRL)
    assert w.canvas.selected() is None
    key(qtbot, w, Qt.Key.Key_B)
    assert status(db, worst) == "pending"
    key(qtbot, w, Qt.Key.Key_4, CTRL)


def test_a_rejected_prediction_stays_rejected_after_reopening(qtbot, main_window, db, tmp_path):
    w = main_window
    img = w.session.image
    predict(w, {img.id: [(100, 90, 150, 115, 0.71)]})
    (pid,) = pred_ids(db, img.id)
    click(w, 125, 100)
    key(qtbot, w, Qt.Key.Key_B)
    assert status(db, pid) == "rejected"
    path = w.session.project.path
    w.set_project(Project.open(path))                     # reopen: the decision is in the file
    w.session.set_image(img.id)
    assert not w.canvas.items_of("prediction")
    assert w.proposals.predictions()[0].status == "rejected"
    assert w.proposals.table.item(0, 5).text() == "rejected"
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT status FROM predicted_boxes").fetchone()[0] == "rejected"


def test_tab_and_focus_mode_go_through_proposals_then_predictions(qtbot, main_window, db):
    w = main_window
    img = w.session.image
    three_proposals(w, img.id)
    run = predict(w, {img.id: [(100, 90, 150, 115, 0.71)]})
    (pid,) = pred_ids(db, img.id)
    key(qtbot, w, Qt.Key.Key_V)
    assert w.canvas.selected()[0] == "proposal"
    for _ in range(3):
        key(qtbot, w, Qt.Key.Key_Tab)
    assert w.canvas.selected() == ("prediction", pid)
    banner = w.canvas.banner.text()
    assert "Predicted box #1 \u00b7 1 shown \u00b7" in banner and "0.710" in banner
    assert f"prediction run #{pred_run(w)} (from training run #{run})" in banner
    assert w.layers.wanted_source() == "fg"                # its map: the predicted foreground
    assert not w.canvas.dimmed("prediction", pid)
    assert all(w.canvas.dimmed("proposal", k) for k in w.canvas.items_of("proposal"))
    key(qtbot, w, Qt.Key.Key_F)
    assert status(db, pid) == "accepted" and w.canvas.selected()[0] == "proposal"
    key(qtbot, w, Qt.Key.Key_V)


def _run_dialog(qtbot, w, score: float, this_image: bool, press_ok: bool = True) -> list[str]:
    """Trigger Edit > Accept predictions above a score and fill the dialog as a user would."""
    seen = []

    def fill():
        dlg = QApplication.activeModalWidget()
        assert dlg is not None and dlg.objectName() == "accept_above_dialog"
        dlg.score.setValue(score)
        QTest.mouseClick(dlg.this_image if this_image else dlg.unreviewed, LEFT)
        seen.append(dlg.summary.text())
        button = QDialogButtonBox.StandardButton.Ok if press_ok else QDialogButtonBox.StandardButton.Cancel
        QTest.mouseClick(dlg.buttons.button(button), LEFT)

    QTimer.singleShot(0, fill)
    w.actions_by_key["accept_above"].trigger()
    w.activateWindow()                    # back to the window, as the desktop does when a dialog closes
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    w.canvas.setFocus()
    return seen


def test_accept_all_above_a_score_leaves_user_made_and_decided_boxes_untouched(qtbot, main_window, db):
    w = main_window
    ids = w.browser.model.ids
    a, b, c = ids[0], ids[1], ids[2]
    predict(w, {a: [(10, 10, 50, 40, 0.9), (60, 10, 100, 40, 0.8), (110, 10, 150, 40, 0.7), (10, 60, 50, 100, 0.6),
                    (60, 60, 100, 100, 0.2)],
                b: [(10, 10, 50, 40, 0.9)], c: [(10, 10, 50, 40, 0.9)]})
    pa = pred_ids(db, a)
    # the user's own work on image a: a drawn box over prediction 1, prediction 2 rejected, 3 accepted
    key(qtbot, w, Qt.Key.Key_R)
    drag(w, (10, 10), (51, 40))
    click(w, 80, 12)
    key(qtbot, w, Qt.Key.Key_B)
    click(w, 130, 12)
    key(qtbot, w, Qt.Key.Key_F)
    w.session.project.images.set_review(c, "verified")   # a reviewed image is not "unreviewed"
    before = db.execute("SELECT * FROM boxes ORDER BY id").fetchall()
    assert [status(db, i) for i in pa] == ["pending", "rejected", "accepted", "pending", "pending"]

    seen = _run_dialog(qtbot, w, 0.5, this_image=True)
    assert "Will accept 1 predicted box on 1 image" in seen[0] and "2 already decided" in seen[0]
    assert "1 over your own boxes" in seen[0]
    assert [status(db, i) for i in pa] == ["pending", "rejected", "accepted", "accepted", "pending"]
    assert db.execute("SELECT * FROM boxes ORDER BY id").fetchall()[:len(before)] == before

    _run_dialog(qtbot, w, 0.5, this_image=False)          # every unreviewed image: b only (a has nothing left)
    assert status(db, pred_ids(db, b)[0]) == "accepted" and status(db, pred_ids(db, c)[0]) == "pending"
    assert [status(db, i) for i in pa] == ["pending", "rejected", "accepted", "accepted", "pending"]
    assert db.execute("SELECT * FROM boxes ORDER BY id").fetchall()[:len(before)] == before
    assert db.execute("SELECT count(*) FROM boxes WHERE image_id=?", (b,)).fetchone()[0] == 1

    key(qtbot, w, Qt.Key.Key_Z, CTRL)                     # one step undoes the whole batch
    assert status(db, pred_ids(db, b)[0]) == "pending"
    assert db.execute("SELECT count(*) FROM boxes WHERE image_id=?", (b,)).fetchone()[0] == 0
    _run_dialog(qtbot, w, 0.5, this_image=False, press_ok=False)   # cancel: nothing
    assert status(db, pred_ids(db, b)[0]) == "pending"
    key(qtbot, w, Qt.Key.Key_4, CTRL)                     # predictions hidden: not acted on, and said why
    w.actions_by_key["accept_above"].trigger()
    assert "hidden" in w.statusBar().currentMessage() and status(db, pred_ids(db, b)[0]) == "pending"


def test_every_map_overlay_has_a_colour_bar_with_its_range(qtbot, main_window):
    w = main_window
    img = w.session.image
    heads = np.random.default_rng(0).random((2, 6, 8)).astype(np.float32) * 0.03
    w.session.project.maps.save_attention(img.id, "test@96", heads)
    w.session.maps_changed.emit(img.id)
    bar = w.canvas.colour_bar
    w.layers.choose(-1)
    assert bar.isVisible() and "attention" in bar.title and "scaled per map" in bar.title
    lo, hi = value_range(w.session.project.maps.attention(img.id)[-1])   # the mean map as stored (float16)
    assert (bar.low_text(), bar.high_text()) == (f"{lo:.3g}", f"{hi:.3g}")
    run = predict(w, {img.id: [(100, 90, 150, 115, 0.71)]})
    w.layers.choose("fg")
    lo, hi = value_range(w.session.project.maps.prediction(img.id).fg_map)
    assert bar.isVisible() and "stretched per image" in bar.title
    assert f"prediction run #{pred_run(w)} (from training run #{run})" in bar.title
    assert (bar.low_text(), bar.high_text()) == (f"{lo:.3g}", f"{hi:.3g}") == ("0.45", "0.579")
    # stretched: the overlay spans the whole colour map instead of a uniform wash
    ov = w.canvas._overlay.pixmap().toImage()
    alphas = {ov.pixelColor(x, y).alpha() for x in range(ov.width()) for y in range(ov.height())}
    assert min(alphas) < 30 and max(alphas) > 240
    key(qtbot, w, Qt.Key.Key_O)                           # overlay hidden: so is its bar
    assert not bar.isVisible()
    key(qtbot, w, Qt.Key.Key_O)
    assert bar.isVisible()
    w.layers.choose("none")
    assert not bar.isVisible()
