"""Export choices, from the window's File menu: which boxes, only reviewed images, a split, background
classes as categories or not, coordinates to 0.01 px (the umask: tests/core/data/test_export_mode.py)."""
from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QLabel

from app.dialogs import coco_dialogs as cd

pytestmark = pytest.mark.usefixtures("qtbot")


@pytest.fixture
def boxed(project):
    """site/a.jpg: reviewed, train, a drawn box and an accepted prediction; no_site/n0.png: a box of no_site."""
    site, no_site = project.class_id("site", create=False), project.class_id("no_site", create=False)
    a = project.images.by_path("site/a.jpg")
    n0 = project.images.by_path("no_site/n0.png")
    project.images.set_review(a.id, "verified")
    project.images.set_split(a.id, "train")
    project.images.set_split(n0.id, "test")
    project.boxes.add(a.id, (1.234567, 2.0, 20.98765, 30.5), site)
    project.boxes.add(a.id, (5, 5, 15, 15), site, source="prediction", score=0.8)
    project.boxes.add(n0.id, (3, 3, 9, 9), no_site)
    return project


REPORTS: list[str] = []


def export(qtbot, window, monkeypatch, out, choose) -> dict:
    """File > Export COCO, with the dialog's choices made by ``choose``; the file written, parsed."""
    def drive(dlg):
        choose(dlg)
        dlg.file_edit.setText(str(out))
        dlg.export_btn.click()
        REPORTS.append(dlg.result_view.toPlainText())
        return 0
    monkeypatch.setattr(cd.CocoExportDialog, "exec", drive)
    window.actions_by_key["export_coco"].trigger()
    return json.loads(out.read_text())


