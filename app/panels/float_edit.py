"""A line edit for non-negative floats, scientific notation included."""
from __future__ import annotations

import math

from PySide6.QtCore import QLocale
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QLineEdit


def readable_number(v: float) -> str:
    """A weight as a person reads it: 0.0465, 1, 2.5e-6 -> '2.5 × 10⁻⁶' (never Python's '2.5e-06')."""
    if v == 0 or 1e-3 <= abs(v) < 1e6:
        return f"{v:.6g}"
    mantissa, exp = f"{v:.3g}".split("e")
    sup = str(int(exp)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa} × 10{sup}"


def edit_number(v: float) -> str:
    """A number in a form one can edit and read: 0.0465, 2e-6 (not Python's 2e-06)."""
    text = f"{v:.6g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        text = f"{mantissa}e{int(exp)}"
    return text


class FloatEdit(QLineEdit):
    """A float field that takes scientific notation (7.5e-8), which QDoubleSpinBox cannot.

    ``optional``: an empty field means 'the default of core' (value None), shown as placeholder.
    """

    def __init__(self, tip: str, optional: bool = False, default_text: str = ""):
        super().__init__()
        v = QDoubleValidator(0.0, 1e9, 12, self)
        v.setNotation(QDoubleValidator.Notation.ScientificNotation)
        v.setLocale(QLocale.c())  # float() reads the text: always a decimal point
        self.setValidator(v)
        self.setToolTip(tip)
        self.optional = optional
        if optional:
            self.setPlaceholderText(default_text or "default")
        self.setMinimumWidth(70)

    def value(self) -> float | None:
        if self.optional and not self.text().strip():
            return None
        try:
            return float(self.text())
        except ValueError:
            return float("nan")

    def is_valid(self) -> bool:
        v = self.value()
        return v is None or (math.isfinite(v) and v >= 0)

    def set_value(self, v: float | None) -> None:
        self.setText("" if v is None else edit_number(v))
