"""TaskRunner: thread and subprocess tasks, errors, cancel, and a GUI loop that never stalls."""
from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from app.workers import TaskRunner
from core.progress import ProgressEvent
from tests.app.stall import cpu_bound_task, gui_cpu_gaps


@pytest.fixture
def runner(qtbot):
    r = TaskRunner()
    yield r
    r.cancel_all()
    r.wait_idle(5000)


def test_thread_result_and_progress_arrive_on_gui_thread(qtbot, runner):
    from PySide6.QtCore import QThread
    seen = []

    def work(progress):
        progress.start("count", 3)
        for i in range(1, 4):
            progress.update(i, 3, f"item {i}")
        return 42

    task = runner.run_in_thread(work, "count")
    gui = QThread.currentThread()
    task.progress.connect(lambda ev: seen.append((ev, QThread.currentThread() is gui)))
    with qtbot.waitSignal(task.finished, timeout=5000) as blocker:
        pass
    assert blocker.args == [42]
    assert task.state == "finished"
    assert seen and all(on_gui for _, on_gui in seen)
    assert isinstance(seen[-1][0], ProgressEvent) and seen[-1][0].done == 3
    qtbot.waitUntil(lambda: runner.active() == [])


def test_thread_exception_becomes_failed_signal(qtbot, runner):
    def boom(progress):
        raise ValueError("bad input in x.jpg")

    task = runner.run_in_thread(boom, "boom")
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    msg, details = blocker.args
    assert msg == "bad input in x.jpg"          # bad input: core's message is for the user, as it is
    assert "Traceback" in details and "boom" in details


def test_a_bug_in_a_thread_is_named_by_its_type(qtbot, runner):
    def bug(progress):
        return {}["missing"]

    task = runner.run_in_thread(bug, "bug")
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    assert blocker.args[0] == "KeyError: 'missing'"


def test_thread_cancel_is_cooperative(qtbot, runner):
    def slow(progress):
        progress.start("slow", 1000)
        for i in range(1000):
            time.sleep(0.005)
            progress.update(i + 1, 1000)
        return "not cancelled"

    task = runner.run_in_thread(slow, "slow")
    qtbot.waitUntil(lambda: task.last_event is not None, timeout=3000)
    with qtbot.waitSignal(task.cancelled, timeout=10000):
        task.cancel()
    assert task.state == "cancelled"
    assert task.last_event.done < 1000   # it stopped at the next step, not after the whole loop


def test_event_loop_never_stalls_during_cpu_heavy_task(qtbot, runner):
    import threading
    ran_on: set[int] = set()
    heavy = cpu_bound_task(1.0, 120, 400, seed=0, threads=ran_on)   # busy for a fixed 1 s whatever the speed
    with gui_cpu_gaps() as cpu_gaps:
        task = runner.run_in_thread(heavy, "heavy")
        with qtbot.waitSignal(task.finished, timeout=20000):
            pass
    cpu = np.array(cpu_gaps)
    print(f"most GUI-thread CPU between two ticks: {cpu.max() * 1000:.0f} ms over {len(cpu)} ticks")
    assert ran_on and threading.main_thread().ident not in ran_on
    assert len(cpu) > 5
    assert cpu.max() < 0.1, f"the GUI thread computed for {cpu.max() * 1000:.0f} ms between two ticks"


def _script_task(runner, code: str, title="proc"):
    # run_subprocess always runs main.py; patch the program to a one-off script for the test
    from app import workers
    task = workers.ProcessTask(title, [], runner)
    task.proc.setProgram(sys.executable)
    runner._track(task)
    task.proc.start(sys.executable, ["-c", code])
    return task


