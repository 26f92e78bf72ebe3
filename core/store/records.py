"""Plain, immutable views of stored rows handed to the CLI, the pipeline and the GUI.

ORM objects never leave the store: they are bound to a session and a thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np


class _HasBox:
    """``xyxy`` for every record that carries x0, y0, x1, y1 (image pixels)."""
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


@dataclass(frozen=True)
class ClassRecord:
    id: int
    name: str
    position: int


@dataclass(frozen=True)
class ImageRecord:
    id: int
    rel_path: str
    width: int
    height: int
    class_id: int | None
    split: str
    review: str
    content_hash: str
    missing: bool
    orientation: int = 1
    n_boxes: int = 0
    flagged: bool = False   # independent of ``review``

    @property
    def name(self) -> str:
        return self.rel_path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class BoxRecord(_HasBox):
    id: int
    image_id: int
    class_id: int | None
    x0: float
    y0: float
    x1: float
    y1: float
    source: str
    score: float | None = None
    proposal_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    predicted_box_id: int | None = None   # the predicted box it was accepted from


@dataclass(frozen=True)
class GtBoxRecord(_HasBox):
    id: int
    image_id: int
    class_id: int | None
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class ProposalRecord(_HasBox):
    id: int
    image_id: int
    x0: float
    y0: float
    x1: float
    y1: float
    source_map: int
    score: float
    class_prob: float
    rank: int
    status: str


@dataclass(frozen=True)
class PredictedBox(_HasBox):
    """A box of a prediction run, in image pixels. ``score``: core/dips/map_boxes.py's score of the region
    (``mass`` by default: mean foreground probability x sqrt of its share of the image's largest foreground
    mass) times the probability that the image shows an object (1 for an image labelled with an object class).
    ``status``: the inspector's decision, as for proposals (pending | accepted | rejected)."""
    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    id: int = 0
    status: str = "pending"


@dataclass(frozen=True)
class PredictionRunRecord:
    id: int
    training_run_id: int | None   # the number users see ("training run #N"): the training run the model came from
    config: dict


@dataclass(frozen=True)
class PredictionRecord:
    run_id: int
    image_id: int
    class_probs: list[float]
    fg_map: np.ndarray  # float32 [h, w] in [0, 1], stretched over the whole image
    boxes: list[PredictedBox]   # best score first
    training_run_id: int | None = None


@dataclass(frozen=True)
class TrainingRunRecord:
    id: int
    status: str
    config: dict
    history: list
    metrics: dict
    checkpoint_path: str | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None
