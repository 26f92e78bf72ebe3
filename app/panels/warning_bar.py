"""A warning the user must be able to read whole (a model that learned nothing): a bar above the image.

The status bar is one line as wide as what its permanent widgets leave; a warning of three sentences was cut
there mid-word. The bar wraps its text, stays until dismissed or replaced, and the status bar carries only its
first clause (``headline``).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

HEADLINE_CHARS = 90   # the status bar's short form is cut at a word before this many characters


def headline(text: str) -> str:
    """The warning's first clause (up to its first colon or full stop), for the status bar's one line."""
    cut = min((i for i in (text.find(": "), text.find(". ")) if i > 0), default=len(text))
    short = text[:cut].rstrip(".")
    if len(short) > HEADLINE_CHARS:
        short = short[:HEADLINE_CHARS].rsplit(" ", 1)[0] + "\u2026"
    return short


class WarningBar(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("warning_bar")
        # amber on pale yellow in both themes: the bar is a warning, not part of the window's palette
        self.setStyleSheet("QFrame#warning_bar { background: #fef3c7; border-bottom: 1px solid #d97706; }"
                           " QFrame#warning_bar QLabel { color: #78350f; }")
        self.text = QLabel(objectName="warning_text")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)   # copy it into a report
        self.close_btn = QToolButton(objectName="warning_dismiss")
        self.close_btn.setText("Dismiss")
        self.close_btn.setToolTip("Hide this warning (the training panel keeps it beside the run)")
        self.close_btn.clicked.connect(self.hide)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.close_btn)
        self.hide()

    def show_warning(self, text: str | None) -> None:
        """Show ``text`` whole (None or "" hides the bar)."""
        if not text:
            self.hide()
            return
        self.text.setText(text)
        self.show()
