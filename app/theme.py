"""Light / dark look that follows the system colour scheme.

Fusion style with an explicit palette gives the same readable contrast on every platform;
``resources/styles/{light,dark}.qss`` adds the few touches a palette cannot express.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
THEME_ENV = "DIPS_STUDIO_THEME"  # "dark" | "light" overrides the system scheme

_DARK = {
    QPalette.ColorRole.Window: "#202124", QPalette.ColorRole.WindowText: "#e8eaed",
    QPalette.ColorRole.Base: "#17181a", QPalette.ColorRole.AlternateBase: "#26282b",
    QPalette.ColorRole.Text: "#e8eaed", QPalette.ColorRole.Button: "#2d2f33",
    QPalette.ColorRole.ButtonText: "#e8eaed", QPalette.ColorRole.BrightText: "#ffffff",
    QPalette.ColorRole.Highlight: "#3b82f6", QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.ToolTipBase: "#2d2f33", QPalette.ColorRole.ToolTipText: "#e8eaed",
    QPalette.ColorRole.PlaceholderText: "#9aa0a6", QPalette.ColorRole.Link: "#8ab4f8",
    QPalette.ColorRole.Mid: "#3c4043", QPalette.ColorRole.Dark: "#111214", QPalette.ColorRole.Light: "#4a4d52",
}
_LIGHT = {
    QPalette.ColorRole.Window: "#f3f4f6", QPalette.ColorRole.WindowText: "#111827",
    QPalette.ColorRole.Base: "#ffffff", QPalette.ColorRole.AlternateBase: "#f3f4f6",
    QPalette.ColorRole.Text: "#111827", QPalette.ColorRole.Button: "#e5e7eb",
    QPalette.ColorRole.ButtonText: "#111827", QPalette.ColorRole.BrightText: "#000000",
    QPalette.ColorRole.Highlight: "#2563eb", QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.ToolTipBase: "#ffffff", QPalette.ColorRole.ToolTipText: "#111827",
    QPalette.ColorRole.PlaceholderText: "#6b7280", QPalette.ColorRole.Link: "#1d4ed8",
}


def system_is_dark() -> bool:
    forced = os.environ.get(THEME_ENV, "").lower()
    if forced in ("dark", "light"):
        return forced == "dark"
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    # Unknown (e.g. some Linux desktops): judge by the platform's window colour
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def palette(dark: bool) -> QPalette:
    pal = QPalette()
    for role, colour in (_DARK if dark else _LIGHT).items():
        pal.setColor(role, QColor(colour))
    grey = QColor("#6b7280" if dark else "#9ca3af")
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, grey)
    return pal


def apply_theme(app: QApplication, dark: bool | None = None) -> str:
    """Apply light or dark (``None``: follow the system). Returns the scheme name used."""
    dark = system_is_dark() if dark is None else dark
    name = "dark" if dark else "light"
    app.setStyle("Fusion")
    app.setPalette(palette(dark))
    qss = RESOURCES / "styles" / f"{name}.qss"
    app.setStyleSheet(qss.read_text(encoding="utf-8") if qss.is_file() else "")
    app.setProperty("dips_theme", name)
    return name


def follow_system_theme(app: QApplication) -> None:
    """Re-apply when the user switches the desktop between light and dark."""
    apply_theme(app)
    QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _s: apply_theme(app))


def app_icon() -> QIcon:
    return QIcon(str(RESOURCES / "icons" / "dips-studio.svg"))
