"""What a failure says in the window: one line, no traceback, no command-line names."""
from __future__ import annotations

from app.failure_words import last_meaningful_line, plain_message

TRACEBACK = ("Traceback (most recent call last):\n  File \"main.py\", line 9, in <module>\n    train()\n"
             "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n")


def test_a_traceback_becomes_its_last_line_without_the_type():
    assert last_meaningful_line(TRACEBACK) == "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"
    assert plain_message("", TRACEBACK) == "CUDA out of memory. Tried to allocate 2.00 GiB"
    assert plain_message(TRACEBACK) == "CUDA out of memory. Tried to allocate 2.00 GiB"
    assert last_meaningful_line("features:  40%|####      | 4/10\rfeatures: 100%|#####| 10/10\n") == ""


def test_command_line_names_are_put_in_the_windows_words():
    assert plain_message("p.dips: no finished training run to predict with (run 'train' first)") == \
        "p.dips: no finished training run to predict with (train a model first with Run > Training)"
    assert "Run > Compute proposals" in plain_message("no predicted maps (run the attention/proposals stage first)")
    assert plain_message("raise --n-neg or run python main.py proposals p.dips --K 2") == \
        "raise 'background pixels per image (n-)' or compute the proposals first with Run > Compute proposals"
    assert plain_message("first line\nsecond line") == "first line"


def test_a_child_that_dies_with_a_traceback_fails_with_its_last_line_in_plain_words(qtbot):
    from app.dialogs.error_dialog import make_error_box
    from app.workers import TaskRunner
    from tests.app.test_workers import _script_task
    runner = TaskRunner()
    task = _script_task(runner, "raise ValueError(\"no training image has proposals: run 'proposals' first\")",
                        title="Training")
    with qtbot.waitSignal(task.failed, timeout=20000) as blocker:
        pass
    message, details = blocker.args
    assert message.startswith("Training stopped: no training image has proposals: compute the proposals first")
    assert "Traceback" in details
    box = make_error_box(None, "Training failed", message, details)
    assert "Traceback" not in box.text() and "Traceback" in box.detailedText()


def test_a_failed_import_says_one_line_and_keeps_the_traceback_behind_a_button(qtbot):
    from PySide6.QtCore import Qt

    from app.dialogs import new_project as np_dlg
    wiz = np_dlg.NewProjectWizard(None, None)
    qtbot.addWidget(wiz)
    wiz.show()
    page = wiz.import_page
    tb = ("Traceback (most recent call last):\n  File \"core/data/importer.py\", line 80, in import_images\n"
          "OSError: [Errno 5] Input/output error: '/media/usb/t9.png'\n")
    page.show_failure("OSError: [Errno 5] Input/output error: '/media/usb/t9.png'", tb)
    assert page.status.text() == ("Import failed: Input/output error: '/media/usb/t9.png'. "
                                  "The project file was removed.")
    assert page.report_view.isHidden() and not page.details_btn.isHidden()
    qtbot.mouseClick(page.details_btn, Qt.MouseButton.LeftButton)
    assert not page.report_view.isHidden() and "Traceback" in page.report_view.toPlainText()
