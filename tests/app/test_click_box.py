"""Click box (C): one click on an object in the real window, one curated box in the database, undoable."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from core.dips.click_box import ClickBoxChooser

pytestmark = pytest.mark.usefixtures("qtbot")


def click(w, x: float, y: float) -> None:
    QTest.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     w.canvas.mapFromScene(QPointF(x, y)))


def boxes(db):
    return db.execute("SELECT id, image_id, class_id, x0, y0, x1, y1, source FROM boxes ORDER BY id").fetchall()


def _show_c1(qtbot, w):
    """The 160x120 image with the red object at x 40..90, y 30..70 (tests/app/conftest.py)."""
    rec = next(r for r in w.session.project.images.list() if r.rel_path.endswith("c1.png"))
    if w.session.image is None or w.session.image.id != rec.id:
        w.session.set_image(rec.id)
        qtbot.waitUntil(lambda: "full" in w.canvas.levels_shown, timeout=5000)
    return rec


def test_a_click_in_click_box_mode_stores_one_box_and_undo_removes_it(qtbot, main_window, db):
    w = main_window
    rec = _show_c1(qtbot, w)
    # the typical-size square, so the box is known by hand: no curated boxes, no proposals -> a fifth of the
    # shorter side (120 px) = 24 px, centred on the click
    w.click_box.chooser = ClickBoxChooser(methods=("square",), default="square")
    qtbot.keyClick(w.canvas, Qt.Key.Key_C)
    assert w.canvas.mode == "click"
    with qtbot.waitSignal(w.click_box.box_added, timeout=10000):
        click(w, 65, 50)
    rows = boxes(db)
    assert len(rows) == 1
    box_id, image_id, class_id, x0, y0, x1, y1, source = rows[0]
    assert (image_id, class_id, source) == (rec.id, rec.class_id, "manual")
    # the click lands on a whole viewport pixel: within one image pixel of (53, 38, 77, 62)
    assert (x0, y0, x1, y1) == pytest.approx((53, 38, 77, 62), abs=1.0)
    assert x1 - x0 == pytest.approx(24) and y1 - y0 == pytest.approx(24)
    assert w.canvas.selected() == ("curated", box_id)       # editable at once, like a drawn box
    assert w.canvas.mode == "click"                          # the next object is one click away
    assert "Click box" in w.actions_by_key["undo"].text()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(db) == []
    assert w.canvas.items_of("curated") == {}
    qtbot.keyClick(w.canvas, Qt.Key.Key_Escape)
    assert w.canvas.mode == "select"


def test_grabcut_boxes_an_object_that_stands_out_and_the_chooser_learns_from_what_was_kept(qtbot, main_window, db):
    w = main_window
    rec = _show_c1(qtbot, w)
    other = next(r for r in w.session.project.images.list() if r.id != rec.id)
    # three boxes curated earlier, 40 x 30: GrabCut's window is twice that around the click, the object inside
    w.session.project.boxes.add_many([(other.id, (0, 0, 40, 30), other.class_id, "manual", None)] * 3)
    assert w.click_box.chooser.choose() == "grabcut"
    qtbot.keyClick(w.canvas, Qt.Key.Key_C)
    with qtbot.waitSignal(w.click_box.box_added, timeout=10000):
        click(w, 65, 50)
    assert boxes(db)[-1][3:7] == pytest.approx((40, 30, 90, 70), abs=0.01)
    # leaving the image judges the click: the GrabCut box was kept, so GrabCut cost a verification only
    qtbot.keyClick(w.canvas, Qt.Key.Key_Escape)
    w.session.set_image(other.id)
    assert w.click_box.chooser.records == 1
    assert w.click_box.chooser.spent["grabcut"] == pytest.approx(1.6)
    # the 40 x 30 square at the click, (45, 35, 85, 65), has IoU 0.6 with the object: an adjustment
    assert w.click_box.chooser.spent["square"] == pytest.approx(5.1)


def test_click_box_is_in_the_toolbar_menu_and_shortcuts(main_window):
    from PySide6.QtWidgets import QToolBar

    from app.actions import shortcut_rows
    act = main_window.actions_by_key["click_box"]
    assert [k.toString() for k in act.shortcuts()] == ["C"]
    assert "click on an object" in act.toolTip()
    assert act in main_window.findChild(QToolBar, "toolbar").actions()
    assert any(keys == "C" and "Click box" in what for _, keys, what in shortcut_rows())
