"""The training panel's settings laid out in two columns of 'plain label | editor' pairs.

Labels, tooltips (the paper's symbol and a one-line explanation) and ranges come from core.settings' fields
through ``SettingsForm``; this module only places them. A field marked for the GUI that has no place here gets
a row of its own at the end, so a new option shows without touching this file (docs/design.md).
"""
from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QWidget

from app.panels.float_edit import readable_number
from app.panels.settings_form import SettingsForm, in_layout
from core.settings import LAMBDA_CRF_CALIBRATED, TrainConfig

# f_l choices: (key, label). "token" projects the tokens to R channels first (fast on CPU); "token-journal" is
# the journal's decoder (C/2, C/4 widths); "unet" the workshop's U-Net on RGB. Each sets the fields
# TrainConfig.decoder and TrainConfig.decoder_reduce.
LOCALIZERS = (("token", "Token decoder (light)"), ("token-journal", "Token decoder (journal widths)"),
              ("unet", "U-Net on RGB (workshop)"))
LIGHT_REDUCE = TrainConfig().decoder_reduce or 32   # R when "light" is picked on a project saved without one


def localizer_key(t: TrainConfig) -> str:
    if t.decoder == "unet":
        return "unet"
    return "token" if t.decoder_reduce else "token-journal"

# (left field, right field) per row; None leaves the cell empty. Device and localizer are the panel's own.
ROWS = (("epochs", "lr"), ("K", "use_crf"), ("n_pos", "n_neg"), ("lambda_seed", "lambda_crf"), ("lambda_cls", None))


def _pair(grid: QGridLayout, row: int, col: int, label: QWidget, editor: QWidget) -> None:
    grid.addWidget(label, row, 2 * col)
    grid.addWidget(editor, row, 2 * col + 1)


def training_grid(form: SettingsForm, device: QWidget, localizer: QWidget) -> QGridLayout:
    e, labels = form.editors, form.labels
    grid = QGridLayout()
    grid.setHorizontalSpacing(10)
    grid.setColumnStretch(1, 1)
    grid.setColumnStretch(3, 1)
    _pair(grid, 0, 0, QLabel("Device"), device)
    _pair(grid, 0, 1, labels["seed"], e["seed"])
    # the localizer and its widths span the row: in a column of their own they would double the panel's width
    box = QHBoxLayout()
    box.addWidget(localizer, 1)
    box.addWidget(labels["decoder_widths"])
    box.addWidget(e["decoder_widths"])
    e["decoder_widths"].setMaximumWidth(110)
    grid.addWidget(QLabel("Localizer"), 1, 0)
    grid.addLayout(box, 1, 1, 1, 3)
    e["lambda_crf"].setPlaceholderText(f"calibrated {readable_number(LAMBDA_CRF_CALIBRATED)}")
    r = 2
    for left, right in ROWS:
        for col, name in enumerate((left, right)):
            if name is None or name not in e:
                continue
            if name == "use_crf":      # a switch: its text is its label, above its weight (λ2)
                grid.addWidget(e[name], r, 2 * col, 1, 2)
                continue
            _pair(grid, r, col, labels.get(name, QLabel("")), e[name])
        r += 1
    for name, editor in e.items():
        if not in_layout(grid, editor):
            _pair(grid, r, 0, labels[name] if name in labels else QLabel(""), editor)
            r += 1
    return grid
