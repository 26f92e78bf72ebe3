"""The window's import dialogs show the same report as the CLI: counts per reason, each skipped entry named."""
from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("pytestqt")

import app.dialogs as pickers
from app.dialogs import coco_dialogs as cd
from app.dialogs import new_project as np_dlg
from app.workers import TaskRunner
from core.store.project import Project
from tests.conftest import make_image


def test_coco_import_dialog_reports_counts_per_reason(qtbot, tmp_path):
    root = tmp_path / "data"
    make_image(root / "tower" / "IMG_0001.jpg")
    make_image(root / "no_site" / "IMG_0001.jpg", color=(1, 2, 3))
    make_image(root / "tower" / "b.jpg", color=(9, 9, 9))
    from core.data.importer import import_images
    project = Project.create(tmp_path / "p.dips", root)
    import_images(project)
    coco = {"images": [{"id": 1, "file_name": "data\\tower\\IMG_0001.jpg"}, {"id": 2, "file_name": "IMG_0001.jpg"},
                       {"id": 3, "file_name": "tower/b.jpg"}, {"id": 3, "file_name": "tower/b.png"}],
            "categories": [{"id": 1, "name": "tower"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]},
                            {"id": 2, "image_id": 2, "category_id": 1, "bbox": [1, 1, 10, 10]},
                            {"id": 3, "image_id": 3, "category_id": 1, "bbox": [1, 1, 10, 10]},
                            {"id": 4, "image_id": 1, "category_id": 1, "bbox": [float("nan"), 5, 10, 10]}]}
    f = tmp_path / "cvat.json"
    f.write_text(json.dumps(coco))
    dlg = cd.CocoImportDialog(project, as_="curated")
    qtbot.addWidget(dlg)
    dlg.file_edit.setText(str(f))
    dlg.import_btn.click()
    text = dlg.report_view.toPlainText()
    assert "cvat.json: 1 curated box added." in text
    for line in ("added             1", "invalid           1", "ambiguous         1", "duplicate id      1",
                 "image not found   0"):
        assert line in text
    assert "IMG_0001.jpg matches 2 images" in text and "duplicate image id 3 (tower/b.jpg, tower/b.png)" in text
    assert "invalid: annotation 4:" in text
    assert [b.image_id for b in project.boxes.all()] == [project.images.by_path("tower/IMG_0001.jpg").id]
    project.close()


def test_wizard_counts_only_imported_files_per_class(qtbot, tmp_path, monkeypatch):
    root = tmp_path / "images"
    for i in range(2):
        make_image(root / "tower" / f"t{i}.jpg", color=(50 * i, 10, 10))
        make_image(root / "no_site" / f"n{i}.jpg", color=(10, 50 * i, 10))
    for i in range(4):
        (root / "tower" / f"bad{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0corrupt")
    monkeypatch.setattr(pickers, "pick_folder", lambda *a: root)
    wiz = np_dlg.NewProjectWizard(None, TaskRunner())
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.source_page.folder_btn.click()
    while wiz.currentPage() is not wiz.project_page:
        wiz.next()
    wiz.project_page.path_edit.setText(str(tmp_path / "new.dips"))
    wiz.next()
    qtbot.waitUntil(lambda: wiz.import_page.done, timeout=15000)
    text = wiz.import_page.report_view.toPlainText()
    assert "Classes: no_site (2), tower (2)" in text and "tower/bad3.jpg" in text


def test_wizard_on_an_unreadable_class_folder_says_so(qtbot, tmp_path, monkeypatch):
    root = tmp_path / "images"
    make_image(root / "tower" / "t.jpg")
    make_image(root / "secret" / "s.jpg")
    real = os.scandir

    def scandir(path="."):
        if os.path.realpath(path) == str((root / "secret").resolve()):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(pickers, "pick_folder", lambda *a: root)
    wiz = np_dlg.NewProjectWizard(None, TaskRunner())
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.source_page.folder_btn.click()
    wiz.next()
    assert "cannot read folder secret" in wiz.classes_page.notes.toPlainText()
