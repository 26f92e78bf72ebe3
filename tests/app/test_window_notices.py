"""What the window says about its own state is readable and true: a long warning whole, proposals on their way,
what the green boxes are, counts of what is on screen."""
from __future__ import annotations

import os

import pytest

from core.result_checks import degenerate_warning

SHOTS = os.environ.get("DIPS_TEST_SHOTS")   # a folder: the tests save what they looked at (for a person to see)


def _shot(w, name: str) -> None:
    if SHOTS:
        w.grab().save(os.path.join(SHOTS, f"{name}.png"))


def _message_fits(status) -> bool:
    """The status bar's message is drawn whole in what its permanent widgets leave of its width."""
    used = sum(c.width() for c in status.findChildren(type(status.counts)) if c.isVisible()
               and c.parent() is status)
    return status.fontMetrics().horizontalAdvance(status.currentMessage()) < status.width() - used


def test_the_learned_nothing_warning_is_shown_whole_above_the_image(qtbot, main_window, gui_project):
    w = main_window
    warning = degenerate_warning(3, 3)
    run = gui_project.maps.new_prediction_run(None, {})
    gui_project.maps.update_prediction_run_config(run, {"check": {"warning": warning}})
    assert not w.warning_bar.isVisible()

    w.set_project(gui_project)   # opened with that run: the window says it at once
    qtbot.waitUntil(w.warning_bar.isVisible, timeout=3000)
    bar = w.warning_bar.text
    assert bar.text() == warning   # every word, "...check that the images' labels are right, and review..."
    assert bar.height() >= bar.heightForWidth(bar.width())   # wrapped onto as many lines as it needs, none cut
    assert w.warning_bar.geometry().bottom() < w.canvas.geometry().top()   # above the image, not over it
    msg = w.status.currentMessage()
    assert msg.startswith("The model has not learned where the objects are") and "above the image" in msg
    assert _message_fits(w.status), msg
    _shot(w, "warning_bar")

    w.warning_bar.close_btn.click()   # read: dismissed
    assert not w.warning_bar.isVisible()

    # a later run that learned: no warning left standing
    w.warning_bar.show_warning(warning)
    gui_project.maps.new_prediction_run(None, {})
    w._run_finished(1)
    assert not w.warning_bar.isVisible()


def test_an_image_without_proposals_says_they_are_coming_while_the_stage_is_queued_or_runs(qtbot, main_window,
                                                                                          monkeypatch):
    import threading
    import types

    import numpy as np

    from core.store.repos.proposals import NewProposal
    w = main_window
    go_on = {"attention": threading.Event(), "proposals": threading.Event()}

    def fake_attention(project, progress=None, **kw):
        progress.start("attention", 1)
        go_on["attention"].wait(30)
        for i in project.images.ids():
            project.maps.save_attention(i, "fake@32", np.random.default_rng(i).random((2, 4, 4)))
        return 1

    def fake_proposals(project, progress=None, **kw):
        progress.start("proposals", 1)
        go_on["proposals"].wait(30)
        for i in project.images.ids():
            project.proposals.replace(i, [NewProposal((1, 1, 30, 30), -1, 0.8, 0.9)])
        return 1

    monkeypatch.setattr("app.jobs._pipeline", lambda: types.SimpleNamespace(compute_attention=fake_attention,
                                                                            compute_proposals=fake_proposals))
    summary = w.proposals.summary
    assert "Compute proposals" in summary.text()   # nothing computing: how to compute them
    try:
        w.background.compute_attention(then_proposals=True)
        qtbot.waitUntil(lambda: "queued" in summary.text(), timeout=5000)
        assert "being computed" in w.attention.info.text()   # and the maps it waits for are
        assert "Compute proposals" not in summary.text() and "No proposals" not in summary.text()
        _shot(w, "proposals_queued")
        go_on["attention"].set()
        qtbot.waitUntil(lambda: "being computed" in summary.text(), timeout=10000)
        assert "No proposals" not in summary.text()
        w.actions_by_key["next_image"].trigger()   # another image of an object class: the same
        assert "being computed" in summary.text()
    finally:
        go_on["attention"].set()
        go_on["proposals"].set()
    qtbot.waitUntil(lambda: not w.runner.active() and len(w.canvas.items_of("proposal")) == 1, timeout=10000)
    assert summary.text().startswith("1 of 1 proposals shown")

    w.session.project.proposals.replace(w.session.image_id, [])   # none found, nothing running: how to compute
    w.session.proposals_changed.emit(w.session.image_id)
    assert "Compute proposals" in summary.text()


