"""app/jobs.py: a stage started with a settings object runs with those settings, in a thread or a child process."""
from __future__ import annotations

import types

import pytest

pytest.importorskip("pytestqt")

from app import jobs as jobs_module
from app.jobs import Jobs
from app.workers import Task, TaskRunner
from core.cli import build_parser
from core.settings import Settings
from core.settings_cli import apply_cli


class _ArgvRunner:
    def __init__(self):
        self.started = []

    def run_subprocess(self, argv, title):
        self.started.append((argv, title))
        return Task(title)


def test_a_child_process_gets_the_settings_it_was_given(project):
    s = Settings()
    s.train.epochs, s.train.n_neg = 4, 9
    runner = _ArgvRunner()
    Jobs(runner).start("train", project, s)
    argv, title = runner.started[0]
    assert title == "Training" and argv[:2] == ["train", str(project.path)]
    back = Settings()
    apply_cli(back, build_parser().parse_args(argv))
    assert (back.train.epochs, back.train.n_neg) == (4, 9)


def test_a_killed_training_process_leaves_no_run_marked_running(project):
    runner = _ArgvRunner()
    task = Jobs(runner).start("train", project, Settings())
    run_id = project.runs.start({"epochs": 1})          # what the child had opened before it was killed
    task._end("cancelled")
    assert project.runs.get(run_id).status == "cancelled"


def test_a_thread_stage_runs_with_the_settings_object(qtbot, project, monkeypatch):
    seen = {}

    def fake_attention(p, progress=None, cfg=None):
        seen["cfg"], seen["project"] = cfg, p
        return 3

    monkeypatch.setattr(jobs_module, "_pipeline", lambda: types.SimpleNamespace(compute_attention=fake_attention))
    runner = TaskRunner()
    s = Settings()
    s.attention.input_size = 224
    task = Jobs(runner).start("attention", project, s, in_process=True)
    with qtbot.waitSignal(task.finished, timeout=5000) as done:
        pass
    assert done.args == [3] and task.title == "Attention maps"
    assert seen["cfg"].attention.input_size == 224 and seen["project"] is project
    runner.wait_idle(5000)
