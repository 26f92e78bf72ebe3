"""New-project wizard, COCO import/export dialogs and the error box, filled as a user would."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

import app.dialogs as pickers
from app.dialogs import coco_dialogs as cd
from app.dialogs import new_project as np_dlg
from app.dialogs.error_dialog import make_error_box
from app.workers import TaskRunner
from core.store.project import Project
from core.store.repos.proposals import NewProposal
from tests.conftest import make_image


def _wizard_to_import(qtbot, wiz, project_file):
    while wiz.currentPage() is not wiz.project_page:      # -> classes -> project file and splits
        wiz.next()
    wiz.project_page.path_edit.setText(str(project_file))
    assert wiz.project_page.isComplete()
    wiz.next()                                   # "Create" -> import runs in the background
    qtbot.waitUntil(lambda: wiz.import_page.done, timeout=15000)


def test_new_project_wizard_folder_per_class(qtbot, image_folder, tmp_path, monkeypatch):
    monkeypatch.setattr(pickers, "pick_folder", lambda *a: image_folder)
    wiz = np_dlg.NewProjectWizard(None, TaskRunner())
    qtbot.addWidget(wiz)
    wiz.show()
    assert not wiz.source_page.isComplete()
    wiz.source_page.folder_btn.click()                      # the (replaced) folder picker
    assert wiz.source_page.folder_edit.text() == str(image_folder)
    assert wiz.source_page.isComplete()

    wiz.next()
    counts = wiz.classes_page.class_counts()
    assert counts == {"site": 5, "no_site": 5}              # names only: broken files are found later
    notes = wiz.classes_page.notes.toPlainText()
    assert "site/notes.txt" in notes and "empty_class" in notes

    wiz.next()
    # suggested beside the folder, named after the data set (the root is called "images")
    assert wiz.project_page.path_edit.text() == str(image_folder.parent / f"{image_folder.parent.name}.dips")
    wiz.project_page.train.setValue(0.5)
    assert "add up to" in wiz.project_page.problem.text() and not wiz.project_page.isComplete()
    wiz.project_page.val.setValue(0.35)
    wiz.back()
    wiz.back()
    _wizard_to_import(qtbot, wiz, tmp_path / "new.dips")

    assert wiz.project_path == tmp_path / "new.dips"
    text = wiz.import_page.report_view.toPlainText()
    assert "Added 7 images." in text
    for bad in ("no_site/broken.jpg", "no_site/text.png", "site/truncated.jpg", "site/notes.txt"):
        assert bad in text
    assert "empty_class" in text
    with Project.open(wiz.project_path) as p:
        assert [c.name for c in p.classes()] == ["no_site", "site"]
        assert p.images.count() == 7


def test_new_project_wizard_flat_folder_with_csv(qtbot, tmp_path):
    root = tmp_path / "flat"
    for name in ("a.png", "b.png", "c.png"):
        make_image(root / name)
    csv = tmp_path / "labels.csv"
    csv.write_text("path,class\na.png,site\nb.png,no_site\nc.png,site\nmissing.png,site\n")
    wiz = np_dlg.NewProjectWizard(None, None)          # no runner: imports synchronously
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.source_page.folder_edit.setText(str(root))
    wiz.source_page.by_csv.setChecked(True)
    assert not wiz.source_page.isComplete()              # CSV still missing
    wiz.source_page.csv_edit.setText(str(csv))
    wiz.next()
    assert wiz.classes_page.class_counts() == {"site": 2, "no_site": 1}
    assert "missing.png" in wiz.classes_page.notes.toPlainText()
    _wizard_to_import(qtbot, wiz, tmp_path / "flat_project")
    assert wiz.project_path == tmp_path / "flat_project.dips"
    with Project.open(wiz.project_path) as p:
        assert p.images.count() == 3


def test_existing_project_file_is_refused(qtbot, image_folder, tmp_path):
    (tmp_path / "taken.dips").write_text("x")
    wiz = np_dlg.NewProjectWizard(None, None)
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.source_page.folder_edit.setText(str(image_folder))
    wiz.next()
    wiz.next()
    wiz.project_page.path_edit.setText(str(tmp_path / "taken.dips"))
    assert "already exists" in wiz.project_page.problem.text() and not wiz.project_page.isComplete()


def test_run_new_project_dialog_returns_the_path(qtbot, image_folder, tmp_path, monkeypatch):
    def drive(wiz):
        wiz.show()
        wiz.source_page.folder_edit.setText(str(image_folder))
        _wizard_to_import(qtbot, wiz, tmp_path / "via_run.dips")
        return np_dlg.QWizard.DialogCode.Accepted
    monkeypatch.setattr(np_dlg.NewProjectWizard, "exec", drive)
    assert np_dlg.run_new_project_dialog(None, TaskRunner()) == tmp_path / "via_run.dips"


def _boxes(project):
    site = project.class_id("site", create=False)
    a = project.images.by_path("site/a.jpg")
    b = project.images.by_path("site/sub/b.png")
    project.boxes.add(a.id, (10, 10, 30, 30), site)
    project.boxes.add(b.id, (20, 5, 40, 25), site, source="proposal", score=0.9)
    project.proposals.replace(a.id, [NewProposal((11, 11, 29, 29), -1, 0.8, 0.9),
                                     NewProposal((0, 0, 20, 20), 0, 0.5, 0.6)])


def test_export_dialog_writes_the_chosen_boxes(qtbot, project, tmp_path):
    from pycocotools.coco import COCO
    _boxes(project)
    dlg = cd.CocoExportDialog(project)
    qtbot.addWidget(dlg)
    assert dlg.kind() == "curated" and dlg.file_edit.text().endswith("proj_curated.json")
    qtbot.waitUntil(lambda: dlg.counts is not None, timeout=5000)   # counted on a worker thread
    assert "[2]" in dlg.kind_buttons["curated"].text() and "[2]" in dlg.kind_buttons["proposals"].text()
    dlg.set_kind("proposals")
    assert dlg.file_edit.text().endswith("proj_proposals.json")       # the suggestion follows the choice
    out = dlg.do_export()
    assert out == tmp_path / "proj_proposals.json"
    coco = COCO(str(out))
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == 2 and all(a["attributes"]["kind"] == "proposal" for a in anns)
    assert len(coco.getImgIds()) == project.images.count()
    assert "2 proposals annotations." in dlg.result_view.toPlainText()
    dlg.set_kind("curated")
    dlg.file_edit.setText(str(tmp_path / "mine.json"))
    dlg.do_export()
    assert len(json.loads((tmp_path / "mine.json").read_text())["annotations"]) == 2


def test_export_dialog_reports_unwritable_target(qtbot, project, tmp_path):
    (tmp_path / "file").write_text("")
    dlg = cd.CocoExportDialog(project)
    qtbot.addWidget(dlg)
    dlg.file_edit.setText(str(tmp_path / "file" / "x.json"))       # a file where a folder should be
    assert dlg.do_export() is None and "Cannot export" in dlg.result_view.toPlainText()


def test_run_export_dialog(qtbot, project, tmp_path, monkeypatch):
    _boxes(project)
    monkeypatch.setattr(pickers, "pick_save_file", lambda *a: tmp_path / "picked")

    def drive(dlg):
        for b in dlg.findChildren(cd.QPushButton):
            if b.text() == "Browse...":
                b.click()
        dlg.export_btn.click()
        return 0
    monkeypatch.setattr(cd.CocoExportDialog, "exec", drive)
    assert cd.run_export_coco_dialog(None, project) == tmp_path / "picked.json"
    assert (tmp_path / "picked.json").is_file()


def test_import_dialog_as_gt_reports_unknowns(qtbot, project, tmp_path):
    coco = {"images": [{"id": 1, "file_name": "site/a.jpg", "width": 64, "height": 48},
                       {"id": 2, "file_name": "elsewhere/z.jpg", "width": 10, "height": 10}],
            "categories": [{"id": 1, "name": "site"}, {"id": 2, "name": "helicopter"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]},
                            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [1, 1, 5, 5]},
                            {"id": 3, "image_id": 2, "category_id": 1, "bbox": [1, 1, 5, 5]}]}
    f = tmp_path / "gt.json"
    f.write_text(json.dumps(coco))
    dlg = cd.CocoImportDialog(project)
    qtbot.addWidget(dlg)
    assert dlg.as_kind() == "gt" and not dlg.import_btn.isEnabled()
    dlg.file_edit.setText(str(f))
    dlg.import_btn.click()
    assert project.boxes.gt_count() == 1 and project.boxes.all() == []      # kept apart from curated
    text = dlg.report_view.toPlainText()
    assert "1 ground-truth box added" in text and "elsewhere/z.jpg" in text and "helicopter" in text
    assert dlg.imported()


def test_import_dialog_bad_file_and_curated(qtbot, project, tmp_path, monkeypatch):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    dlg = cd.CocoImportDialog(project, as_="curated")
    qtbot.addWidget(dlg)
    dlg.file_edit.setText(str(bad))
    assert dlg.do_import() is False and "not valid JSON" in dlg.report_view.toPlainText()
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"images": [{"id": 1, "file_name": "site/a.jpg"}],
                                "categories": [{"id": 1, "name": "site"}],
                                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]}))
    monkeypatch.setattr(pickers, "pick_open_file", lambda *a: good)

    def drive(d):
        d.as_curated.setChecked(True)
        [b for b in d.findChildren(cd.QPushButton) if b.text() == "Browse..."][0].click()
        d.import_btn.click()
        return 0
    monkeypatch.setattr(cd.CocoImportDialog, "exec", drive)
    assert cd.run_import_coco_dialog(None, project) is True
    assert len(project.boxes.all()) == 1 and project.boxes.all()[0].source == "imported"


def test_error_box_has_details(qtbot):
    box = make_error_box(None, "Training failed", "CUDA out of memory", "Traceback (most recent call last): ...")
    qtbot.addWidget(box)
    assert box.text() == "CUDA out of memory" and "Traceback" in box.detailedText()
    assert box.windowTitle() == "Training failed"


def test_cancelling_the_import_removes_the_new_file(qtbot, image_folder, tmp_path, monkeypatch):
    import time

    import core.data.importer as importer

    def slow_import(project, csv_path=None, splits=None, progress=None, **_k):
        progress.start("import", 1000)
        for i in range(1000):
            time.sleep(0.005)
            progress.update(i + 1, 1000)       # raises Cancelled once the wizard cancels
        return importer.ImportReport(added=1)
    monkeypatch.setattr(importer, "import_images", slow_import)
    wiz = np_dlg.NewProjectWizard(None, TaskRunner())
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.source_page.folder_edit.setText(str(image_folder))
    while wiz.currentPage() is not wiz.project_page:
        wiz.next()
    target = tmp_path / "cancelled.dips"
    wiz.project_page.path_edit.setText(str(target))
    wiz.next()
    assert target.exists() and wiz.task is not None
    qtbot.waitUntil(lambda: wiz.import_page.bar.value() > 0, timeout=5000)
    wiz.reject()
    qtbot.waitUntil(lambda: not target.exists(), timeout=5000)
    assert wiz.project_path is None
