"""A project's work folder is data, never code: a crafted pickle planted in any file it holds never runs.

Each planted file carries a ``__reduce__`` that would create a marker file when unpickled. The stages
that read those files run again; the marker must not exist, and each file is either recomputed (the
scorer cache, the resume checkpoint, cached features) or refused with a message naming it (a trained model).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.pipeline import compute_proposals, predict, train
from core.train.checkpoint import CheckpointError


class Payload:
    """Unpickling this opens (creates) ``marker``: what a hostile project file would do, harmlessly."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant(path: Path, marker: Path) -> None:
    torch.save({"model": Payload(marker), "head": Payload(marker)}, path)


def plant_npy(path: Path, marker: Path) -> None:
    np.save(path, np.array([Payload(marker)], dtype=object), allow_pickle=True)


@pytest.fixture
def trained(tiny_prepared):
    project, cfg = tiny_prepared
    run_id = train(project, cfg)
    return project, cfg, run_id


def test_planted_pickles_never_run_in_any_stage(trained, tmp_path):
    project, cfg, run_id = trained
    marker = tmp_path / "pwned"
    work = project.work_dir
    scorers = sorted(work.glob("scorer_*.pt"))
    run_dir = Path(project.runs.get(run_id).checkpoint_path).parent
    assert scorers and (run_dir / "model.pt").is_file()
    for f in [*scorers, run_dir / "model.pt"]:
        plant(f, marker)
    plant(run_dir / "last.pt", marker)
    features = sorted(work.glob("features/*/*.cls.npy"))
    assert features
    plant_npy(features[0], marker)

    # proposals: the scorer cache is refused and trained again, then the stage finishes
    assert compute_proposals(project, cfg, force=True) > 0
    assert not marker.exists()
    assert all(torch.load(f, weights_only=True).keys() >= {"head"} for f in scorers)  # recomputed in place

    # predict with the planted model: refused, naming the file
    with pytest.raises(CheckpointError, match=r"model\.pt: holds Python objects other than tensors"):
        predict(project, run_id, cfg=cfg)
    assert not marker.exists()

    # resuming from the planted last.pt starts afresh; the damaged feature entry is named, removed, recomputed
    with pytest.raises(CheckpointError, match=r"\.cls\.npy: damaged cached features"):
        train(project, cfg, resume_run=run_id)
    assert not features[0].exists()
    resumed = train(project, cfg, resume_run=run_id)
    assert project.runs.get(resumed).status == "finished"
    assert not marker.exists()
