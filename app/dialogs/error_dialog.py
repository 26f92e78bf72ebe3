"""One way to show an error: a short message, the traceback behind 'Show Details...'.

Background work never crashes the app (a recurring complaint of annotation tools): its
failure arrives here as (message, details) and the user can copy the details into a report.
"""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def make_error_box(parent: QWidget | None, title: str, message: str, details: str = "") -> QMessageBox:
    """The message box without showing it (tests inspect it)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(message or title)
    if details and details.strip() and details.strip() != (message or "").strip():
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box


def show_error(parent: QWidget | None, title: str, message: str, details: str = "") -> None:
    """Modal error box; returns when the user closes it."""
    make_error_box(parent, title, message, details).exec()
