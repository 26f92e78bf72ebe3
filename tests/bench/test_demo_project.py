"""The proposal benches find the demo project bench/quality.py builds, and say how to build it when it is missing."""
import subprocess
import sys
from pathlib import Path

import pytest

from bench.demo_project import DEMO_PROJECT, demo_folder, open_demo_project

REPO = Path(__file__).resolve().parents[2]


def test_the_benches_default_project_is_the_one_quality_builds_by_default():
    assert Path(DEMO_PROJECT) == Path("/tmp/dips_quality/demo_240_0/demo.dips") == demo_folder() / "demo.dips"


def test_a_missing_project_names_the_file_and_the_bench_that_builds_it(tmp_path):
    missing = tmp_path / "nope.dips"
    with pytest.raises(SystemExit) as e:
        open_demo_project(missing)
    assert str(missing) in str(e.value) and "bench/quality.py" in str(e.value)


def test_proposal_defaults_without_its_project_exits_with_that_message_not_a_traceback(tmp_path):
    missing = tmp_path / "nope.dips"
    r = subprocess.run([sys.executable, str(REPO / "bench" / "proposal_defaults.py"), "--project", str(missing)],
                       capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and f"{missing}: no such project file" in r.stderr
