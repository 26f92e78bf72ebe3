"""The training panel with past runs: the plot shows the latest run's stored curve (not an empty plot) and the
selected run's when another is picked, named above it."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("qtbot")


def _open_runs(qtbot, w):
    """The training panel opened from the Run menu, its past runs read from the store."""
    w.actions_by_key["show_training"].trigger()
    qtbot.waitUntil(lambda: w.training_panel is not None, timeout=5000)
    w.training_panel.refresh_runs()
    return w.training_panel


def _finished_run(project, losses: list[float]) -> int:
    rid = project.runs.start({"epochs": len(losses)})
    project.runs.update(rid, status="finished", history=[{"epoch": e, "loss": v, "loss_seed": v / 2, "loss_crf": 0.1}
                                                         for e, v in enumerate(losses, start=1)])
    return rid


def test_the_loss_plot_shows_the_latest_runs_curve_on_opening_and_the_selected_one_after(qtbot, main_window,
                                                                                           gui_project):
    older = _finished_run(gui_project, [0.9, 0.7])
    latest = _finished_run(gui_project, [0.8, 0.5, 0.3])
    w = main_window
    panel = _open_runs(qtbot, w)
    xs, ys = panel.plot.curves["loss"].getData()
    assert list(xs) == [1.0, 2.0, 3.0] and list(ys) == pytest.approx([0.8, 0.5, 0.3])
    assert panel.runs.currentItem().data(0, 0x0100) == latest
    assert panel.plot.getPlotItem().titleLabel.text.startswith(f"Training run #{latest} (finished)")
    older_item = next(panel.runs.topLevelItem(i) for i in range(panel.runs.topLevelItemCount())
                      if panel.runs.topLevelItem(i).data(0, 0x0100) == older)
    panel.runs.setCurrentItem(older_item)
    assert list(panel.plot.curves["loss"].getData()[1]) == pytest.approx([0.9, 0.7])
    assert panel.plot.getPlotItem().titleLabel.text.startswith(f"Training run #{older}")
    panel.refresh_runs()                                  # a refresh keeps the user's choice
    assert list(panel.plot.curves["loss"].getData()[1]) == pytest.approx([0.9, 0.7])


def test_the_loss_axis_reads_losses_as_they_are_not_scaled_by_a_prefix(qtbot, main_window, gui_project):
    _finished_run(gui_project, [0.009, 0.004])
    w = main_window
    _open_runs(qtbot, w)
    axis = w.training_panel.plot.getPlotItem().getAxis("left")
    qtbot.wait(50)
    assert "x0.001" not in axis.labelString()
    assert axis.scale == 1.0 and "loss" in axis.labelString()


def test_a_long_result_line_wraps_in_the_runs_table_instead_of_being_cut(qtbot, main_window, gui_project):
    from PySide6.QtCore import QRect, Qt
    rid = _finished_run(gui_project, [0.8, 0.5])
    gui_project.runs.update(rid, metrics={"final_loss": 0.5, "val_accuracy": 0.75, "n_train": 84})
    w = main_window
    _open_runs(qtbot, w)                                     # the panel was built with the window
    runs = w.training_panel.runs
    runs.resize(420, 200)
    qtbot.wait(50)
    item = runs.topLevelItem(0)
    text = item.text(4)
    assert text.endswith("final loss 0.5000 \u00b7 classifier right on 75.0 % of the validation images")
    fm = runs.fontMetrics()
    width = runs.header().sectionSize(4) - 8
    needed = fm.boundingRect(QRect(0, 0, width, 10_000), Qt.TextFlag.TextWordWrap, text).height()
    assert needed >= 2 * fm.height()                                    # too long for one line at this width
    qtbot.waitUntil(lambda: runs.visualItemRect(item).height() >= needed, timeout=2000)   # the row holds it all


def test_the_runs_table_and_the_plot_name_each_run_a_training_run(qtbot, main_window, gui_project):
    older = _finished_run(gui_project, [0.9, 0.7])
    latest = _finished_run(gui_project, [0.8, 0.5])
    w = main_window
    panel = _open_runs(qtbot, w)
    runs = panel.runs
    assert runs.headerItem().text(0) == "Training run"
    rows = [runs.topLevelItem(i) for i in range(runs.topLevelItemCount())]
    assert [r.text(0) for r in rows] == [f"#{latest}", f"#{older}"]
    assert rows[0].toolTip(0).startswith(f"Training run #{latest} finished: ")
    assert rows[1].toolTip(4).startswith(f"Training run #{older} finished: ")
    assert panel.plot.getPlotItem().titleLabel.text.startswith(f"Training run #{latest} (finished)")


def test_a_training_run_that_has_not_predicted_is_said_with_a_button_that_predicts_with_it(qtbot, main_window,
                                                                                            gui_project):
    import numpy as np
    from PySide6.QtCore import Qt

    older = _finished_run(gui_project, [0.9, 0.7])
    pred = gui_project.maps.new_prediction_run(older, {})
    img = gui_project.images.list()[0]
    gui_project.maps.save_prediction(pred, img.id, [0.1, 0.9, 0.0], np.full((8, 8), 0.5, np.float32), [])
    newer = _finished_run(gui_project, [0.8, 0.5])      # trained on the command line (`train`): no prediction
    w = main_window
    panel = _open_runs(qtbot, w)
    assert panel.unpredicted_row.isVisibleTo(panel)
    assert panel.unpredicted.text() == (f"Training run #{newer} has not predicted yet: the boxes shown come from "
                                        f"prediction run #{pred} (from training run #{older}).")
    assert panel.predict_btn.text() == f"Predict with training run #{newer}"
    asked = []
    panel.predict = asked.append                        # the worker's prediction itself is tested elsewhere
    qtbot.mouseClick(panel.predict_btn, Qt.MouseButton.LeftButton)
    assert asked == [newer] and not panel.unpredicted_row.isVisibleTo(panel)

    later = gui_project.maps.new_prediction_run(newer, {})   # once it has predicted, nothing is said
    gui_project.maps.save_prediction(later, img.id, [0.1, 0.9, 0.0], np.full((8, 8), 0.5, np.float32), [])
    panel.refresh_runs()
    assert not panel.unpredicted_row.isVisibleTo(panel)


def test_at_1600_by_1000_the_last_runs_show_without_scrolling_and_the_settings_fold_away(qtbot, gui_project):
    from PySide6.QtCore import QSettings

    for k in range(6):
        rid = _finished_run(gui_project, [0.9 - 0.1 * k, 0.5])
        gui_project.runs.update(rid, metrics={"final_loss": 0.5, "val_accuracy": 0.75, "n_train": 84})
    settings = QSettings()
    kept = {k: settings.value(k) for k in ("main_window/geometry", "main_window/state")}
    for key in kept:                                              # the layout as it first opens
        settings.remove(key)
    try:
        _check_the_runs_fit(qtbot, gui_project)
    finally:                                                      # and as the other tests left it
        for k, v in kept.items():
            settings.remove(k) if v is None else settings.setValue(k, v)


def _check_the_runs_fit(qtbot, gui_project) -> None:
    from PySide6.QtWidgets import QScrollArea

    from tests.app.window_helpers import open_window
    with open_window(qtbot, gui_project, size=(1600, 1000)) as w:
        w.actions_by_key["show_training"].trigger()
        qtbot.waitUntil(lambda: w.training_panel is not None and w.training_panel.isVisible(), timeout=5000)
        panel = w.training_panel
        qtbot.wait(100)
        # the project has runs: its settings are folded to one line that says what the next run trains with
        assert not panel.settings_box.isVisible() and panel.settings_summary.isVisible()
        t = panel.options().train
        assert panel.settings_summary.text().startswith(f"{t.epochs} epochs \u00b7 K {t.K} \u00b7 lr ")
        area = w.training_dock.widget()
        assert isinstance(area, QScrollArea) and not area.verticalScrollBar().isVisible()   # the panel fits its dock
        runs = panel.runs
        shown = runs.viewport().rect()
        newest = [runs.topLevelItem(i) for i in range(3)]
        assert [it.text(0) for it in newest] == [f"#{r.id}" for r in reversed(gui_project.runs.list()[-3:])]
        assert all(shown.contains(runs.visualItemRect(it)) for it in newest)   # the last three runs, whole
        assert runs.verticalScrollBar().value() == 0

        panel.settings_toggle.click()                    # unfolded on demand, and kept so for the session
        assert panel.settings_box.isVisible() and not panel.settings_summary.isVisible()
        panel.refresh_runs()
        assert panel.settings_box.isVisible()


def test_a_project_without_runs_opens_the_training_panel_with_its_settings_unfolded(qtbot, main_window):
    w = main_window
    w.actions_by_key["show_training"].trigger()
    qtbot.waitUntil(lambda: w.training_panel is not None and w.training_panel.isVisible(), timeout=5000)
    assert w.training_panel.settings_box.isVisible() and w.training_panel.settings_toggle.isChecked()


def test_a_one_epoch_run_shows_its_losses_as_dots_and_the_folded_settings_say_1_epoch(qtbot, main_window, gui_project):
    _finished_run(gui_project, [0.9])
    w = main_window
    panel = _open_runs(qtbot, w)
    loss = panel.plot.curves["loss"]
    assert list(loss.getData()[1]) == pytest.approx([0.9])
    assert loss.opts["symbol"] == "o"                   # a line through one point would draw nothing at all
    panel.epochs.setValue(1)
    panel.show_settings(False)
    assert panel.settings_summary.text().startswith("1 epoch \u00b7 K ")   # not '1 epochs'
    panel.epochs.setValue(3)
    panel.show_settings(False)
    assert panel.settings_summary.text().startswith("3 epochs \u00b7 K ")
    panel.refresh_runs(select=_finished_run(gui_project, [0.9, 0.7]))
    assert list(panel.plot.curves["loss"].getData()[1]) == pytest.approx([0.9, 0.7])
    assert panel.plot.curves["loss"].opts["symbol"] is None   # two epochs: the line, no dots


def _row_of(runs, run_id):
    return next(runs.topLevelItem(i) for i in range(runs.topLevelItemCount())
                if runs.topLevelItem(i).data(0, 0x0100) == run_id)


def test_a_past_run_shows_the_images_it_left_out_as_unreadable_folded_under_its_row(qtbot, main_window, gui_project):
    """A run's metrics keep the images it left out as unreadable ({path: reason}); the panel said nothing of them.
    Its row counts them, its tooltip names them with the reason, and it unfolds to one row per file; a long list
    stays folded (one row's height) and the tooltip names the first 20."""
    from app.panels.runs_list import TIP_FILES
    plain = _finished_run(gui_project, [0.8, 0.5])
    gui_project.runs.update(plain, metrics={"final_loss": 0.5, "n_train": 6})
    two = _finished_run(gui_project, [0.8, 0.5])
    gui_project.runs.update(two, metrics={"final_loss": 0.5, "n_train": 4, "skipped_unreadable": {
        "cars/c2.png": "truncated or corrupt image data", "bikes/b1.png": "empty file"}})
    many = _finished_run(gui_project, [0.8, 0.5])
    gui_project.runs.update(many, metrics={"final_loss": 0.5, "n_train": 4, "skipped_unreadable": {
        f"site/img_{i:03d}.jpg": "truncated or corrupt image data" for i in range(60)}})
    w = main_window
    panel = _open_runs(qtbot, w)
    runs = panel.runs

    row = _row_of(runs, two)
    assert row.text(4).endswith(" \u00b7 2 images left out as unreadable")
    assert "left out" not in _row_of(runs, plain).text(4) and _row_of(runs, plain).childCount() == 0
    tip = row.toolTip(4)
    assert ("left out as unreadable (not decoded again until the file changes):\n"
            "  bikes/b1.png: empty file\n  cars/c2.png: truncated or corrupt image data") in tip
    assert runs.left_out_rows(two) == ["left out: bikes/b1.png: empty file",
                                       "left out: cars/c2.png: truncated or corrupt image data"]
    assert not row.isExpanded()
    row.setExpanded(True)                                  # unfolded: one row per file, under its run
    assert runs.visualItemRect(row.child(1)).top() > runs.visualItemRect(row).bottom() - 1
    runs.setCurrentItem(row.child(0))                      # picking a file's row shows its run's curve
    assert panel.plot.getPlotItem().titleLabel.text.startswith(f"Training run #{two}")

    big = _row_of(runs, many)
    assert big.text(4).endswith("60 images left out as unreadable") and big.childCount() == 60
    assert big.toolTip(4).count("site/img_") == TIP_FILES and "\u2026 and 40 more" in big.toolTip(4)
    # folded, the long list costs the table nothing: the row is as tall as one without files left out
    assert runs.visualItemRect(big).height() <= runs.visualItemRect(_row_of(runs, plain)).height() + 2
