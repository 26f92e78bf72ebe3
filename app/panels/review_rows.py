"""Rows of the review table: a proposal or a predicted box, as text, with its source. No widgets."""
from __future__ import annotations

from dataclasses import dataclass

from app.panels.attention_panel import head_name
from core.run_names import prediction_run_name, prediction_run_short
from core.store.records import PredictionRecord, ProposalRecord


@dataclass(frozen=True)
class ReviewRow:
    kind: str        # "proposal" | "prediction" (the canvas layer it is drawn on)
    key: int         # proposal id / predicted box id
    rank: int        # 1 = best of its source on this image
    score: float
    status: str      # pending | accepted | rejected
    cells: tuple[str, ...]
    tip: str


def run_name(prediction: PredictionRecord | None) -> str:
    """A prediction's run as every place names it (core/run_names.py): 'prediction run #5 (from training run #3)'."""
    if prediction is None:
        return prediction_run_name(None, None)
    return prediction_run_name(prediction.run_id, prediction.training_run_id)


def proposal_rows(proposals: list[ProposalRecord]) -> list[ReviewRow]:
    out = []
    for p in proposals:
        w, h = p.x1 - p.x0, p.y1 - p.y0
        cells = (str(p.rank), "proposal", f"{p.score:.3f}", head_name(p.source_map), f"{w:.0f}\u00d7{h:.0f}", p.status)
        tip = (f"Proposal #{p.rank}: score {p.score:.3f}, class probability {p.class_prob:.2f}, from the "
               f"{head_name(p.source_map)} map, {w:.0f} x {h:.0f} px at ({p.x0:.0f}, {p.y0:.0f}), {p.status}")
        out.append(ReviewRow("proposal", p.id, p.rank, p.score, p.status, cells, tip))
    return out


def prediction_rows(prediction: PredictionRecord | None, hidden: set[int] = frozenset(),
                    show_hidden: bool = False) -> list[ReviewRow]:
    """``hidden``: ids of pending boxes the suggestion gate holds back; listed greyed with the status "hidden" (out
    of F / B / Tab's reach) unless ``show_hidden``."""
    if prediction is None:
        return []
    run = run_name(prediction)
    out = []
    for rank, b in enumerate(prediction.boxes, start=1):
        w, h = b.x1 - b.x0, b.y1 - b.y0
        gated = b.id in hidden
        status = "hidden" if gated and not show_hidden else b.status
        cells = (str(rank), prediction_run_short(prediction.run_id), f"{b.score:.3f}", "predicted",
                 f"{w:.0f}\u00d7{h:.0f}", status)
        tip = (f"Predicted box #{rank} of {run}: score {b.score:.3f} (confident foreground it holds x the "
               f"probability that the image shows an object), {w:.0f} x {h:.0f} px at ({b.x0:.0f}, {b.y0:.0f}), "
               f"{b.status}")
        if gated:
            tip += (". The suggestion gate holds it back: boxes scored like it have not been right on this project "
                    "so far" + ("" if show_hidden else " (View \u25b8 Show hidden suggestions, Ctrl+6)"))
        out.append(ReviewRow("prediction", b.id, rank, b.score, status, cells, tip))
    return out