def test_subprocess_json_events(qtbot, runner):
    code = ("import json,sys\n"
            "print(json.dumps({'event':'progress','stage':'train','done':1,'total':2,'message':'m',"
            "'eta_s':1.0,'extra':{'loss':0.5}}), flush=True)\n"
            "print('a stray print')\n"
            "print(json.dumps({'event':'done','result':7}))\n")
    task = _script_task(runner, code)
    events = []
    task.progress.connect(events.append)
    with qtbot.waitSignal(task.finished, timeout=10000) as blocker:
        pass
    assert blocker.args == [7]
    assert events[0].stage == "train" and events[0].extra == {"loss": 0.5}


def test_subprocess_error_event_and_crash(qtbot, runner):
    code = ("import json\n"
            "print(json.dumps({'event':'error','message':'no images','details':'tb here'}))\n"
            "raise SystemExit(2)\n")
    task = _script_task(runner, code)
    with qtbot.waitSignal(task.failed, timeout=10000) as blocker:
        pass
    assert blocker.args == ["no images", "tb here"]

    task = _script_task(runner, "import sys; sys.stderr.write('Segfault-ish trouble\\n'); sys.exit(3)")
    with qtbot.waitSignal(task.failed, timeout=10000) as blocker:
        pass
    assert "exited with code 3" in blocker.args[0]
    assert "Segfault-ish trouble" in blocker.args[1]


def test_subprocess_cancel_kills_child_tree(qtbot, runner, tmp_path):
    import os
    pidfile = tmp_path / "child.pid"
    code = ("import subprocess,sys,time\n"
            f"c=subprocess.Popen([sys.executable,'-c','import time; time.sleep(60)'])\n"
            f"open({str(pidfile)!r},'w').write(str(c.pid))\n"
            "time.sleep(60)\n")
    task = _script_task(runner, code)
    qtbot.waitUntil(lambda: pidfile.exists() and pidfile.read_text() != "", timeout=10000)
    child = int(pidfile.read_text())
    with qtbot.waitSignal(task.cancelled, timeout=5000):
        task.cancel()

    def gone():
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        # a killed child may linger as a zombie until reaped by init
        try:
            with open(f"/proc/{child}/stat") as fh:
                return fh.read().split()[2] == "Z"
        except FileNotFoundError:
            return True
        return False
    qtbot.waitUntil(gone, timeout=5000)


def test_run_subprocess_runs_main_py(qtbot, runner):
    task = runner.run_subprocess(["--help"], "help")
    with qtbot.waitSignal(task.finished, timeout=30000):
        pass
    assert task.state == "finished"


def test_progress_held_back_in_a_burst_still_arrives_and_the_last_event_always_comes_before_the_end(qtbot, runner):
    import threading
    slow_image = threading.Event()
    seen: list = []

    def work(progress):
        progress.start("count", 10)
        progress.update(1, 10, done_ids=[1])
        progress.update(2, 10, done_ids=[2])   # within the interval of the one before: held back ...
        progress.update(3, 10, done_ids=[3])   # ... and replaced by this one, which carries both ids
        slow_image.wait(30)                    # the next image takes long: what was held must not wait for it
        for i in range(4, 8):
            progress.update(i, 10, done_ids=[i])
        return "stopped at 7 of 10"            # the stage's last event is not a done == total one

    task = runner.run_in_thread(work, "count")
    task.progress.connect(lambda ev: seen.append(("progress", ev.done, list(ev.extra.get("done_ids", ())))))
    task.finished.connect(lambda result: seen.append(("finished", result)))
    qtbot.waitUntil(lambda: bool(seen) and seen[-1][:2] == ("progress", 3), timeout=10_000)
    assert not slow_image.is_set()             # arrived while the stage was still busy with its next image
    assert sorted(i for s in seen for i in s[2]) == [1, 2, 3]   # no image done was lost with a held event
    slow_image.set()
    qtbot.waitUntil(lambda: seen[-1][0] == "finished", timeout=10_000)
    assert seen[-2][:2] == ("progress", 7)     # the last word of the stage, before its end
    assert sorted(i for s in seen if s[0] == "progress" for i in s[2]) == list(range(1, 8))
    assert task.last_event.done == 7
