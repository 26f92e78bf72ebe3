"""Modal dialogs: new-project wizard, COCO import/export, error details.

The native file pickers are called only through the functions below, so tests replace
them (monkeypatch ``app.dialogs.pick_folder`` ...) and fill the dialogs without a desktop.
Each returns the chosen path, or None when the user cancels.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget


def pick_folder(parent: QWidget | None, title: str, start: str | Path = "") -> Path | None:
    path = QFileDialog.getExistingDirectory(parent, title, str(start))
    return Path(path) if path else None


def pick_open_file(parent: QWidget | None, title: str, start: str | Path = "", filters: str = "") -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, title, str(start), filters)
    return Path(path) if path else None


def pick_save_file(parent: QWidget | None, title: str, start: str | Path = "", filters: str = "") -> Path | None:
    path, _ = QFileDialog.getSaveFileName(parent, title, str(start), filters)
    return Path(path) if path else None
