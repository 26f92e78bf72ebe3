"""What the window says about its own state is readable and true: a long warning whole, proposals on their way,
what the green boxes are, counts of what is on screen."""
from __future__ import annotations

import os

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
