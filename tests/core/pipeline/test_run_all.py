"""run_all: every stage in order, then nothing left to do."""
from __future__ import annotations

from core.pipeline import run_all


def test_run_all_then_nothing_to_do(tiny_pipeline):
    project, cfg = tiny_pipeline
    out = run_all(project, cfg)
    assert out["attention"] == 7 and out["proposals"] == 4 and out["prediction_run"]
    again = run_all(project, cfg)
    assert again["attention"] == 0 and again["proposals"] == 0 and again["train_run"] == out["train_run"]
