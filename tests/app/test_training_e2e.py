"""The whole loop through the real window: train in the worker subprocess, predict, see the boxes.

The backbone is a small timm ViT saved to a local file (the same loading path as users' own
weights), at 32 px, so the subprocess trains in seconds.
"""
from __future__ import annotations

import pytest
import torch


@pytest.fixture
def trained_ready(gui_project, tmp_path):
    """A project with attention maps and proposals made with a tiny local ViT."""
    import timm
    from safetensors.torch import save_file

    from core.pipeline import compute_attention, compute_proposals
    from core.pipeline.config import PipelineConfig, save_config

    torch.manual_seed(0)
    vit = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0)
    weights = tmp_path / "tiny_vit.safetensors"
    save_file({k: v.contiguous() for k, v in vit.state_dict().items()}, str(weights))
    cfg = PipelineConfig(background_classes=[])
    cfg.attention.backbone, cfg.attention.weights = "timm:vit_tiny_patch16_224", str(weights)
    cfg.attention.input_size = 32
    cfg.proposals.scoring_size, cfg.proposals.map_size = 32, 32
    cfg.train.batch_size, cfg.train.train_res, cfg.train.decoder_n_up, cfg.train.cls_epochs = 2, 16, 1, 3
    cfg.train.n_pos = cfg.train.n_neg = 8
    save_config(gui_project, cfg)
    compute_attention(gui_project, cfg)
    compute_proposals(gui_project, cfg)
    return gui_project


@pytest.mark.slow
def test_train_in_the_worker_then_predictions_on_the_canvas(qtbot, main_window, trained_ready):
    w = main_window
    w.actions_by_key["show_training"].trigger()
    qtbot.waitUntil(lambda: w.training_panel is not None, timeout=5000)
    panel = w.training_panel
    panel.epochs.setValue(1)
    assert not w.canvas.items_of("prediction") and w.presenter.prediction is None
    with qtbot.waitSignal(panel.run_finished, timeout=180_000) as sig:
        panel.start_btn.click()
    run = trained_ready.runs.get(sig.args[0])
    assert run.status == "finished" and run.checkpoint_path
    for img in trained_ready.images.list():
        assert trained_ready.maps.prediction(img.id) is not None
    # the window refreshed: the current image's predicted map and boxes are what the store holds
    stored = trained_ready.maps.prediction(w.session.image.id)
    qtbot.waitUntil(lambda: w.presenter.prediction is not None, timeout=5000)
    assert w.presenter.prediction.run_id == stored.run_id
    assert len(w.canvas.items_of("prediction")) == len(stored.boxes)
    assert not panel.busy
