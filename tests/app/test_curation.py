"""Drive the real main window with keys and the mouse; check the database after every step."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from core.store.repos.proposals import NewProposal

pytestmark = pytest.mark.usefixtures("qtbot")


def vp(w, x: float, y: float) -> QPoint:
    """Image pixel -> canvas viewport point."""
    return w.canvas.mapFromScene(QPointF(x, y))


def drag(w, a: tuple[float, float], b: tuple[float, float], steps: int = 4) -> None:
    view = w.canvas.viewport()
    p0, p1 = vp(w, *a), vp(w, *b)
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p0)
    for i in range(1, steps + 1):
        QTest.mouseMove(view, p0 + (p1 - p0) * (i / steps))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p1)


def key(qtbot, w, k, mod=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(w.canvas, k, mod)


def three_proposals(w, image_id: int) -> None:
    """Ranked proposals #1 (score 0.9), #2 (0.6), #3 (0.3) on the image, shown as the app would."""
    w.session.project.proposals.replace(image_id, [NewProposal((10, 10, 60, 50), -1, 0.9, 0.8),
                                                   NewProposal((80, 20, 140, 90), 0, 0.6, 0.7),
                                                   NewProposal((5, 70, 40, 110), 1, 0.3, 0.2)])
    w.session.proposals_changed.emit(image_id)


def boxes(db):
    return db.execute("SELECT id, image_id, class_id, x0, y0, x1, y1, source FROM boxes ORDER BY id").fetchall()


