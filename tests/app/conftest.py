"""Fixtures for driving the real main window: a small project, the window, mouse helpers."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.app.window_helpers import open_window
from tests.conftest import make_image


@pytest.fixture(autouse=True, scope="session")
def _isolated_qt_settings(tmp_path_factory):
    """QSettings (recent files, window layout) go to a temp folder, never the user's."""
    from PySide6.QtCore import QCoreApplication, QSettings
    QCoreApplication.setOrganizationName("dips-studio-tests")
    QCoreApplication.setApplicationName("dips-studio-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path_factory.mktemp("qsettings")))
    yield


@pytest.fixture
def gui_project(tmp_path: Path):
    """4 images of 160x120 in classes cars (2) / people (1) / trees (1); a third class for key tests."""
    from core.data.importer import import_images
    from core.store.project import Project

    root = tmp_path / "imgs"
    make_image(root / "cars" / "c1.png", size=(160, 120), square=(40, 30, 90, 70, (250, 30, 30)))
    make_image(root / "cars" / "c2.png", size=(160, 120), color=(90, 120, 60))
    make_image(root / "people" / "p1.png", size=(160, 120), color=(60, 90, 140))
    make_image(root / "trees" / "t1.png", size=(160, 120), color=(30, 120, 40))
    p = Project.create(tmp_path / "gui.dips", root)
    import_images(p)
    yield p
    p.close()


@pytest.fixture
def main_window(qtbot, gui_project):
    with open_window(qtbot, gui_project) as w:
        qtbot.waitUntil(lambda: "full" in w.canvas.levels_shown, timeout=5000)
        yield w


@pytest.fixture
def db(gui_project):
    """A separate sqlite3 connection: sees only what was committed."""
    con = sqlite3.connect(gui_project.path)
    yield con
    con.close()


@pytest.fixture
def bg_window(qtbot, tmp_path: Path):
    """A window on tower (2 images), no_site (1 image: a background class by its name)."""
    from core.data.importer import import_images
    from core.store.project import Project

    root = tmp_path / "imgs"
    make_image(root / "tower" / "t1.png", size=(160, 120))
    make_image(root / "tower" / "t2.png", size=(160, 120))
    make_image(root / "no_site" / "n1.png", size=(160, 120))
    p = Project.create(tmp_path / "bg.dips", root)
    import_images(p)
    with open_window(qtbot, p) as w:
        yield w
    p.close()
