"""The command line as a user drives it: real subprocesses for exit codes, in-process for the rest."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from main import main

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_new_info_export_import(tmp_path, image_folder, capsys):
    proj = tmp_path / "p.dips"
    assert main(["new", str(proj), "--images", str(image_folder), "--split", "0.5,0.25,0.25"]) == 0
    out = capsys.readouterr().out
    assert "added 7" in out and "truncated" in out
    assert main(["info", str(proj)]) == 0
    info = capsys.readouterr().out
    assert "site 4" in info and "no_site 3" in info and "unreviewed 7" in info
    # the files the importer refused are named with their reason, and how to have them read again
    assert "that failed to decode at import, skipped by re-scans until the file changes" in info
    assert "import-images --retry-unreadable (reads these files again; --rehash also reads every other file)" in info
    assert any(line.startswith("  site/truncated.jpg: ") for line in info.splitlines())
    coco = tmp_path / "o.json"
    assert main(["export", str(proj), "--out", str(coco), "--boxes", "all"]) == 0
    assert "7 images, 0 annotations (all)" in capsys.readouterr().out
    data = json.loads(coco.read_text())
    assert len(data["images"]) == 7
    data["annotations"] = [{"id": 1, "image_id": data["images"][0]["id"], "category_id": data["categories"][0]["id"],
                            "bbox": [1, 1, 5, 5]}]
    coco.write_text(json.dumps(data))
    assert main(["import-coco", str(proj), str(coco), "--as", "gt"]) == 0
    assert main(["info", str(proj)]) == 0
    assert "gt boxes   1" in capsys.readouterr().out
    (image_folder / "no_site" / "n0.png").unlink()           # a file gone: counted in words, "1 file", not "file(s)"
    assert main(["import-images", str(proj)]) == 0
    capsys.readouterr()
    assert main(["info", str(proj)]) == 0
    assert "missing    1 file no longer on disk" in capsys.readouterr().out


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path, image_folder):
    """`info PROJECT | head -1`: the reader goes away before info has written; info stops quietly, as a shell
    command does (exit status 128 + SIGPIPE), with no traceback."""
    proj = tmp_path / "p.dips"
    assert main(["new", str(proj), "--images", str(image_folder)]) == 0
    child = subprocess.Popen([sys.executable, str(REPO / "main.py"), "info", str(proj)], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()                                   # no reader left: info's first write finds the pipe closed
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err


@pytest.mark.parametrize("args, reason", [
    (["info", "nowhere.dips"], "no such project file"),
    (["new", "x.dips", "--images", "/no/such/folder"], "image folder does not exist"),
    (["export", "nowhere.dips", "--out", "o.json"], "no such project file"),
])
def test_bad_input_exits_nonzero_with_one_line(args, reason, tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0] and "Traceback" not in r.stderr


def test_every_subcommand_has_help():
    from core.cli import COMMANDS, build_parser
    parser = build_parser()
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([name, "--help"])
        assert exc.value.code == 0


def test_import_coco_of_a_broken_file_names_it(tmp_path, image_folder, capsys):
    proj = tmp_path / "p.dips"
    main(["new", str(proj), "--images", str(image_folder)])
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["import-coco", str(proj), str(bad)]) == 2
    assert "bad.json: not valid JSON" in capsys.readouterr().err


def test_new_declares_the_classes_that_show_no_object(tmp_path, image_folder, capsys):
    from core.settings import load_settings
    from core.store.project import Project
    proj = tmp_path / "roles.dips"
    assert main(["new", str(proj), "--images", str(image_folder), "--background-classes", "site"]) == 0
    assert "background classes (no object): site" in capsys.readouterr().out
    with Project.open(proj) as p:
        s = load_settings(p)
        assert s.background_classes == ["site"] and not s.is_background("no_site")
    # by default the name rule decides, and is saved as the rule
    assert main(["new", str(tmp_path / "rule.dips"), "--images", str(image_folder)]) == 0
    assert "background classes (no object): no_site" in capsys.readouterr().out
    # a name that is no class: refused, and no project is left behind
    assert main(["new", str(tmp_path / "bad.dips"), "--images", str(image_folder),
                 "--background-classes", "meadow"]) == 2
    assert "no class named meadow" in capsys.readouterr().err
    assert not (tmp_path / "bad.dips").exists()


def test_export_to_a_path_that_cannot_be_says_which_and_why(tmp_path, image_folder, capsys):
    proj = tmp_path / "p.dips"
    assert main(["new", str(proj), "--images", str(image_folder)]) == 0
    capsys.readouterr()
    (tmp_path / "afile").write_text("")
    assert main(["export", str(proj), "--out", str(tmp_path / "afile" / "x.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {tmp_path / 'afile' / 'x.json'}: {tmp_path / 'afile'} is a file, not a folder"
    if Path("/proc/self").exists():   # Linux: /proc takes no new files, even from root
        assert main(["export", str(proj), "--out", "/proc/dips-x.json"]) == 2
        assert capsys.readouterr().err.strip() == "error: /proc/dips-x.json: No such file or directory"


def _subcommands():
    import argparse

    from core.cli import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def test_every_option_of_every_subcommand_says_what_it_does():
    """`demo --help` once listed `--seed` with no words; every option shown in --help now has some."""
    import argparse
    for name, parser in _subcommands().items():
        for action in parser._actions:
            if action.option_strings and action.help != argparse.SUPPRESS:
                assert action.help and action.help.strip(), (name, action.option_strings)


def test_demo_help_explains_the_seed(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--seed SEED seed of the synthetic scenes" in text


def test_the_suggestion_gate_is_an_option_of_predict_where_it_acts_and_trains_old_spelling_still_works(capsys):
    from core.settings import Settings
    from core.settings_cli import apply_cli
    for stage, listed in (("predict", True), ("run", True), ("train", False)):
        with pytest.raises(SystemExit):
            main([stage, "--help"])
        assert ("--suggestion-gate" in capsys.readouterr().out) is listed, stage
    from core.cli import build_parser
    for stage in ("predict", "train"):      # README's `--no-suggestion-gate` works on both
        s = Settings()
        assert apply_cli(s, build_parser().parse_args([stage, "p.dips", "--no-suggestion-gate"]))
        assert s.train.suggestion_gate is False


def test_threshold_help_says_when_the_curated_boxes_alone_choose_it(capsys):
    """What README says: once 5 images carry curated boxes the run did not train on, those alone choose the operating
    threshold."""
    from core.pipeline.predict_stage import CALIBRATION_MIN
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert f"curated boxes alone once {CALIBRATION_MIN} images the run did not train on have some" in shown


@pytest.mark.parametrize(("word", "meant"), [("scan", "import-images"), ("predcit", "predict"),
                                             ("screenshots", "screenshot")])
def test_a_mistyped_command_says_so_and_names_the_command_instead_of_opening_the_window(word, meant, capsys,
                                                                                         monkeypatch):
    import app.launch

    monkeypatch.setattr(app.launch, "run_gui", lambda argv: pytest.fail(f"the window was started for {argv}"))
    assert main([word, "sites.dips"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: '{word}' is neither a command nor a project file; did you mean '{meant}'?")
    assert "import-images" in err and "--help" in err


def test_a_project_file_still_opens_the_window(tmp_path, monkeypatch):
    import app.launch

    opened = []
    monkeypatch.setattr(app.launch, "run_gui", lambda argv: opened.append(argv) or 0)
    (tmp_path / "sites").touch()   # a project file without the .dips suffix is a project too
    for arg in (str(tmp_path / "sites"), "elsewhere.dips", "sub/sites"):
        assert main([arg]) == 0
    assert opened == [[str(tmp_path / "sites")], ["elsewhere.dips"], ["sub/sites"]]


def test_export_of_reviewed_images_when_none_is_reviewed_says_why_the_file_is_empty(tmp_path, image_folder, capsys):
    from core.store.project import Project

    proj, out = tmp_path / "p.dips", tmp_path / "reviewed.json"
    assert main(["new", str(proj), "--images", str(image_folder)]) == 0
    capsys.readouterr()
    assert main(["export", str(proj), "--out", str(out), "--reviewed-only", "--split", "test"]) == 0
    said = capsys.readouterr().out
    assert "wrote" in said and "0 images, 0 annotations" in said
    assert "note: no image in the test split is marked reviewed yet, so the file holds none: mark an image " \
           "reviewed in the window (Space)" in said
    with Project.open(proj) as p:
        p.images.set_review(p.images.list()[0].id, "verified")
    assert main(["export", str(proj), "--out", str(out), "--reviewed-only"]) == 0
    said = capsys.readouterr().out
    assert "1 image, 0 annotations" in said and "note:" not in said
