"""One way to show an error: a short message, the traceback behind 'Show Details...'.

Background work never crashes the app (a recurring complaint of annotation tools): its
failure arrives here as (message, details) and the user can copy the details into a report.
The body is one line in the window's words (app.failure_words): never a traceback, never a
command-line name; the full text is in the details.
"""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app.failure_words import plain_message


def make_error_box(parent: QWidget | None, title: str, message: str, details: str = "") -> QMessageBox:
    """The message box without showing it (tests inspect it)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    text = plain_message(message, details) if (message or details) else title
    box.setText(text)
    full = "\n\n".join(t for t in ((message or "").strip(), (details or "").strip()) if t and t != text)
    if full:
        box.setDetailedText(full)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box


def show_error(parent: QWidget | None, title: str, message: str, details: str = "") -> None:
    """Modal error box; returns when the user closes it."""
    make_error_box(parent, title, message, details).exec()
