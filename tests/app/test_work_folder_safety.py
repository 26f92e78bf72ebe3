"""Opening a project in the window never runs code planted in its work folder (the scorer cache is read on open,
when the window computes missing proposals in the background)."""
from __future__ import annotations

import torch

from core.pipeline import compute_attention, compute_proposals
from core.pipeline.config import PipelineConfig, save_config
from tests.core.pipeline.test_work_folder_safety import plant


def test_opening_a_project_with_a_planted_scorer_runs_nothing(qtbot, project, tmp_path, monkeypatch):
    from app.main_window import MainWindow
    from core.pipeline import encoding
    from tests.core.dips.backbones.helpers import tiny_backbone

    bb = tiny_backbone(depth=4)
    monkeypatch.setattr(encoding, "_backbone", lambda name, weights, device: bb)
    cfg = PipelineConfig()
    cfg.attention.backbone, cfg.attention.input_size, cfg.attention.batch_size = "tiny", 32, 3
    cfg.proposals.scoring_size, cfg.proposals.map_size = 32, 32
    cfg.train.cls_epochs = 3
    save_config(project, cfg)
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    for image_id in project.images.ids():          # proposals to compute again on open
        project.proposals.replace(image_id, [])
    marker = tmp_path / "pwned"
    scorers = sorted(project.work_dir.glob("scorer_*.pt"))
    assert scorers
    for f in scorers:
        plant(f, marker)

    w = MainWindow(project, auto_compute=True, probe_device=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: project.proposals.count() > 0 and not w.runner.active(), timeout=60_000)
    assert not marker.exists()
    assert all("head" in torch.load(f, weights_only=True) for f in scorers)   # read, refused, trained again
    assert w.background.error_boxes == []       # the refused cache was recomputed, not reported as a failure
    w.shutdown()
