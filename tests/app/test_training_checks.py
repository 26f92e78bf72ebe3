"""Training checks what it needs before it starts and speaks the inspector's language, in the real window:
missing maps and proposals are offered first (queued after running work, then training starts), what no
computing can fix is said and nothing starts, failures show one line without a traceback, and a failed status
goes when another project opens."""
from __future__ import annotations

import threading
import types

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from core.store.repos.proposals import NewProposal
from tests.app.test_training_panel import FakeTask

KEY = "dinov2_s14@448"     # the default backbone key: what the readiness check looks for


class Answer:
    """Clicks the button named ``button`` of the next modal message box and keeps its texts."""

    def __init__(self, button: str | None):
        self.button, self.text, self.informative, self.details, self.buttons = button, "", "", "", []
        QTimer.singleShot(0, self._answer)

    def _answer(self) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, self._answer)
            return
        self.text, self.informative, self.details = box.text(), box.informativeText(), box.detailedText()
        self.buttons = [b.text() for b in box.buttons()]
        if self.button is None:
            box.button(QMessageBox.StandardButton.Ok).click()
        else:
            box.findChild(QPushButton, self.button).click()


@pytest.fixture
def fake_stages(monkeypatch):
    """Attention and proposals that write to the store at once (or attention waits for ``gate``)."""
    calls: list[str] = []
    gate = threading.Event()
    gate.set()

    def attention(project, progress=None, **kw):
        calls.append("attention")
        gate.wait(20)
        ids = project.images.ids()
        progress.start("attention", len(ids))
        for k, i in enumerate(ids):
            project.maps.save_attention(i, KEY, np.random.default_rng(i).random((2, 4, 4)))
            progress.update(k + 1, len(ids))
        return len(ids)

    def proposals(project, progress=None, **kw):
        calls.append("proposals")
        for i in project.images.ids():
            project.proposals.replace(i, [NewProposal((1, 1, 30, 30), -1, 0.8, 0.9)])
        return 1

    monkeypatch.setattr("app.jobs._pipeline",
                        lambda: types.SimpleNamespace(compute_attention=attention, compute_proposals=proposals))
    return calls, gate


@pytest.fixture
def trains(main_window, monkeypatch):
    """Training commands the window sends, as fake tasks (no child process)."""
    tasks: list[FakeTask] = []

    def run_subprocess(argv, title):
        t = FakeTask(title, list(argv))
        tasks.append(t)
        return t
    w = main_window
    monkeypatch.setattr(w.runner, "run_subprocess", run_subprocess)
    return tasks


def _end_all(tasks) -> None:
    """pytest-qt closes the window before fixtures end: a task still running would ask 'Stop and quit?'."""
    for t in tasks:
        t._end("cancelled")


def _panel(qtbot, w):
    w.actions_by_key["show_training"].trigger()
    qtbot.waitUntil(lambda: w.training_panel is not None, timeout=5000)
    return w.training_panel


def test_missing_maps_and_proposals_are_computed_first_then_training_starts(qtbot, main_window, fake_stages,
                                                                          trains, db):
    w, (calls, _) = main_window, fake_stages
    panel = _panel(qtbot, w)
    answer = Answer("train_after")
    panel.start_btn.click()
    qtbot.waitUntil(lambda: bool(answer.text), timeout=60_000)   # asked once the check (on a thread) is done
    assert "have no attention maps yet" in answer.text and "proposals" in answer.text
    assert any("Compute attention maps and proposals first" in b for b in answer.buttons)
    assert not any(b.startswith("Train now") for b in answer.buttons)     # nothing is ready to train on
    assert panel.busy and "Waiting" in panel.status.text()
    qtbot.waitUntil(lambda: len(trains) == 1, timeout=10000)
    assert calls == ["attention", "proposals"]
    # training started only once every object image had proposals in the store
    assert db.execute("SELECT count(DISTINCT image_id) FROM proposals").fetchone()[0] == 4
    assert trains[0].argv[:2] == ["train", str(w.session.project.path)]
    assert panel._phase == "training"
    _end_all(trains)


def test_training_waits_for_attention_that_is_still_computing(qtbot, main_window, fake_stages, trains, db):
    w, (calls, gate) = main_window, fake_stages
    panel = _panel(qtbot, w)
    gate.clear()
    w.background.compute_attention(then_proposals=True)           # e.g. started on opening the project
    qtbot.waitUntil(lambda: calls == ["attention"], timeout=5000)
    answer = Answer("train_after")
    panel.start_btn.click()
    qtbot.waitUntil(lambda: bool(answer.text), timeout=60_000)
    assert "still being computed" in answer.text
    assert not trains and "Waiting" in panel.status.text()
    gate.set()
    qtbot.waitUntil(lambda: len(trains) == 1, timeout=10000)
    assert calls == ["attention", "proposals"]                      # queued work ran once, then training
    assert db.execute("SELECT count(*) FROM proposals").fetchone()[0] == 4
    _end_all(trains)


