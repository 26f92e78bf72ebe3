"""Editors made from core.settings' fields: ranges, tooltips and hidden-when-not-applicable come from the field."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from app.panels.settings_form import SettingsForm
from core.settings import TrainConfig


def test_every_shown_training_setting_gets_an_editor_with_its_help_and_range(qtbot):
    form = SettingsForm("train")
    shown = {f for f, o in TrainConfig.__dataclass_fields__.items() if o.metadata.get("gui")}
    assert set(form.editors) == shown
    # a plain label; the paper's symbol and a one-line explanation in the tooltip (of the label too)
    assert form.labels["n_neg"].text() == "background pixels per image (n-)"
    assert form.editors["n_neg"].toolTip().startswith("n- in the paper: pixels outside all boxes")
    assert form.labels["n_neg"].toolTip() == form.editors["n_neg"].toolTip()
    assert "λ2 in the paper" in form.editors["lambda_crf"].toolTip()
    assert form.editors["epochs"].minimum() == 1 and form.editors["K"].maximum() == 50


def test_editors_show_and_read_back_a_section_and_hide_what_does_not_apply(qtbot):
    form = SettingsForm("train")
    for w in form.editors.values():
        qtbot.addWidget(w)
    t = TrainConfig(n_neg=7, lambda_crf=2e-6, use_crf=False, decoder_widths=[16, 8])
    form.show(t)
    assert form.editors["lambda_cls"].isHidden() and not form.editors["decoder_widths"].isHidden()
    back = TrainConfig()
    assert form.read(back) == []
    assert (back.n_neg, back.lambda_crf, back.use_crf, back.decoder_widths) == (7, 2e-6, False, [16, 8])
    form.editors["lr"].setText("")
    assert form.read(back) == ["lr"] and back.lr == t.lr
    form.update_visibility(TrainConfig(decoder="unet"))
    assert not form.editors["lambda_cls"].isHidden() and form.editors["decoder_widths"].isHidden()


def test_the_training_panel_shows_weights_readably(qtbot):
    from app.panels.training_panel import TrainingPanel
    from tests.app.test_training_panel import FakeRunner
    w = TrainingPanel(None, FakeRunner())
    qtbot.addWidget(w)
    assert w.lambda_crf.text() == "" and w.lambda_crf.placeholderText() == "calibrated 1.45 × 10⁻⁶"
    w.lambda_crf.set_value(2e-6)
    assert w.lambda_crf.text() == "2e-6" and w.lambda_crf.value() == 2e-6       # not Python's 2e-06
    assert w.form.labels["lambda_crf"].text() == "edge loss weight (λ2)"
    assert "calibrated 1.45e-6 (= 0.00000145)" in w.lambda_crf.toolTip()
