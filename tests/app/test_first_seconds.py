"""The first seconds: the window is up at once while the models load; file pickers start in the home or
the last folder; the default project name is the data set's; Cancel after the import still opens it."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

import app.dialogs as pickers
from app.dialogs import new_project as np_dlg
from app.workers import TaskRunner

pytestmark = pytest.mark.usefixtures("qtbot")


def test_window_shows_loading_models_then_opens_the_project(qtbot, gui_project, monkeypatch):
    import app.background
    import app.launch as launch
    release = threading.Event()
    monkeypatch.setattr(launch, "_import_torch", lambda: release.wait(10))   # models still loading
    monkeypatch.setattr(app.background.BackgroundWork, "auto_start", lambda self: None)
    w = launch.start_gui([str(gui_project.path)])
    qtbot.addWidget(w)
    try:
        qtbot.waitExposed(w)
        assert w.isVisible() and w.canvas.placeholder.isVisible()
        assert "Loading models" in w.canvas.placeholder.text() and "Loading models" in w.statusBar().currentMessage()
        assert w.session.project is None
        release.set()
        qtbot.waitUntil(lambda: w.session.project is not None, timeout=10000)
        assert not w.canvas.placeholder.isVisible()
        assert w.session.project.path == gui_project.path and w.session.image is not None
    finally:
        release.set()
        w.shutdown()


def test_file_pickers_start_in_home_then_in_the_last_folder(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    QSettings().remove(pickers.LAST_FOLDER_KEY)
    seen = []
    chosen = tmp_path / "surveys" / "towers"
    chosen.mkdir(parents=True)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda _p, _t, start: seen.append(start) or str(chosen))
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda _p, _t, start, _f: seen.append(start) or ("", ""))
    assert pickers.pick_folder(None, "Image folder") == chosen
    assert seen[0] == str(Path.home())
    pickers.pick_open_file(None, "Open project")
    assert seen[1] == str(chosen.parent)           # where the user was last
    pickers.pick_open_file(None, "Open project", tmp_path)
    assert seen[2] == str(tmp_path)                # an explicit start wins


def test_default_project_name_is_the_data_sets(tmp_path):
    assert pickers.dataset_name(tmp_path / "towers_2024" / "images") == "towers_2024"
    assert pickers.dataset_name(tmp_path / "towers_2024" / "Images") == "towers_2024"
    assert pickers.dataset_name(tmp_path / "towers_2024") == "towers_2024"


def test_cancel_on_the_last_page_after_the_import_opens_the_project(qtbot, image_folder, tmp_path, monkeypatch):
    def drive(wiz):
        wiz.show()
        wiz.source_page.folder_edit.setText(str(image_folder))
        while wiz.currentPage() is not wiz.project_page:
            wiz.next()
        wiz.project_page.path_edit.setText(str(tmp_path / "done.dips"))
        wiz.next()
        qtbot.waitUntil(lambda: wiz.import_page.done, timeout=15000)
        wiz.reject()                                     # Cancel, on the report page
        return np_dlg.QWizard.DialogCode.Rejected
    monkeypatch.setattr(np_dlg.NewProjectWizard, "exec", drive)
    assert np_dlg.run_new_project_dialog(None, TaskRunner()) == tmp_path / "done.dips"
    assert (tmp_path / "done.dips").exists()


def test_new_project_from_the_file_menu_is_opened_even_after_cancel(qtbot, main_window, image_folder, tmp_path,
                                                                   monkeypatch):
    w = main_window
    target = tmp_path / "menu.dips"

    def drive(wiz):
        wiz.show()
        wiz.source_page.folder_edit.setText(str(image_folder))
        while wiz.currentPage() is not wiz.project_page:
            wiz.next()
        assert wiz.project_page.path_edit.text().endswith(f"{image_folder.parent.name}.dips")
        wiz.project_page.path_edit.setText(str(target))
        wiz.next()
        qtbot.waitUntil(lambda: wiz.import_page.done, timeout=15000)
        wiz.reject()
        return np_dlg.QWizard.DialogCode.Rejected
    monkeypatch.setattr(np_dlg.NewProjectWizard, "exec", drive)
    w.actions_by_key["new_project"].trigger()
    assert w.session.project.path == target and "menu.dips" in w.windowTitle()
