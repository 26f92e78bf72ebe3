"""Pipeline tests run the real stages on a tiny random ViT (patch 8, 32 px) instead of DINOv2."""
from __future__ import annotations

import pytest

from core.pipeline.config import PipelineConfig, save_config


@pytest.fixture
def tiny_pipeline(monkeypatch, project):
    from core.pipeline import encoding
    from tests.core.dips.backbones.helpers import tiny_backbone

    bb = tiny_backbone(depth=4)
    monkeypatch.setattr(encoding, "_backbone", lambda name, weights, device: bb)
    cfg = PipelineConfig()
    cfg.attention.backbone, cfg.attention.input_size, cfg.attention.batch_size = "tiny", 32, 3
    cfg.proposals.scoring_size, cfg.proposals.map_size = 32, 32
    cfg.train.epochs, cfg.train.batch_size, cfg.train.train_res, cfg.train.decoder_n_up = 2, 2, 16, 1
    cfg.train.cls_epochs, cfg.train.n_pos, cfg.train.n_neg = 5, 8, 8
    cfg.train.lr = 0.01
    save_config(project, cfg)
    return project, cfg
