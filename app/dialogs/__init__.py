"""Modal dialogs: new-project wizard, COCO import/export, error details.

The native file pickers are called only through the functions below, so tests replace
them (monkeypatch ``app.dialogs.pick_folder`` ...) and fill the dialogs without a desktop.
Each returns the chosen path, or None when the user cancels. A picker given no start place
opens where the user last picked something, else in the home folder (never the app's own
working folder).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QWidget

LAST_FOLDER_KEY = "dialogs/last_folder"
# image-root names that say nothing about the data set: the project is named after the parent folder
GENERIC_FOLDER_NAMES = {"images", "image", "imgs", "img", "jpegimages", "pictures", "photos", "data", "dataset",
                        "raw", "frames"}


def dataset_name(folder: Path) -> str:
    """The data set's name for a default project name: the image folder's own name, or its parent's
    when the folder is named like ``images`` (``surveys/towers_2024/images`` -> ``towers_2024``)."""
    folder = Path(folder).expanduser().resolve()
    if folder.name.lower() in GENERIC_FOLDER_NAMES and folder.parent.name:
        return folder.parent.name
    return folder.name or "project"


def start_folder(start: str | Path = "") -> str:
    """Where a picker opens: ``start`` if given, else the last folder picked in, else the home folder."""
    if str(start).strip():
        return str(start)
    last = QSettings().value(LAST_FOLDER_KEY)
    if last and Path(str(last)).is_dir():
        return str(last)
    return str(Path.home())


def remember_folder(folder: Path) -> None:
    QSettings().setValue(LAST_FOLDER_KEY, str(folder))


def pick_folder(parent: QWidget | None, title: str, start: str | Path = "") -> Path | None:
    path = QFileDialog.getExistingDirectory(parent, title, start_folder(start))
    if not path:
        return None
    remember_folder(Path(path).parent)   # the next pick starts beside it
    return Path(path)


def pick_open_file(parent: QWidget | None, title: str, start: str | Path = "", filters: str = "") -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, title, start_folder(start), filters)
    if not path:
        return None
    remember_folder(Path(path).parent)
    return Path(path)


def pick_save_file(parent: QWidget | None, title: str, start: str | Path = "", filters: str = "") -> Path | None:
    path, _ = QFileDialog.getSaveFileName(parent, title, start_folder(start), filters)
    if not path:
        return None
    remember_folder(Path(path).parent)
    return Path(path)
