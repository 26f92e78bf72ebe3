"""A training run killed mid-way is marked interrupted by whoever opens the project next; one still training in
another process is left alone."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from core.store.project import Project

REPO = Path(__file__).resolve().parents[3]

TRAINER = """
import sys, time
from core.store.project import Project
from core.store.run_lock import holding_run_lock
p = Project.open(sys.argv[1])
run_id = p.runs.start({"epochs": 1})
with holding_run_lock(p.work_dir, run_id):
    print(run_id, flush=True)
    time.sleep(120)
"""


def test_killed_run_is_marked_interrupted_live_run_is_not(project):
    path = project.path
    project.close()
    proc = subprocess.Popen([sys.executable, "-c", TRAINER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        run_id = int(proc.stdout.readline())
        with Project.open(path) as p:                       # opened while it trains: still running
            assert p.runs.get(run_id).status == "running"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with Project.open(path) as p:                           # opened after the kill: interrupted
        run = p.runs.get(run_id)
        assert run.status == "failed" and run.error == "interrupted (process ended)"