def test_navigate_with_keys(qtbot, main_window):
    w = main_window
    ids = w.browser.model.ids
    assert w.session.image_id == ids[0]
    key(qtbot, w, Qt.Key.Key_D)
    assert w.session.image_id == ids[1]
    assert w.browser.current_image_id() == ids[1]  # the browser follows
    key(qtbot, w, Qt.Key.Key_D)
    key(qtbot, w, Qt.Key.Key_A)
    assert w.session.image_id == ids[1]
    key(qtbot, w, Qt.Key.Key_A)
    key(qtbot, w, Qt.Key.Key_A)  # at the first image: stays
    assert w.session.image_id == ids[0]
    qtbot.waitUntil(lambda: "full" in w.canvas.levels_shown and w.canvas.image_id == ids[0])

    w.session.project.images.set_review(ids[1], "verified")
    key(qtbot, w, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert w.session.image_id == ids[2]  # skips the reviewed one


def test_draw_move_resize_delete_with_undo_redo(qtbot, main_window, db):
    w = main_window
    img = w.session.image
    # draw: R, then drag
    key(qtbot, w, Qt.Key.Key_R)
    assert w.canvas.mode == "draw"
    drag(w, (20, 20), (60, 50))
    rows = boxes(db)
    assert len(rows) == 1
    box_id, image_id, class_id, x0, y0, x1, y1, source = rows[0]
    assert image_id == img.id and class_id == img.class_id and source == "manual"
    assert (x0, y0, x1, y1) == pytest.approx((20, 20, 60, 50), abs=1.0)
    assert w.canvas.mode == "select"
    assert w.canvas.selected() == ("curated", box_id)

    # move: drag the inside by (+30, +20)
    drag(w, (40, 35), (70, 55))
    assert boxes(db)[0][3:7] == pytest.approx((50, 40, 90, 70), abs=1.0)

    # resize: drag the bottom-right handle
    drag(w, (90, 70), (120, 100))
    assert boxes(db)[0][3:7] == pytest.approx((50, 40, 120, 100), abs=1.0)

    # undo resize, undo move, undo draw: the table empties step by step
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(db)[0][3:7] == pytest.approx((50, 40, 90, 70), abs=1.0)
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(db)[0][3:7] == pytest.approx((20, 20, 60, 50), abs=1.0)
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(db) == []
    assert w.canvas.items_of("curated") == {}
    # redo all three (Ctrl+Shift+Z, Ctrl+Y, Ctrl+Shift+Z): the same box id comes back
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert [r[0] for r in boxes(db)] == [box_id]
    key(qtbot, w, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert boxes(db)[0][3:7] == pytest.approx((50, 40, 90, 70), abs=1.0)
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert boxes(db)[0][3:7] == pytest.approx((50, 40, 120, 100), abs=1.0)
    assert set(w.canvas.items_of("curated")) == {box_id}

    # delete (select by clicking it first), undo, redo
    QTest.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(w, 80, 70))
    assert w.canvas.selected() == ("curated", box_id)
    key(qtbot, w, Qt.Key.Key_Delete)
    assert boxes(db) == []
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [r[0] for r in boxes(db)] == [box_id]
    assert boxes(db)[0][3:7] == pytest.approx((50, 40, 120, 100), abs=1.0)
    key(qtbot, w, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert boxes(db) == []


def test_escape_cancels_drawing_and_tiny_drag_adds_nothing(qtbot, main_window, db):
    w = main_window
    key(qtbot, w, Qt.Key.Key_R)
    key(qtbot, w, Qt.Key.Key_Escape)
    assert w.canvas.mode == "select"
    key(qtbot, w, Qt.Key.Key_R)
    drag(w, (20, 20), (20.05, 20.05))
    assert boxes(db) == []


def test_set_class_with_number_key(qtbot, main_window, db):
    w = main_window
    classes = w.session.project.classes()
    key(qtbot, w, Qt.Key.Key_R)
    drag(w, (10, 10), (50, 40))
    box_id = boxes(db)[0][0]
    key(qtbot, w, Qt.Key.Key_2)
    assert db.execute("SELECT class_id FROM boxes WHERE id=?", (box_id,)).fetchone()[0] == classes[1].id
    assert w.canvas.items_of("curated")[box_id].label.text.startswith(classes[1].name)
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert db.execute("SELECT class_id FROM boxes WHERE id=?", (box_id,)).fetchone()[0] == w.session.image.class_id
    # nothing selected: 3 chooses the class of the next box drawn
    key(qtbot, w, Qt.Key.Key_Escape)
    key(qtbot, w, Qt.Key.Key_3)
    key(qtbot, w, Qt.Key.Key_R)
    drag(w, (60, 60), (100, 100))
    assert boxes(db)[-1][2] == classes[2].id


def test_accept_and_reject_proposals_with_keys(qtbot, main_window, db):
    w = main_window
    img = w.session.image
    three_proposals(w, img.id)
    assert len(w.canvas.items_of("proposal")) == 3
    props = {r[0]: r for r in db.execute("SELECT rank, id, status FROM proposals")}

    # F with nothing selected does nothing; Tab selects the top pending one, F accepts it
    key(qtbot, w, Qt.Key.Key_F)
    assert db.execute("SELECT count(*) FROM proposals WHERE status != 'pending'").fetchone()[0] == 0
    key(qtbot, w, Qt.Key.Key_Tab)
    key(qtbot, w, Qt.Key.Key_F)
    assert db.execute("SELECT status FROM proposals WHERE rank=1").fetchone()[0] == "accepted"
    rows = boxes(db)
    assert len(rows) == 1 and rows[0][7] == "proposal" and rows[0][3:7] == (10, 10, 60, 50)
    assert len(w.canvas.items_of("proposal")) == 2

    # select rank 3 by clicking it on the canvas, then B rejects it
    QTest.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(w, 20, 90))
    assert w.canvas.selected() == ("proposal", props[3][1])
    assert w.proposals.current_id() == props[3][1]
    key(qtbot, w, Qt.Key.Key_B)
    assert db.execute("SELECT status FROM proposals WHERE rank=3").fetchone()[0] == "rejected"
    assert len(boxes(db)) == 1

    # undo the rejection, then the acceptance
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert db.execute("SELECT status FROM proposals WHERE rank=3").fetchone()[0] == "pending"
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert db.execute("SELECT status FROM proposals WHERE rank=1").fetchone()[0] == "pending"
    assert boxes(db) == []
    assert len(w.canvas.items_of("proposal")) == 3
    # redo the acceptance, then move the accepted box, undo twice, redo twice: ids stay consistent
    key(qtbot, w, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    drag(w, (30, 30), (35, 30))  # click selects it, the drag moves it
    assert boxes(db)[0][3:7] == pytest.approx((15, 10, 65, 50), abs=1.0)
    assert boxes(db)[0][7] == "edited"
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(db) == []
    key(qtbot, w, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    key(qtbot, w, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    rows = boxes(db)
    # the re-accepted proposal's box may have a new id; the redone move still found it
    assert len(rows) == 1 and rows[0][3:7] == pytest.approx((15, 10, 65, 50), abs=1.0)
    stack = w.session.undo_stack
    move = stack.command(stack.index() - 1)
    assert move.text() == "Move box" and move.ref.id == rows[0][0]


def test_top_k_and_min_score_filter_the_canvas(qtbot, main_window):
    w = main_window
    img = w.session.image
    three_proposals(w, img.id)
    w.proposals.top_k.setValue(2)
    assert len(w.canvas.items_of("proposal")) == 2 and w.proposals.table.rowCount() == 2
    w.proposals.top_k.setValue(10)
    w.proposals.min_score.setValue(50)
    assert sorted(i.label.text for i in w.canvas.items_of("proposal").values()) == ["#1 0.90", "#2 0.60"]
    # hovering a row highlights its box
    pid = w.proposals.shown()[1].id
    w.proposals.hovered.emit("proposal", pid)
    assert w.canvas.items_of("proposal")[pid].zValue() > 100


def test_prediction_legend_says_what_the_threshold_was_fitted_on(main_window):
    """The legend's tooltip words how the run chose τ and the drawing, as the command line does."""
    import numpy as np
    w = main_window
    maps = w.session.project.maps
    run = maps.new_prediction_run(None, {"operating_threshold": 0.8, "threshold_source": "fit", "calibrated_on": 7,
                                         "fitted_to_curated": 7, "curated_held_out": 7, "curated_trained_on": 40,
                                         "boxes": {"grabcut": True}})
    maps.save_prediction(run, w.session.image.id, [0.1, 0.9, 0.0], np.full((8, 8), 0.5, np.float32),
                         [(30, 30, 90, 80, 0.77)])
    w.session.predictions_changed.emit()
    assert "τ 0.80 and drawing (GrabCut) fitted to 7 curated images the run did not train on" in \
        w.layers.legends["prediction"].toolTip()


def test_accept_prediction_as_curated_box(qtbot, main_window, db):
    import numpy as np
    w = main_window
    img = w.session.image
    maps = w.session.project.maps
    legend = w.layers.legends["prediction"]
    assert "τ" not in legend.text()
    run = maps.new_prediction_run(None, {"operating_threshold": 0.85})
    maps.save_prediction(run, img.id, [0.1, 0.9, 0.0], np.full((8, 8), 0.5, np.float32), [(30, 30, 90, 80, 0.77)])
    w.session.predictions_changed.emit()
    assert len(w.canvas.items_of("prediction")) == 1
    assert legend.text().endswith(f"· pred. run #{run}, τ 0.85") and "0.85" in legend.toolTip()
    assert f"prediction run #{run} (from training run ?)" in legend.toolTip()        # no training run
    QTest.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(w, 60, 50))
    pred = db.execute("SELECT id FROM predicted_boxes").fetchone()[0]
    assert w.canvas.selected() == ("prediction", pred)
    key(qtbot, w, Qt.Key.Key_F)
    rows = db.execute("SELECT source, score, x0, y0, x1, y1, predicted_box_id FROM boxes").fetchall()
    assert rows == [("prediction", pytest.approx(0.77), 30, 30, 90, 80, pred)]
    assert db.execute("SELECT status FROM predicted_boxes").fetchone()[0] == "accepted"
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(db) == []
    assert db.execute("SELECT status FROM predicted_boxes").fetchone()[0] == "pending"


def test_review_marks_toggle_undo_and_filter(qtbot, main_window, db):
    w = main_window
    first = w.session.image_id
    key(qtbot, w, Qt.Key.Key_Space)
    assert db.execute("SELECT review FROM images WHERE id=?", (first,)).fetchone()[0] == "verified"
    key(qtbot, w, Qt.Key.Key_Space)  # again: back to unreviewed
    assert db.execute("SELECT review FROM images WHERE id=?", (first,)).fetchone()[0] == "unreviewed"
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert db.execute("SELECT review FROM images WHERE id=?", (first,)).fetchone()[0] == "verified"
    key(qtbot, w, Qt.Key.Key_D)
    second = w.session.image_id
    key(qtbot, w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert db.execute("SELECT review, flagged FROM images WHERE id=?", (second,)).fetchone() == ("unreviewed", 1)
    assert "1 reviewed" in w.status.counts.text() and "1 flagged" in w.status.counts.text()

    w.browser.set_review_filter("verified")
    assert w.browser.model.ids == [first]
    assert w.browser.count_label.text() == "1 of 4 images"
    w.browser.set_review_filter("flagged")
    assert w.browser.model.ids == [second]
    w.browser.set_review_filter("unreviewed")
    assert len(w.browser.model.ids) == 3 and first not in w.browser.model.ids
    w.browser.set_review_filter(None)
    assert w.browser.count_label.text() == "4 images"
    # undo of a mark on another image goes back to that image first
    key(qtbot, w, Qt.Key.Key_D)
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.session.image_id == second
    assert db.execute("SELECT review, flagged FROM images WHERE id=?", (second,)).fetchone() == ("unreviewed", 0)


def test_flag_and_reviewed_are_independent(qtbot, main_window, db):
    w = main_window
    image_id = w.session.image_id

    def state():
        return db.execute("SELECT review, flagged FROM images WHERE id=?", (image_id,)).fetchone()
    key(qtbot, w, Qt.Key.Key_Space)
    key(qtbot, w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert state() == ("verified", 1)          # flagging does not un-review
    assert "verified, flagged" in w.windowTitle()
    assert w.browser.model.data(w.browser.model.index(0)).startswith("\u2713\u2691")
    key(qtbot, w, Qt.Key.Key_Space)
    assert state() == ("unreviewed", 1)        # un-reviewing does not clear the flag
    key(qtbot, w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    key(qtbot, w, Qt.Key.Key_Space)
    assert state() == ("verified", 0)
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert state() == ("unreviewed", 1)


def test_attention_overlay_of_a_head(qtbot, main_window):
    import numpy as np
    w = main_window
    img = w.session.image
    heads = np.zeros((3, 6, 8), np.float32)
    heads[1, 2:4, 3:5] = 1.0
    w.session.project.maps.save_attention(img.id, "test@96", heads)
    w.session.maps_changed.emit(img.id)
    assert sorted(w.attention.tiles) == [-1, 0, 1, 2]
    assert w.canvas.overlay_shown()  # the mean is shown by default
    w.attention.tiles[1].click()
    assert w.layers.wanted_source() == 1
    assert w.attention.checked_head() == 1
    ov = w.canvas._overlay
    # stretched over the whole 160x120 image, whatever the grid
    rect = ov.mapRectToScene(ov.boundingRect())
    assert (rect.width(), rect.height()) == pytest.approx((160, 120))
    # the hot cells of head 1 (rows 2-3, cols 3-4) are bright in the overlay
    pix = ov.pixmap().toImage()
    assert pix.pixelColor(3, 2).lightness() > pix.pixelColor(0, 0).lightness()
    w.layers.opacity.setValue(30)
    assert ov.opacity() == pytest.approx(0.3)
    key(qtbot, w, Qt.Key.Key_O)
    assert not w.canvas.overlay_shown()


def test_undo_of_an_edit_whose_row_vanished_is_dropped_quietly(qtbot, main_window, db):
    w = main_window
    key(qtbot, w, Qt.Key.Key_R)
    drag(w, (20, 20), (60, 50))
    box_id = boxes(db)[0][0]
    w.session.project.boxes.delete(box_id)  # e.g. a COCO import replaced the boxes meanwhile
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the draw: nothing left to remove
    assert "not possible any more" in w.statusBar().currentMessage()
    assert boxes(db) == [] and w.canvas.items_of("curated") == {}
    assert w.isVisible()