def test_cancel_while_waiting_starts_nothing(qtbot, main_window, fake_stages, trains):
    w, (calls, gate) = main_window, fake_stages
    panel = _panel(qtbot, w)
    gate.clear()
    answer = Answer("train_after")
    panel.start_btn.click()
    qtbot.waitUntil(lambda: bool(answer.text), timeout=60_000)
    assert panel.cancel_btn.isEnabled()
    panel.cancel_btn.click()
    assert not panel.busy and "not started" in panel.status.text()
    gate.set()
    qtbot.waitUntil(lambda: calls == ["attention", "proposals"] and not w.runner.active(), timeout=10000)
    qtbot.wait(50)
    assert not trains


def test_ready_project_trains_at_once_and_nothing_fixable_is_said_plainly(qtbot, main_window, gui_project, trains):
    w = main_window
    panel = _panel(qtbot, w)
    for i in gui_project.images.ids():
        gui_project.maps.save_attention(i, KEY, np.ones((2, 4, 4)))
        gui_project.proposals.replace(i, [NewProposal((1, 1, 30, 30), -1, 0.8, 0.9)])
    panel.start_btn.click()                      # nothing missing: no question
    qtbot.waitUntil(lambda: len(trains) == 1, timeout=60_000)
    trains[0]._end("cancelled")
    from core.class_roles import apply_roles
    apply_roles(gui_project, ["cars", "people", "trees"])
    panel.set_project(gui_project)
    answer = Answer(None)
    panel.start_btn.click()
    qtbot.waitUntil(lambda: bool(answer.text), timeout=60_000)
    assert "Every class is marked as showing no object" in answer.text
    assert len(trains) == 1 and not panel.busy and "not started" in panel.status.text()


def test_a_failed_training_shows_one_plain_line_and_clears_on_another_project(qtbot, main_window, trains, tmp_path):
    w = main_window
    panel = _panel(qtbot, w)
    panel.begin(panel.options())
    tb = ("Traceback (most recent call last):\n  File \"core/pipeline/train_stage.py\", line 125, in _train_run\n"
          "    raise ValueError(NO_BOXES)\nValueError: no training image has proposals or curated boxes: "
          "run 'proposals' first\n")
    answer = Answer(None)
    trains[0]._end("failed", ("", tb))           # a child that died with only a traceback on stderr
    assert answer.text == ("no training image has proposals or curated boxes: compute the proposals first with "
                           "Run > Compute proposals")
    assert "Traceback" in answer.details
    assert "Traceback" not in panel.status.text() and "run 'proposals'" not in panel.status.text()
    assert panel.progress.format() == "failed"
    # another project: the failure was the other project's
    from core.data.importer import import_images
    from core.store.project import Project
    from tests.conftest import make_image
    make_image(tmp_path / "other" / "a" / "x.png")
    other = Project.create(tmp_path / "other.dips", tmp_path / "other")
    import_images(other)
    w.set_project(other)
    assert panel.status.text() == "Idle" and panel.progress.format() != "failed"


def test_the_check_before_training_reads_the_store_on_a_worker_thread_and_cancel_stops_it(qtbot, main_window,
                                                                                          gui_project, trains,
                                                                                          monkeypatch):
    from core.pipeline import readiness
    w = main_window
    panel = _panel(qtbot, w)
    for i in gui_project.images.ids():
        gui_project.maps.save_attention(i, KEY, np.ones((2, 4, 4)))
        gui_project.proposals.replace(i, [NewProposal((1, 1, 30, 30), -1, 0.8, 0.9)])
    real_check, real_list = readiness.training_readiness, gui_project.images.list
    on_gui: list[bool] = []                      # per check: did it run on the window's thread?
    reads: list[bool] = []                       # per read of the image records: on the window's thread?
    release = threading.Event()

    def check(*args, **kw):
        on_gui.append(threading.current_thread() is threading.main_thread())
        release.wait(30)
        return real_check(*args, **kw)

    def list_images(*args, **kw):
        reads.append(threading.current_thread() is threading.main_thread())
        return real_list(*args, **kw)
    monkeypatch.setattr(readiness, "training_readiness", check)
    monkeypatch.setattr(gui_project.images, "list", list_images)

    panel.start_btn.click()                      # returns while the check is still held on its thread
    qtbot.waitUntil(lambda: on_gui == [False], timeout=60_000)
    assert "Checking what training needs" in panel.status.text() and panel.busy and not trains
    release.set()
    qtbot.waitUntil(lambda: len(trains) == 1, timeout=60_000)   # the answer came back through the task's signal
    assert reads and True not in reads           # every image record was read off the window's thread
    trains[0]._end("cancelled")
    qtbot.waitUntil(lambda: not panel.busy, timeout=5000)

    # Cancel while the check runs: nothing starts when its answer comes, and no computing is said to go on
    release.clear()
    panel.start_btn.click()
    qtbot.waitUntil(lambda: len(on_gui) == 2, timeout=60_000)
    panel.cancel_btn.click()
    assert not panel.busy and panel.status.text() == "Training not started (cancelled)."
    release.set()
    qtbot.waitUntil(lambda: not w.runner.active(), timeout=60_000)
    qtbot.wait(50)
    assert len(trains) == 1 and panel.status.text() == "Training not started (cancelled)."
