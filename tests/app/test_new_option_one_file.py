"""A new setting is one new field in core/settings.py: done here for real on a copy of the code.

The test adds a hyperparameter to a copy of core/settings.py (and edits nothing else), then, in a fresh
interpreter on that copy, checks every place a user meets a setting: the stage's command line and its
--help, the settings saved with a project, the command line the GUI sends to a training child process, and
the training panel's editor with its tooltip. docs/design.md shows the same diff."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = '    amp: bool = option(True, "mixed precision on CUDA only'
NEW_FIELD = (
    '    warmup_epochs: int = option(0, "epochs of linear learning-rate warm-up before the schedule", '
    'unit="epochs",\n'
    '                                cli="warmup-epochs", stages=("train",), gui=True, label="Warm-up", low=0)\n'
)

CHECK = textwrap.dedent("""
    import argparse, json, sys
    from pathlib import Path
    import core
    assert Path(core.__file__).resolve().is_relative_to(Path.cwd().resolve()), core.__file__  # the edited copy

    from core.settings import Settings, load_settings, save_settings
    from core.settings_cli import add_stage_options, apply_cli, stage_argv

    # the command line: a --warmup-epochs option on `train`, with its help, default and unit, range-checked
    parser = argparse.ArgumentParser(prog="train")
    add_stage_options(parser, "train")
    text = parser.format_help()
    assert "--warmup-epochs" in text and "linear learning-rate warm-up" in text and "default 0; epochs" in text
    s = Settings()
    assert s.train.warmup_epochs == 0
    assert apply_cli(s, parser.parse_args(["--warmup-epochs", "3"])) and s.train.warmup_epochs == 3
    try:
        parser.parse_args(["--warmup-epochs", "-1"])
    except SystemExit:
        pass
    else:
        raise AssertionError("a negative warm-up was accepted")

    # saved with the project and read back
    class Meta:
        path = Path("p.dips")
        def __init__(self): self.meta = {}
        def get_meta(self, key): return self.meta.get(key)
        def set_meta(self, key, value): self.meta[key] = value
    project = Meta()
    save_settings(project, s)
    assert json.loads(project.meta["pipeline_config"])["train"]["warmup_epochs"] == 3
    assert load_settings(project).train.warmup_epochs == 3

    # the GUI's training child process gets it
    argv = stage_argv(s, "train", "p.dips")
    assert argv[argv.index("--warmup-epochs") + 1] == "3"

    # the training panel's generated editor: label, tooltip, value in, value out
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from app.panels.settings_form import SettingsForm
    form = SettingsForm("train")
    editor = form.editors["warmup_epochs"]
    assert form.labels["warmup_epochs"].text() == "Warm-up"
    assert "linear learning-rate warm-up" in editor.toolTip()
    form.show(s.train)
    s.train.warmup_epochs = 0
    assert form.read(s.train) == [] and s.train.warmup_epochs == 3
    print("new option reached the CLI, the saved settings, the child's argv and the panel")
""")


def test_a_new_setting_is_one_edit_of_core_settings(tmp_path):
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("core", "app"):
        shutil.copytree(ROOT / part, copy / part, ignore=ignore)
    settings = copy / "core" / "settings.py"
    text = settings.read_text(encoding="utf-8")
    assert text.count(ANCHOR) == 1
    settings.write_text(text.replace(ANCHOR, NEW_FIELD + ANCHOR), encoding="utf-8")   # the one edit

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(copy)}
    out = subprocess.run([sys.executable, "-c", CHECK], cwd=copy, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "new option reached" in out.stdout
