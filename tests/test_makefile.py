"""The Makefile installs into its venv again only when pyproject.toml's content changed, never for a newer file date
(a fresh checkout or a git worktree beside a shared venv). Dry runs only (make -n): nothing is installed."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _dry_install(folder: Path, venv: Path) -> str:
    # run under `make test` the suite inherits MAKELEVEL / MAKEFLAGS, and a nested make then prints "Entering
    # directory" lines into its output: start it as a user's make, top level
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(["make", "-n", "--no-print-directory", "install", f"VENV={venv}"], cwd=folder, env=env,
                          capture_output=True, text=True, check=True, timeout=60).stdout


def test_an_unchanged_pyproject_never_reinstalls_a_changed_one_does(tmp_path):
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    venv = tmp_path / "venv"
    first = _dry_install(tmp_path, venv)
    assert "pip install" in first                               # no venv yet: installs
    stamp = Path(next(line for line in first.splitlines() if line.startswith("touch ")).removeprefix("touch "))
    venv.mkdir()
    stamp.touch()                                               # as the install leaves it
    pyproject = tmp_path / "pyproject.toml"
    later = stamp.stat().st_mtime + 3600
    os.utime(pyproject, (later, later))                          # newer file, same content
    assert "pip install" not in _dry_install(tmp_path, venv)
    pyproject.write_text(pyproject.read_text() + "\n# an edit\n")
    assert "pip install" in _dry_install(tmp_path, venv)       # new content: installs again