def test_the_canvas_says_what_the_green_boxes_are_while_ground_truth_is_shown(qtbot, main_window, gui_project):
    w = main_window
    legend = w.canvas.legend
    assert not legend.isVisible()   # no ground truth on this image: nothing to explain
    first = w.session.image
    gui_project.boxes.add_gt(first.id, (40, 30, 90, 70), first.class_id)
    w.actions_by_key["next_image"].trigger()
    w.actions_by_key["prev_image"].trigger()
    assert w.session.image_id == first.id and len(w.canvas.items_of("gt")) == 1
    assert legend.isVisible() and "green" in legend.text() and "ground truth" in legend.text()
    vp = w.canvas.viewport().geometry()
    assert vp.contains(legend.geometry())   # whole, on the image area
    assert not legend.geometry().intersects(w.canvas.banner.geometry()) or not w.canvas.banner.isVisible()
    _shot(w, "gt_legend")

    w.actions_by_key["toggle_gt"].setChecked(False)   # hidden: no legend for boxes not drawn
    assert not legend.isVisible()
    w.actions_by_key["toggle_gt"].setChecked(True)
    assert legend.isVisible()
    w.actions_by_key["next_image"].trigger()          # an image without ground truth
    assert not legend.isVisible()


@pytest.mark.parametrize("opened", ["after_show", "with_the_window"])
def test_the_image_list_shows_the_image_on_screen_when_the_window_opens(qtbot, tmp_path, opened):
    """Reopened on its 35th of 40 images, the list is scrolled to that row (it stayed near the top: the rows
    grew when their thumbnails came). As the app starts (window, then project) and with the project given."""
    from app.launch import preload_heavy_modules
    from app.main_window import MainWindow
    from app.project_memory import ProjectMemory
    from core.data.importer import import_images
    from core.store.project import Project
    from tests.conftest import make_image

    root = tmp_path / "imgs"
    for i in range(40):
        make_image(root / "cars" / f"c{i:02d}.png", size=(160, 120), color=(60 + 4 * i, 120, 60))
    path = tmp_path / "many.dips"
    with Project.create(path, root) as p:
        import_images(p)
        target = p.images.list()[34]
    ProjectMemory(path).set_last_image(target.id)

    preload_heavy_modules()
    # as the app starts: the window first, the project once torch is in; or (main.py screenshot) given at once
    w = MainWindow(Project.open(path) if opened == "with_the_window" else None, probe_device=False)
    try:
        w.resize(1300, 850)
        w.show()
        qtbot.waitExposed(w)
        if opened == "after_show":
            assert w.files.open_path(path)
        assert w.session.image_id == target.id
        view = w.browser.view
        row = w.browser.model.index(w.browser.model.row_of(target.id))

        def row_on_screen() -> bool:
            return view.viewport().rect().contains(view.visualRect(row))
        qtbot.waitUntil(lambda: not w.browser.thumbs._pending, timeout=10000)   # rows at their final height
        qtbot.waitUntil(row_on_screen, timeout=3000)
        _shot(w, "list_at_launch")
    finally:
        project = w.session.project
        w.shutdown()
        w.close()
        w.deleteLater()
        if project is not None:
            project.close()


def test_every_cell_of_the_review_table_is_whole_at_1600_px(qtbot, main_window, gui_project):
    """The table's text is never cut ("69x1..." in the size column) at the screenshot's window size."""
    import numpy as np

    from core.store.repos.proposals import NewProposal
    w = main_window
    w.resize(1600, 1000)
    img = w.session.image
    # more rows than the table shows at once: its scroll bar takes width from the columns
    gui_project.proposals.replace(img.id, [NewProposal((0, 0, 159 - k, 119 - k), k % 6 - 1, 0.9 - k / 50, 0.9)
                                           for k in range(14)])
    trained = gui_project.runs.start({"epochs": 1})   # the source column then reads "pred. run #1", as after training
    run = gui_project.maps.new_prediction_run(trained, {})
    gui_project.maps.save_prediction(run, img.id, [0.2, 0.8], np.zeros((8, 8), np.float32), [(0, 0, 158, 118, 0.71)])
    w.session.proposals_changed.emit(img.id)
    w.session.predictions_changed.emit()
    table = w.proposals.table
    qtbot.waitUntil(lambda: table.rowCount() == 11, timeout=3000)   # top 10 and the prediction
    qtbot.wait(50)   # the header's resize to contents
    fm = table.fontMetrics()
    assert sum(table.columnWidth(c) for c in range(table.columnCount())) <= table.viewport().width()
    for r in range(table.rowCount()):
        for c in range(table.columnCount()):
            text = table.item(r, c).text()
            assert fm.horizontalAdvance(text) + 6 <= table.columnWidth(c), (text, table.columnWidth(c))
    for c in range(table.columnCount()):
        head = table.horizontalHeaderItem(c).text()
        assert fm.horizontalAdvance(head) + 6 <= table.columnWidth(c), head
    _shot(w, "review_table_1600")
