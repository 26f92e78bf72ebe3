"""An image that failed to decode (core/data/unreadable.py) is marked in the window's image list, in info's words,
and selecting it says why on the canvas instead of a blank (or the previous image)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from core.cli import run_cli
from core.data.unreadable import READ_AGAIN_MENU, RETRY_HINT, SKIPPED, UnreadableFiles
from tests.app.window_helpers import open_window

REASON = "cannot identify image file (truncated)"


@pytest.fixture
def broken_project(gui_project):
    """gui_project with cars/c2.png cut short on disk and recorded as failing to decode, as the attention stage
    records it."""
    path = gui_project.image_root / "cars" / "c2.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    record = UnreadableFiles(gui_project, gui_project.image_root)
    record.record("cars/c2.png", REASON)
    record.save()
    return gui_project


def _row(w, rel_path: str) -> int:
    rec = w.session.project.images.by_path(rel_path)
    return w.browser.model.row_of(rec.id)


def _click_row(qtbot, w, row: int) -> None:
    view = w.browser.view
    rect = view.visualRect(w.browser.model.index(row))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())


def test_an_unreadable_image_is_marked_in_the_list_and_says_why_when_selected(qtbot, broken_project, capsys):
    assert run_cli(["info", str(broken_project.path)]) == 0
    info = capsys.readouterr().out
    assert f"  cars/c2.png: {REASON}" in info and SKIPPED in info and RETRY_HINT in info

    with open_window(qtbot, broken_project) as w:
        model = w.browser.model
        bad, good = _row(w, "cars/c2.png"), _row(w, "cars/c1.png")
        text = model.data(model.index(bad), Qt.ItemDataRole.DisplayRole)
        assert text.startswith("\u26a0 c2.png [unreadable]")
        assert "\u26a0" not in model.data(model.index(good), Qt.ItemDataRole.DisplayRole)
        tip = model.data(model.index(bad), Qt.ItemDataRole.ToolTipRole)
        # the reason and what to do for this one image, named, and the window's way (not the command for them all)
        assert tip.startswith(f"unreadable: {REASON}\n{SKIPPED}; its earlier maps and suggested boxes are not "
                              f"offered\nto read c2.png again: fix or replace the file")
        assert tip.split("\n\n")[0].endswith(f"or {READ_AGAIN_MENU}")
        assert "--retry-unreadable" not in tip and "these images" not in tip
        assert model.data(model.index(bad), Qt.ItemDataRole.ForegroundRole).name() == "#dc2626"
        # a visible mark on the tile, not the blank grey one: red border, sign in the middle
        tile = model.data(model.index(bad), Qt.ItemDataRole.DecorationRole).pixmap(model.thumbs.size).toImage()
        edge = tile.pixelColor(1, tile.height() // 2)
        assert edge.red() > 150 and edge.green() < 100
        blank = model._placeholder().pixmap(model.thumbs.size).toImage()
        assert blank.pixelColor(1, blank.height() // 2) != edge

        # the good image first, on screen; then the unreadable one clicked in the list
        _click_row(qtbot, w, good)
        qtbot.waitUntil(lambda: "full" in w.canvas.levels_shown, timeout=5000)
        with qtbot.waitSignal(w.canvas.image_failed, timeout=5000):   # the canvas's own decode fails too
            _click_row(qtbot, w, bad)
            assert w.session.image.rel_path == "cars/c2.png"
            # said at once, from the record
            assert w.canvas.failure.isVisible()
            card = w.canvas.failure.text()
            assert card.startswith("c2.png could not be decoded.")
            assert REASON in card and "to read c2.png again" in card and READ_AGAIN_MENU in card
            assert RETRY_HINT not in card and "these images" not in card
        # still the recorded reason, and nothing of the previous image shown
        assert REASON in w.canvas.failure.text()
        assert w.canvas.levels_shown == set() and w.canvas._preview.pixmap().isNull()
        assert w.canvas._full.pixmap().isNull()
        assert "could not be decoded" in w.status.currentMessage()
        # the words sit on an opaque card inside the image area, not in see-through red over the image's earlier
        # maps and boxes (still drawn: they are kept in the project)
        card = w.canvas.failure.geometry()
        assert w.canvas.viewport().geometry().contains(card)
        shot = w.canvas.grab().toImage()
        inside = shot.pixelColor(card.left() + 6, card.center().y())
        assert (inside.red(), inside.green(), inside.blue()) == (0xff, 0xf7, 0xf7)

        # back to a good image: the message goes, its pixels come
        _click_row(qtbot, w, good)
        assert not w.canvas.failure.isVisible()
        qtbot.waitUntil(lambda: "full" in w.canvas.levels_shown, timeout=5000)


def test_the_list_marks_images_a_stage_records_while_the_window_is_open(qtbot, gui_project):
    with open_window(qtbot, gui_project) as w:
        model = w.browser.model
        row = _row(w, "people/p1.png")
        assert "[unreadable]" not in model.data(model.index(row), Qt.ItemDataRole.DisplayRole)
        record = UnreadableFiles(gui_project, gui_project.image_root)   # what the attention stage does
        record.record("people/p1.png", REASON)
        record.save()
        w.session.maps_changed.emit(-1)                                  # as when the attention stage is done
        assert "[unreadable]" in model.data(model.index(row), Qt.ItemDataRole.DisplayRole)


LONG = "DJI_20240612_143055_0042_survey_north_ridge_tower_site_b.png"


# a camera's own names (DJI_0042.JPG) and the demo's (site_0002.jpg) are shown whole beside the mark at the default
# width: a name cut to "sit…2.jpg" no longer says which image it is
WHOLE = ("c2.png", "site_0002.jpg", "DJI_0042.JPG")


@pytest.mark.parametrize("name", [LONG, *WHOLE])
def test_the_unreadable_mark_is_visible_at_the_default_width_whatever_the_name(qtbot, gui_project, name):
    from PySide6.QtCore import QSettings

    from core.data.importer import import_images
    from tests.conftest import make_image

    make_image(gui_project.image_root / "cars" / name, size=(160, 120))
    for k in range(16):     # a list longer than the dock, as any real project's: its scroll bar takes width too
        make_image(gui_project.image_root / "trees" / f"t{k + 2}.png", size=(160, 120))
    import_images(gui_project)
    record = UnreadableFiles(gui_project, gui_project.image_root)
    record.record(f"cars/{name}", REASON)
    record.save()
    settings = QSettings()
    kept = {k: settings.value(k) for k in LAYOUT_KEYS}
    for k in LAYOUT_KEYS:          # the window and the image dock as they first open, not as an earlier test left them
        settings.remove(k)
    try:
        _check_the_mark_at_the_default_width(qtbot, gui_project, name)
    finally:                       # and the layout the other tests open with, as it was
        for k, v in kept.items():
            settings.remove(k) if v is None else settings.setValue(k, v)


LAYOUT_KEYS = ("main_window/geometry", "main_window/state")


def _check_the_mark_at_the_default_width(qtbot, gui_project, name: str) -> None:
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import QStyleOptionViewItem

    with open_window(qtbot, gui_project, size=None) as w:
        assert (w.width(), w.height()) == (1480, 920)        # the size the window gives itself
        qtbot.wait(50)                                        # its docks are sized once laid out
        view, model = w.browser.view, w.browser.model
        index = model.index(_row(w, f"cars/{name}"))
        assert view.verticalScrollBar().isVisible()

        def line() -> tuple[str, str, int, QFontMetrics]:
            """(the row's first line as the model gives it, as drawn, the width it is drawn in, the font's metrics)"""
            opt = QStyleOptionViewItem()
            view.initViewItemOption(opt)
            opt.rect = view.visualRect(index)
            delegate = view.itemDelegate()
            delegate.initStyleOption(opt, index)
            given = model.data(index, Qt.ItemDataRole.DisplayRole).split("\n")[0]
            return given, delegate.shown_text(opt, index).split("\u2028")[0], delegate._text_width(opt), \
                QFontMetrics(opt.font)

        given, shown, width, fm = line()
        # the line as drawn: the mark whole, the name's start (and its warning sign) kept, and it fits, so Qt
        # draws it as is
        assert shown.endswith(" [unreadable]") and shown.startswith("\u26a0 ")
        assert fm.horizontalAdvance(shown) <= width
        assert shown == given if name in WHOLE else ("\u2026" in shown and shown.startswith("\u26a0 DJI"))

        w.resizeDocks([w.browser_dock], [250], Qt.Orientation.Horizontal)   # the list dragged narrower
        qtbot.waitUntil(lambda: line()[2] < width, timeout=2000)
        given, shown, width, fm = line()
        if name == LONG:   # Qt alone cut the mark off at this width: the case the user met
            assert "[unreadable]" not in fm.elidedText(given, Qt.TextElideMode.ElideMiddle, width)
        assert shown.endswith(" [unreadable]") and shown.startswith("\u26a0 ")
        assert fm.horizontalAdvance(shown) <= width
        w.browser.view.viewport().grab()     # and it paints


def test_an_image_broken_after_import_has_its_old_suggestions_withdrawn_and_can_be_read_again(qtbot, gui_project):
    """The file of an image with proposals and a prediction is replaced by garbage after import; no stage has read it
    since. The window's own decode finds it out: it is recorded (the project's record, which the stages read), the
    list marks it, and its old suggestions are not offered; once the file is fixed, Read this image again shows
    them again. Nothing stored is deleted."""
    import numpy as np

    from core.data.unreadable import unreadable_reasons
    from core.store.repos.proposals import NewProposal

    p = gui_project
    rec = p.images.by_path("cars/c2.png")
    p.proposals.replace(rec.id, [NewProposal((10, 10, 60, 50), -1, 0.9, 0.8)])
    run = p.maps.new_prediction_run(None, {})
    p.maps.save_prediction(run, rec.id, [0.9, 0.05, 0.05], np.full((12, 16), 0.7, np.float32),
                           [(20, 20, 80, 70, 0.9)])
    path = p.image_root / "cars" / "c2.png"
    good = path.read_bytes()
    path.write_bytes(b"\x89PNG\r\n\x1a\n garbage, not the image that was imported")

    with open_window(qtbot, p) as w:
        row = _row(w, "cars/c2.png")
        assert "[unreadable]" not in w.browser.model.data(w.browser.model.index(row), Qt.ItemDataRole.DisplayRole)
        with qtbot.waitSignal(w.canvas.image_failed, timeout=5000):
            _click_row(qtbot, w, row)
        # found out: recorded in the project as the stages record it, marked in the list
        assert "cars/c2.png" in unreadable_reasons(p)
        assert "[unreadable]" in w.browser.model.data(w.browser.model.index(row), Qt.ItemDataRole.DisplayRole)
        card = w.canvas.failure.text()
        assert card.startswith("c2.png could not be decoded.") and "not offered" in card
        # its old proposal and predicted box are neither drawn nor listed, so there is nothing to accept
        assert w.canvas.items_of("proposal") == {} and w.canvas.items_of("prediction") == {}
        assert w.proposals.rows() == [] and not w.canvas.overlay_shown()
        # the panels say why they list nothing, not "compute them"
        why = "c2.png could not be decoded: its stored maps and suggestions are kept but not offered"
        assert w.proposals.summary.text().startswith(why) and w.attention.info.text().startswith(why)
        w.curation.accept()
        assert "c2.png could not be decoded" in w.status.currentMessage()
        assert p.boxes.list(rec.id) == []
        # kept in the project all the same
        assert len(p.proposals.list(rec.id)) == 1 and p.maps.prediction(rec.id) is not None

        path.write_bytes(good)               # the file put back; the window is asked to read it again
        w.actions_by_key["read_again"].trigger()
        qtbot.waitUntil(lambda: "full" in w.canvas.levels_shown, timeout=5000)
        assert "cars/c2.png" not in unreadable_reasons(p) and not w.canvas.failure.isVisible()
        assert len(w.canvas.items_of("proposal")) == 1 and len(w.canvas.items_of("prediction")) == 1
        assert "could not be decoded" not in w.proposals.summary.text()
        assert "[unreadable]" not in w.browser.model.data(w.browser.model.index(row), Qt.ItemDataRole.DisplayRole)


def test_accepting_predictions_above_a_score_leaves_those_of_an_unreadable_image_pending(qtbot, broken_project):
    import numpy as np

    from app.bulk_accept import plan_for
    from app.dialogs.accept_above import describe

    p = broken_project
    run = p.maps.new_prediction_run(None, {})
    for rel in ("cars/c1.png", "cars/c2.png"):     # c2.png is recorded as failing to decode
        p.maps.save_prediction(run, p.images.by_path(rel).id, [0.9, 0.05, 0.05], np.zeros((12, 16), np.float32),
                               [(20, 20, 80, 70, 0.9)])
    with open_window(qtbot, p) as w:
        plan = plan_for(w.session, 0.5, this_image=False)
        assert {it.image_id for it in plan.items} == {p.images.by_path("cars/c1.png").id}
        assert plan.unreadable == 1 and plan.images == 1
        assert "1 on images that could not be decoded (marked [unreadable])" in describe(plan)


def test_no_box_is_drawn_over_the_card_of_an_unreadable_image(qtbot, broken_project):
    """The card of an unreadable image drew the green ground-truth box (and curated boxes) over the blank area, where
    there is no picture for them to stand on. While the card is shown no box of any layer is drawn, nor the ground
    truth's legend; the next readable image draws its own, and the layers' on/off choices are untouched."""
    p = broken_project
    bad, good = p.images.by_path("cars/c2.png"), p.images.by_path("cars/c1.png")
    for rec in (bad, good):
        p.boxes.add_gt(rec.id, (5, 5, 30, 30), rec.class_id)
        p.boxes.add(rec.id, (8, 8, 28, 28), rec.class_id)
    with open_window(qtbot, p) as w:
        with qtbot.waitSignal(w.canvas.image_failed, timeout=5000):
            _click_row(qtbot, w, _row(w, "cars/c2.png"))
        assert w.canvas.failure.isVisible()
        drawn = [it for kind in ("gt", "curated") for it in w.canvas.items_of(kind).values() if it.isVisible()]
        assert drawn == [] and not w.canvas.legend.isVisible()
        assert w.canvas.layer_visible("gt") and w.canvas.layer_visible("curated")   # the choices stay as they were
        w.canvas.set_layer_visible("gt", False)            # toggling a layer under the card draws nothing either
        w.canvas.set_layer_visible("gt", True)
        assert not any(it.isVisible() for it in w.canvas.items_of("gt").values()) and not w.canvas.legend.isVisible()

        _click_row(qtbot, w, _row(w, "cars/c1.png"))
        qtbot.waitUntil(lambda: "full" in w.canvas.levels_shown, timeout=5000)
        assert not w.canvas.failure.isVisible()
        assert [it.isVisible() for it in w.canvas.items_of("gt").values()] == [True]
        assert [it.isVisible() for it in w.canvas.items_of("curated").values()] == [True]
        assert w.canvas.legend.isVisible()