@pytest.fixture
def window(qtbot, boxed):
    from app.main_window import MainWindow
    w = MainWindow(boxed, probe_device=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


def test_export_choices_from_the_file_menu(qtbot, window, boxed, tmp_path, monkeypatch):
    n_images = boxed.images.count()
    coco = export(qtbot, window, monkeypatch, tmp_path / "all.json", lambda dlg: None)
    assert len(coco["images"]) == n_images and len(coco["annotations"]) == 3
    a_id = boxed.images.by_path("site/a.jpg").id
    drawn = next(a for a in coco["annotations"] if a["attributes"]["source"] == "manual" and a["image_id"] == a_id)
    assert drawn["bbox"] == [1.23, 2.0, 19.76, 28.5]            # 0.01 px
    assert drawn["area"] == pytest.approx(19.76 * 28.5)

    coco = export(qtbot, window, monkeypatch, tmp_path / "accepted.json", lambda dlg: dlg.set_kind("accepted"))
    assert [a["attributes"]["source"] for a in coco["annotations"]] == ["prediction"]

    coco = export(qtbot, window, monkeypatch, tmp_path / "reviewed.json",
                  lambda dlg: (dlg.set_kind("curated"), dlg.reviewed_only.setChecked(True)))
    assert [i["file_name"] for i in coco["images"]] == ["site/a.jpg"] and len(coco["annotations"]) == 2

    def test_split(dlg):
        dlg.reviewed_only.setChecked(False)
        dlg.split.setCurrentIndex(dlg.split.findData("test"))
    coco = export(qtbot, window, monkeypatch, tmp_path / "test.json", test_split)
    assert {i["attributes"]["split"] for i in coco["images"]} == {"test"}
    assert [a["attributes"]["source"] for a in coco["annotations"]] == ["manual"]   # the no_site box

    def no_background(dlg):
        dlg.split.setCurrentIndex(0)
        assert dlg.background.isEnabled() and "no_site" in dlg.background.toolTip()
        dlg.background.setChecked(False)
    coco = export(qtbot, window, monkeypatch, tmp_path / "objects.json", no_background)
    assert [c["name"] for c in coco["categories"]] == ["site"]
    assert len(coco["annotations"]) == 2 and len(coco["images"]) == n_images   # no_site images still listed
    assert "Left out 1 box" in REPORTS[-1] and "class no_site, not exported as a category" in REPORTS[-1]


def test_export_options_on_the_command_line(boxed, tmp_path, capsys):
    from core.cli import run_cli
    path = boxed.path
    boxed.close()
    out = tmp_path / "cli.json"
    assert run_cli(["export", str(path), "--out", str(out), "--reviewed-only", "--no-background-categories",
                    "--boxes", "accepted"]) == 0
    coco = json.loads(out.read_text())
    assert [i["file_name"] for i in coco["images"]] == ["site/a.jpg"]
    assert [c["name"] for c in coco["categories"]] == ["site"] and len(coco["annotations"]) == 1


def test_the_predictions_choice_says_how_many_boxes_on_how_many_images(qtbot, window, boxed, tmp_path, monkeypatch):
    import numpy as np
    a, b = boxed.images.by_path("site/a.jpg"), boxed.images.by_path("site/sub/b.png")
    old = boxed.maps.new_prediction_run(None, {})
    boxed.maps.save_prediction(old, a.id, [0.2, 0.8], np.zeros((8, 8), np.float32), [(1, 1, 5, 5, 0.9)] * 4)
    run = boxed.maps.new_prediction_run(None, {})          # the latest: 3 boxes on a.jpg, 1 on b.png
    boxed.maps.save_prediction(run, a.id, [0.2, 0.8], np.zeros((8, 8), np.float32),
                               [(1, 1, 5, 5, 0.9), (6, 6, 9, 9, 0.5), (2, 2, 8, 8, 0.4)])
    boxed.maps.save_prediction(run, b.id, [0.2, 0.8], np.zeros((8, 8), np.float32), [(1, 1, 5, 5, 0.9)])
    shown = []

    def choose(dlg):
        qtbot.waitUntil(lambda: dlg.counts is not None, timeout=5000)   # counted off the GUI thread
        shown.append(dlg.kind_buttons["predictions"].text())
        shown.append(dlg.findChild(QLabel, "export_counts_note").text())
        dlg.set_kind("predictions")
    coco = export(qtbot, window, monkeypatch, tmp_path / "pred.json", choose)
    assert shown[0].endswith("[4 boxes on 2 images]")
    assert "with the image choices below" in shown[1]
    assert len(coco["annotations"]) == 4                     # what the choice said
    assert len({ann["image_id"] for ann in coco["annotations"]}) == 2


def test_the_counts_beside_each_choice_follow_the_image_choices_and_match_the_file(qtbot, window, boxed, tmp_path,
                                                                                    monkeypatch):
    """site/a.jpg (reviewed, train): 2 curated boxes, one an accepted prediction, 1 proposal, 2 predicted boxes;
    no_site/n0.png (test, a background class): 1 curated box, 1 proposal."""
    import numpy as np

    from core.store.repos.proposals import NewProposal
    a, n0 = boxed.images.by_path("site/a.jpg"), boxed.images.by_path("no_site/n0.png")
    boxed.proposals.replace(a.id, [NewProposal((1, 1, 9, 9), -1, 0.8, 0.9)])
    boxed.proposals.replace(n0.id, [NewProposal((1, 1, 9, 9), -1, 0.8, 0.9)])
    run = boxed.maps.new_prediction_run(None, {})
    boxed.maps.save_prediction(run, a.id, [0.2, 0.8], np.zeros((8, 8), np.float32),
                               [(1, 1, 5, 5, 0.9), (6, 6, 9, 9, 0.5)])
    seen: dict[str, dict] = {}

    def counts_after(name, change):
        def choose(dlg):
            change(dlg)
            qtbot.waitUntil(lambda: dlg.counts is not None, timeout=5000)
            seen[name] = dict(dlg.counts)
            assert all(f"[{dlg.counts[k]}]" in b.text() for k, b in dlg.kind_buttons.items())   # on the choices
            dlg.set_kind("all")
        coco = export(qtbot, window, monkeypatch, tmp_path / f"{name}.json", choose)
        by_kind = [ann["attributes"]["kind"] for ann in coco["annotations"]]
        assert seen[name]["all"] == str(len(by_kind))                      # the figure is what the file holds
        assert seen[name]["curated"] == str(by_kind.count("curated"))
        assert seen[name]["proposals"] == str(by_kind.count("proposal"))
        return seen[name]

    every = counts_after("every", lambda dlg: None)
    assert every["curated"] == "3" and every["accepted"] == "1" and every["proposals"] == "2"
    assert every["predictions"] == "2 boxes on 1 image"
    reviewed = counts_after("reviewed", lambda dlg: dlg.reviewed_only.setChecked(True))
    assert reviewed["curated"] == "2" and reviewed["proposals"] == "1"        # n0.png is not reviewed
    test = counts_after("test", lambda dlg: dlg.split.setCurrentIndex(dlg.split.findData("test")))
    assert test["curated"] == "1" and test["accepted"] == "0" and test["predictions"] == "0 boxes on 0 images"
    objects = counts_after("objects", lambda dlg: dlg.background.setChecked(False))   # no_site is no category
    assert objects["curated"] == "2" and objects["proposals"] == "1" and objects["all"] == "5"
