"""``python main.py screenshot``: the real main window rendered offscreen to a PNG of the asked size."""
from __future__ import annotations

import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from app import screenshot
from core.store.repos.proposals import NewProposal


@pytest.fixture
def with_proposals(project):
    b = project.images.by_path("site/sub/b.png")
    project.proposals.replace(b.id, [NewProposal((20, 5, 40, 25), -1, 0.9, 0.95)])
    return b


def test_pick_image_prefers_an_object_image_with_proposals(project, with_proposals):
    assert screenshot.pick_image(project).id == with_proposals.id
    assert screenshot.pick_image(project, "site/a.jpg").rel_path == "site/a.jpg"
    with pytest.raises(ValueError, match="nope.jpg"):
        screenshot.pick_image(project, "nope.jpg")


def test_screenshot_writes_a_png_of_the_requested_size(qapp, project, with_proposals, tmp_path):
    out = tmp_path / "shots" / "main.png"
    assert screenshot.main(["--out", str(out), str(project.path), "--size", "900x600"]) == 0
    img = Image.open(out)
    assert img.size == (900, 600)
    colours = img.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50          # a rendered window, not a blank canvas


def test_screenshot_rejects_bad_arguments(qapp, project, tmp_path, capsys):
    assert screenshot.main(["--out", str(tmp_path / "x.png"), str(project.path), "--image", "nope.jpg"]) == 2
    assert "nope.jpg" in capsys.readouterr().err
    assert screenshot.main(["--out", str(tmp_path / "x.png"), str(tmp_path / "missing.dips")]) == 2
    assert "missing.dips" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        screenshot.main(["--out", str(tmp_path / "x.png"), "--size", "big"])


def test_predict_runs_every_stage_up_to_the_prediction_before_the_picture(qapp, project, with_proposals, tmp_path,
                                                                           monkeypatch):
    import core.pipeline as pipeline
    calls = []
    monkeypatch.setattr(pipeline, "run_all", lambda p, progress=None, **kw: calls.append(p.path) or {})
    out = tmp_path / "p.png"
    assert screenshot.main(["--out", str(out), str(project.path), "--predict", "--size", "900x600"]) == 0
    assert calls == [project.path] and Image.open(out).size == (900, 600)


def test_the_module_run_by_itself_answers_help_as_main_py_screenshot_does():
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "app.screenshot", "--help"], cwd=repo, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0
    assert out.stdout.startswith("usage: python main.py screenshot") and "--out OUT" in out.stdout


def test_the_evaluation_panel_is_grabbed_with_its_result_not_while_it_evaluates(qapp, project, with_proposals,
                                                                                  tmp_path, monkeypatch):
    import time

    import app.panels.eval_panel as eval_panel
    from app.main_window import MainWindow

    project.boxes.add_gt(with_proposals.id, (20, 5, 40, 25), with_proposals.class_id)

    def slow_failure(*_a, **_k):                     # an evaluation that takes a moment, then says why it failed
        time.sleep(0.5)
        raise ValueError("no predicted maps yet: run 'predict' first")

    monkeypatch.setattr(eval_panel, "run_evaluation", slow_failure)
    shown = []
    real_grab = MainWindow.grab
    monkeypatch.setattr(MainWindow, "grab", lambda self, *a: shown.append(self.eval_panel.status.text())
                        or real_grab(self, *a))
    out = tmp_path / "eval.png"
    assert screenshot.main(["--out", str(out), str(project.path), "--panel", "evaluation", "--size", "900x600"]) == 0
    assert shown and "Evaluating" not in shown[0] and "predict" in shown[0]


def test_a_file_replaced_since_it_was_read_is_shown_without_the_old_files_proposals(qapp, project, with_proposals,
                                                                                    tmp_path, capsys):
    """The screenshot starts no background work, so it showed the old file's proposals over a re-exported file's
    pixels; it reads such a file again first, as the window does on opening, and names it."""
    from tests.conftest import make_image
    make_image(project.image_root / "site" / "sub" / "b.png", size=(80, 40), color=(10, 20, 200))
    out = tmp_path / "replaced.png"
    assert screenshot.main(["--out", str(out), str(project.path), "--image", "site/sub/b.png",
                            "--size", "900x600"]) == 0
    assert any(line.startswith("re-read site/sub/b.png: the file changed since it was read")
               for line in capsys.readouterr().err.splitlines())
    rec = project.images.by_path("site/sub/b.png")
    assert (rec.width, rec.height) == (80, 40) and project.proposals.list(rec.id) == []
