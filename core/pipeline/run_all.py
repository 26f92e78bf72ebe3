from __future__ import annotations

from typing import Any

from core.data.changed_files import reread_changed_images
from core.pipeline.attention_stage import compute_attention
from core.pipeline.config import PipelineConfig, load_config
from core.pipeline.encoding import backbone_loader
from core.pipeline.predict_stage import predict
from core.pipeline.proposal_stage import compute_proposals
from core.pipeline.refit import curated_change
from core.pipeline.train_stage import train
from core.progress import NULL_PROGRESS, Progress
from core.run_figures import unpredicted_training_run
from core.stages import ORDER
from core.store.project import Project

# The stages that recompute only what is out of date; training is started again only when they changed something.
_INCREMENTAL = {"attention": compute_attention, "proposals": compute_proposals}


def run_all(project: Project, cfg: PipelineConfig | None = None, progress: Progress = NULL_PROGRESS,
            retrain: bool = False, ray=None, redraw: bool = False, backbone=None) -> dict:
    """Every stage in core.stages.ORDER (attention -> proposals -> train -> predict), each skipping what is
    already up to date. Returns the counts of images done and the run ids: ``{"attention", "proposals",
    "trained", "train_run", "prediction_run"}`` (``trained``: whether this call trained ``train_run`` or kept the
    latest finished one; ``prediction_run`` only when a prediction ran; ``refit``: ``{"curated_images",
    "since_prediction_run"}`` when it predicted again, without training, because curated boxes held out for the
    threshold changed since that prediction run, core.pipeline.refit; ``unpredicted``: ``{"train_run",
    "since_prediction_run", "since_train_run"}`` when it predicted, without training, because the latest finished
    training run was trained after the latest prediction, which came from an earlier one; ``readable_again``:
    ``{"images", "since_prediction_run"}`` when it predicted again because files that prediction left out as
    unreadable have changed since; ``reread``: the images whose files had new content since they were read, read
    again first, core/data/changed_files.py: their maps are made again, so training and prediction follow; ``resized``:
    ``{rel_path: [[w, h] before, [w, h] now]}`` for those of them whose boxes were scaled to a new size).
    ``redraw``: predict again even when nothing was trained (the box-drawing settings changed). ``backbone``: a
    Backbone or BackboneLoader already loaded for ``cfg`` (None: loaded by the first stage that encodes). ``ray``: a
    core.pipeline.cluster.RayOptions to run the per-image stages on Ray (training stays here, on one device)."""
    cfg = cfg or load_config(project)
    backbone = backbone_loader(cfg, backbone)   # loaded by the first stage that encodes, then shared by the others
    out: dict[str, Any] = _reread(project)
    for stage in ORDER:
        if stage in _INCREMENTAL and ray is not None:
            from core.pipeline import cluster
            on_ray = cluster.compute_attention_on_ray if stage == "attention" else cluster.compute_proposals_on_ray
            out[stage] = on_ray(project, cfg, progress, ray)
        elif stage in _INCREMENTAL:
            out[stage] = _INCREMENTAL[stage](project, cfg, progress, backbone=backbone)
        elif stage == "train":
            latest = project.runs.latest_finished()
            out["trained"] = latest is None or retrain or any(out[s] for s in _INCREMENTAL)
            if latest is None or out["trained"]:
                out["train_run"] = train(project, cfg, progress, backbone=backbone)
            else:
                out["train_run"] = latest.id
                if not redraw and project.maps.latest_run_id() is not None:
                    why = _why_predict_again(project, cfg)
                    if why is None:
                        break       # trained and predicted already: nothing left to do
                    out.update(why)
        elif stage == "predict" and ray is not None:
            from core.pipeline.cluster import predict_on_ray
            out["prediction_run"] = predict_on_ray(project, out["train_run"], progress, ray, cfg=cfg)
        elif stage == "predict":
            out["prediction_run"] = predict(project, out["train_run"], progress, cfg=cfg, backbone=backbone)
    return out


def _reread(project: Project) -> dict[str, Any]:
    """``{"reread": [rel_path, ...]}`` of the images whose files had new content, read again now (their maps,
    proposals and predicted boxes dropped: the stages make them again), with ``"resized": {rel_path: [[w, h] before,
    [w, h] now]}`` for those whose size changed (their curated and ground-truth boxes were scaled); {} when none."""
    changed = [r for r in reread_changed_images(project) if r.changed]
    out: dict[str, Any] = {"reread": [r.rel_path for r in changed]} if changed else {}
    if resized := {r.rel_path: [list(r.resized[0]), list(r.resized[1])] for r in changed if r.resized}:
        out["resized"] = resized      # their boxes were scaled with them: [[w, h] before, [w, h] now]
    return out


def _why_predict_again(project: Project, cfg: PipelineConfig) -> dict | None:
    """Why a project that has a prediction and trained nothing now predicts again: ``{"unpredicted": ...}`` when the
    latest prediction came from an earlier training run than the latest finished one (trained by `train` or the
    window since), ``{"refit": ...}`` when curated boxes the threshold is fitted on changed since that prediction
    (they choose another threshold), ``{"readable_again": ...}`` when images the latest prediction left out as
    unreadable decode again (their files were repaired: they would otherwise keep no boxes); None when the
    prediction is up to date."""
    if unpredicted := unpredicted_training_run(project):
        trained, predicted, predicted_with = unpredicted
        return {"unpredicted": {"train_run": trained, "since_prediction_run": predicted,
                                "since_train_run": predicted_with}}
    if readable := _readable_again(project):
        return {"readable_again": readable}
    change = curated_change(project, cfg)
    if change is None:
        return None
    return {"refit": {"curated_images": change.images, "since_prediction_run": change.prediction_run}}


def _readable_again(project: Project) -> dict | None:
    """``{"images": [rel_path, ...], "since_prediction_run": N}`` for the images the latest prediction run left out
    as unreadable whose files have changed since (repaired), still in the project; None when there are none."""
    from core.data.unreadable import UNREADABLE_KEY, readable_again
    latest = project.maps.latest_run_id()
    left_out = project.maps.prediction_run_config(latest).get(UNREADABLE_KEY) if latest is not None else None
    if not left_out:
        return None
    images = readable_again(project, left_out)
    return {"images": images, "since_prediction_run": latest} if images else None
