"""Pipeline tests run the real stages on a tiny random ViT (patch 8, 32 px) instead of DINOv2."""
from __future__ import annotations

import shutil

import pytest

from core.pipeline.config import PipelineConfig, save_config


def _tiny_config() -> PipelineConfig:
    cfg = PipelineConfig()
    cfg.attention.backbone, cfg.attention.input_size, cfg.attention.batch_size = "tiny", 32, 3
    cfg.proposals.scoring_size, cfg.proposals.map_size = 32, 32
    cfg.train.epochs, cfg.train.batch_size, cfg.train.train_res, cfg.train.decoder_n_up = 2, 2, 16, 1
    cfg.train.cls_epochs, cfg.train.n_pos, cfg.train.n_neg = 5, 8, 8
    cfg.train.lr = 0.01
    return cfg


def _use_tiny_backbone(monkeypatch) -> None:
    from core.pipeline import encoding
    from tests.core.dips.backbones.helpers import tiny_backbone

    bb = tiny_backbone(depth=4)
    monkeypatch.setattr(encoding, "_backbone", lambda name, weights, device: bb)


@pytest.fixture
def tiny_pipeline(monkeypatch, project):
    _use_tiny_backbone(monkeypatch)
    cfg = _tiny_config()
    save_config(project, cfg)
    return project, cfg


@pytest.fixture(scope="session")
def _tiny_prepared_folder(tmp_path_factory):
    """The tiny_pipeline project (image folder beside it) with its attention maps and proposals, computed once."""
    from core.data.importer import import_images
    from core.pipeline import compute_attention, compute_proposals
    from core.store.project import Project
    from tests.conftest import make_image_folder

    root = tmp_path_factory.mktemp("tiny_prepared")
    images = make_image_folder(root / "images")
    with pytest.MonkeyPatch.context() as mp, Project.create(root / "proj.dips", images) as p:
        _use_tiny_backbone(mp)
        import_images(p)
        cfg = _tiny_config()
        save_config(p, cfg)
        compute_attention(p, cfg)
        compute_proposals(p, cfg)
    return root


@pytest.fixture
def tiny_prepared(monkeypatch, tmp_path, _tiny_prepared_folder):
    """tiny_pipeline after ``compute_attention`` and ``compute_proposals``: a copy of one session-wide build (the
    project file, its work folder and its images), so that each test trains on its own project."""
    from core.store.project import Project

    folder = shutil.copytree(_tiny_prepared_folder, tmp_path / "prepared")
    _use_tiny_backbone(monkeypatch)
    p = Project.open(folder / "proj.dips")
    yield p, _tiny_config()
    p.close()
