"""Whether the latest prediction run's threshold (and drawing) is out of date because curated boxes changed.

A prediction run chooses its operating threshold and, with fit_to_curated, its box drawing on the curated images
its training run did not learn from (core/pipeline/predict_stage.py ``curated_picks``). Boxes curated there after
the run (added, moved or deleted) would choose another threshold, so ``run`` predicts again for them even when
nothing is trained (core/pipeline/run_all.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from core.pipeline.config import PipelineConfig
from core.pipeline.encoding import feature_cache
from core.pipeline.predict_stage import CALIBRATION_MIN, RunLearned, curated_digests, curated_picks
from core.store.project import Project


@dataclass(frozen=True)
class CuratedChange:
    """Held-out curated images whose boxes differ from those prediction run ``prediction_run`` was fitted on."""
    prediction_run: int
    training_run: int | None
    images: int          # added, changed or emptied since the run


def curated_change(project: Project, cfg: PipelineConfig) -> CuratedChange | None:
    """The change in held-out curated boxes since the latest prediction run, when it would choose the threshold
    anew: None when nothing changed, when the project fixes its own threshold (``--threshold``), or when neither the
    run nor the project now has CALIBRATION_MIN held-out images (fewer do not choose the threshold: the training
    images' pseudo boxes do, as before).

    Which images changed is told from the digests of their boxes that the run recorded (``curated_held_out_boxes``),
    not from the boxes' times: a deleted box leaves no row, so the newest change time never moves for it, while a
    digest that is gone or differs names the image. A run recorded before the digests is compared by its count of
    held-out images (``curated_held_out``), which sees images gained or emptied, not boxes moved on one."""
    latest_id = project.maps.latest_run_id()
    if latest_id is None or cfg.boxes.threshold is not None:
        return None
    latest = next(r for r in project.maps.prediction_runs() if r.id == latest_id)
    training = project.runs.get(latest.training_run_id) if latest.training_run_id is not None else None
    if training is None:
        return None
    cache = feature_cache(project, cfg)
    now = curated_digests(curated_picks(project, None, cache, RunLearned.of(training)).held_out)
    config = latest.config or {}
    before = config.get("curated_held_out_boxes")
    if isinstance(before, dict):
        changed = len({k for k, v in now.items() if before.get(k) != v} | (set(before) - set(now)))
        n_before = len(before)
    else:
        n_before = int(config.get("curated_held_out") or 0)
        changed = abs(len(now) - n_before)
    if not changed or max(len(now), n_before) < CALIBRATION_MIN:
        return None
    return CuratedChange(latest.id, latest.training_run_id, changed)
