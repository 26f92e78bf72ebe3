from __future__ import annotations

from core.pipeline.attention_stage import compute_attention
from core.pipeline.config import PipelineConfig, load_config
from core.pipeline.predict_stage import predict
from core.pipeline.proposal_stage import compute_proposals
from core.pipeline.train_stage import train
from core.progress import NULL_PROGRESS, Progress


def run_all(project, cfg: PipelineConfig | None = None, progress: Progress = NULL_PROGRESS,
            retrain: bool = False) -> dict:
    """attention -> proposals -> train -> predict, each skipping what is already up to date."""
    cfg = cfg or load_config(project)
    out = {"attention": compute_attention(project, cfg, progress),
           "proposals": compute_proposals(project, cfg, progress)}
    latest = project.runs.latest_finished()
    if latest is None or retrain or out["attention"] or out["proposals"]:
        out["train_run"] = train(project, cfg, progress)
        out["prediction_run"] = predict(project, out["train_run"], progress, cfg=cfg)
    else:
        out["train_run"] = latest.id
        if project.maps.latest_run_id() is None:
            out["prediction_run"] = predict(project, latest.id, progress, cfg=cfg)
    return out
