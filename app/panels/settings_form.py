"""Editors generated from core.settings' fields: the widget kind, range, tooltip and label come from each field's
metadata, so the panel shows what the command line takes, with the same defaults and help text.

A ``SettingsForm`` binds editors to the fields of one settings section: ``show(section)`` puts a dataclass's
values in the editors, ``read(section)`` writes the editors' values back, ``invalid()`` names the fields whose
text is not a value. Fields that only apply in some cases (``when`` in the metadata) are hidden otherwise.
"""
from __future__ import annotations

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QSpinBox, QWidget

from app.panels.float_edit import FloatEdit
from core.settings_cli import Option, options


def _tip(opt: Option) -> str:
    """The paper's symbol, then the one-line explanation and the unit: 'n+ (paper): pixels inside ... [pixels]'."""
    m = opt.meta
    unit = f" [{m['unit']}]" if m["unit"] else ""
    symbol = f"{m['symbol']} in the paper: " if m["symbol"] else ""
    return f"{symbol}{m['help']}{unit}"


def editor_for(opt: Option) -> QWidget:
    """The widget that edits one field: a spin box, a float field (7.5e-8 allowed), a check box, a combo box,
    or a line of comma-separated numbers for a list."""
    m = opt.meta
    if opt.base is bool:
        w = QCheckBox(m["label"] or opt.name)
    elif m["choices"]:
        w = QComboBox()
        w.addItems([str(c) for c in m["choices"]])
    elif opt.base is int:
        w = QSpinBox(minimum=int(m["low"] if m["low"] is not None else 0),
                     maximum=int(m["high"] if m["high"] is not None else 1_000_000))
    elif opt.base is float:
        w = FloatEdit(_tip(opt), optional=opt.optional, default_text="default")
    elif m["parse"] is not None:
        w = QLineEdit()
        w.setValidator(QRegularExpressionValidator(QRegularExpression(r"[0-9, ]*"), w))
    else:
        w = QLineEdit()
    w.setToolTip(_tip(opt))
    return w


class SettingsForm:
    """Editors for the fields of ``section`` that the GUI shows, minus ``skip`` (edited by the panel itself)."""

    def __init__(self, section: str, skip: tuple[str, ...] = ()):
        self.options = {o.name: o for o in options(section) if o.meta["gui"] and o.name not in skip}
        self.editors: dict[str, QWidget] = {name: editor_for(o) for name, o in self.options.items()}
        self.labels: dict[str, QLabel] = {name: QLabel(o.meta["label"] or name)
                                          for name, o in self.options.items() if o.base is not bool}
        for name, label in self.labels.items():     # the label explains itself too, not only its field
            label.setToolTip(self.editors[name].toolTip())
            label.setBuddy(self.editors[name])

    def show(self, section) -> None:
        for name, w in self.editors.items():
            _set(w, getattr(section, name))
        self.update_visibility(section)

    def read(self, section) -> list[str]:
        """Write the editors' values into ``section``; returns the names of fields whose text is no value
        (those keep their old value)."""
        bad = []
        for name, w in self.editors.items():
            try:
                setattr(section, name, _get(w, self.options[name]))
            except ValueError:
                bad.append(name)
        return bad

    def update_visibility(self, section) -> None:
        for name, o in self.options.items():
            applies = o.applies(section)
            self.editors[name].setVisible(applies)
            if name in self.labels:
                self.labels[name].setVisible(applies)


def _set(w: QWidget, value) -> None:
    if isinstance(w, QCheckBox):
        w.setChecked(bool(value))
    elif isinstance(w, QComboBox):
        w.setCurrentIndex(max(w.findText(str(value)), 0))
    elif isinstance(w, QSpinBox):
        w.setValue(int(value))
    elif isinstance(w, FloatEdit):
        w.set_value(value)
    elif isinstance(w, QLineEdit):
        w.setText(", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value or ""))


def _get(w: QWidget, opt: Option):
    """The editor's value as the field's type; ValueError when the text is not one."""
    if isinstance(w, QCheckBox):
        return w.isChecked()
    if isinstance(w, QComboBox):
        return w.currentText()
    if isinstance(w, QSpinBox):
        return w.value()
    if isinstance(w, FloatEdit):
        if not w.is_valid():
            raise ValueError(opt.name)
        return w.value()
    text = w.text()
    if opt.meta["parse"] is not None:
        return opt.meta["parse"](text)
    return text if text or not opt.optional else None


def in_layout(layout, widget) -> bool:
    """Whether ``widget`` was put into ``layout`` or one of its rows (before the layout has a parent widget)."""
    for i in range(layout.count()):
        item = layout.itemAt(i)
        if item.widget() is widget or (item.layout() is not None and in_layout(item.layout(), widget)):
            return True
    return False


def short_name(opt) -> str:
    """A field's name in a message: its help text up to the first ':' or ','
    ('learning rate of the localizer (SGD), e.g. ...' -> 'learning rate of the localizer (SGD)')."""
    return opt.meta["help"].split(":")[0].split(",")[0]
