"""A model that learned nothing: the window says so when its predictions arrive, and the training panel keeps it."""
from __future__ import annotations

import math

import pytest
import torch

from tests.app.test_training_e2e import trained_ready  # noqa: F401  (the fixture: a tiny ViT, maps, proposals)


@pytest.mark.slow
def test_predictions_of_a_model_that_learned_nothing_are_flagged_in_the_window(qtbot, main_window,
                                                                              trained_ready):  # noqa: F811
    from core.pipeline import train
    from core.pipeline.config import load_config, save_config
    project = trained_ready
    cfg = load_config(project)
    cfg.train.epochs, cfg.boxes.threshold = 1, 0.5
    save_config(project, cfg)
    run = project.runs.get(train(project, cfg))
    state = torch.load(run.checkpoint_path, weights_only=True)   # the localizer answers 0.53 everywhere
    state["localizer"]["head.weight"].zero_()
    state["localizer"]["head.bias"].copy_(torch.tensor([0.0, math.log(0.53 / 0.47)]))
    torch.save(state, run.checkpoint_path)

    w = main_window
    w.actions_by_key["show_training"].trigger()
    qtbot.waitUntil(lambda: w.training_panel is not None, timeout=5000)
    panel = w.training_panel
    with qtbot.waitSignal(panel.run_finished, timeout=180_000):
        panel.predict(run.id)
    shown = project.maps.prediction(w.session.image.id)
    assert shown.boxes and shown.boxes[0].x0 == 0 and shown.boxes[0].x1 == w.session.image.width   # full frame
    for text in (panel.status.text(), w.warning_bar.text.text()):   # whole, in the bar above the image
        assert "has not learned where the objects are" in text and "Train longer" in text, text
    assert w.warning_bar.isVisible() and "has not learned" in w.status.currentMessage()
    assert panel.notice.isVisible() and "Train longer" in panel.notice.text()

    # opened again (trained from the command line, or in an earlier session): the status bar says it at once
    w.status.clearMessage()
    w.warning_bar.hide()
    w.set_project(project)
    assert "has not learned where the objects are" in w.status.currentMessage()
    assert "Train longer" in w.warning_bar.text.text() and w.warning_bar.isVisible()
