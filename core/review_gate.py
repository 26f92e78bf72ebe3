"""The suggestion gate of the review window, rebuilt from the review stored in the project.

``core/dips/suggest.py`` (``SuggestionGate``) learns, image after image, which predicted boxes pay: a box is
shown only when boxes scored like it have been kept (or adjusted) more than they cost in rejections. The
window's gate is that gate fed with what the project file holds, so it is the same every time the project
opens and needs no state of its own (the database is the single source of truth):

* a **finished** image (marked reviewed) teaches with every box of its prediction: a box the inspector
  rejected is a rejection; every other box is judged against the curated boxes the image ended with
  (``box_outcomes``: kept at IoU >= 0.7, adjusted at >= 0.5, else a rejection), so boxes the gate hid are
  judged too (the gate keeps learning without showing bad boxes, as in bench/inspector_sim.py);
* an image not yet finished teaches only with the boxes decided on it (accepted: kept or adjusted, by its
  IoU with the curated boxes; rejected: a rejection); its pending boxes are not judged yet.

Which prediction taught: the one the inspector saw. Retraining predicts reviewed images again, and a model
trained on an image's curated boxes finds them again, which would reopen the gate on boxes that never helped
anyone; so an image is judged on the newest prediction made before its first curated box, else its newest.

Cost: a replay reads the boxes of every reviewed image (two queries in blocks); ``bench/gate_replay.py``
measures it on 100,000 images. After that one image is replayed at a time (``lesson``).
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select

from core.dips.suggest import ReviewCosts, SuggestionGate, box_outcomes
from core.store.schema import BoxRow, ImageRow, PredictedBoxRow, PredictionRow, PredictionRunRow

CHUNK = 20_000   # ids per IN (...) query: under SQLite's limit on bound parameters


@dataclass(frozen=True)
class Lesson:
    """What one image taught the gate: for each judged predicted box, its rank (0: the image's best-scored box,
    1: any other), its score and the seconds it gained (negative: lost)."""
    ranks: np.ndarray    # [N] int
    scores: np.ndarray   # [N] float
    gains: np.ndarray    # [N] float, seconds


def judge(boxes: np.ndarray, scores, statuses: list[str], final: np.ndarray, finished: bool,
          costs: ReviewCosts | None = None) -> Lesson:
    """The lesson of one image from its predicted boxes ``[N, 4]`` with ``scores`` ``[N]`` (best first), their
    review ``statuses`` (pending | accepted | rejected) and its curated boxes ``final`` ``[M, 4]`` (image pixels,
    as the boxes). ``finished``: the image is marked reviewed (module docstring)."""
    gate = SuggestionGate(costs or ReviewCosts())
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    kept = [i for i, st in enumerate(statuses) if st != "rejected"]
    outcomes = {i: "reject" for i, st in enumerate(statuses) if st == "rejected"}
    # a rejected box leaves the curated box it overlaps free for the boxes after it
    for i, o in zip(kept, box_outcomes(boxes[kept], final), strict=True):
        if finished or statuses[i] == "accepted":
            outcomes[i] = o
    order = sorted(outcomes)
    return Lesson(np.minimum(np.asarray(order, dtype=np.int64), 1),
                  np.asarray(scores, dtype=np.float64)[order].reshape(-1),
                  np.asarray([gate.gain(outcomes[i]) for i in order], dtype=np.float64))


@dataclass
class ReviewGate:
    """The gate of a project: one ``Lesson`` per image, and the ``SuggestionGate`` they make (built when asked)."""
    costs: ReviewCosts = field(default_factory=ReviewCosts)
    min_history: int = 8
    lessons: dict[int, Lesson] = field(default_factory=dict)
    _gate: SuggestionGate | None = field(default=None, repr=False)

    def set_lesson(self, image_id: int, lesson: Lesson | None) -> None:
        if lesson is None or len(lesson.ranks) == 0:
            self.lessons.pop(image_id, None)
        else:
            self.lessons[image_id] = lesson
        self._gate = None

    @property
    def gate(self) -> SuggestionGate:
        if self._gate is None:
            g = SuggestionGate(self.costs, self.min_history)
            if self.lessons:
                ls = list(self.lessons.values())
                ranks = np.concatenate([x.ranks for x in ls])
                scores = np.concatenate([x.scores for x in ls])
                gains = np.concatenate([x.gains for x in ls])
                for r in (0, 1):
                    g.scores[r].extend(scores[ranks == r].tolist())
                    g.gains[r].extend(gains[ranks == r].tolist())
            self._gate = g
            # thresholds computed once per change of the history, not once per image shown
            self._thresholds = (g.threshold(0), g.threshold(1))
        return self._gate

    def threshold(self, rank: int) -> float:
        """Scores below this are hidden for a box of that rank (0: an image's best, 1: the others); 0 while
        fewer than ``min_history`` boxes of that rank are judged; ``inf`` when no cut has paid."""
        _ = self.gate
        return self._thresholds[min(rank, 1)]

    def judged(self, rank: int) -> int:
        """How many boxes of that rank the gate has judged so far."""
        return len(self.gate.scores[min(rank, 1)])

    def hidden(self, scores: Iterable[float]) -> list[int]:
        """Positions (in ``scores``, an image's boxes best first) of the boxes the gate hides."""
        return [i for i, s in enumerate(scores) if s < self.threshold(0 if i == 0 else 1)]


def _chosen(s, image_ids: Collection[int] | None) -> dict[int, tuple[int, bool]]:
    """prediction id -> (image id, finished) of every image that teaches something, each judged on one of its
    predictions: the newest made before its first curated box, else its newest (module docstring)."""
    q = (select(PredictionRow.id, PredictionRow.image_id, PredictionRow.run_id, ImageRow.review)
         .join(ImageRow, ImageRow.id == PredictionRow.image_id))
    by_image: dict[int, list[tuple[int, int, str]]] = {}
    for chunk in _chunks(image_ids):
        for pid, img, run, review in s.execute(q if chunk is None else q.where(PredictionRow.image_id.in_(chunk))):
            by_image.setdefault(img, []).append((run, pid, review))
    if not by_image:
        return {}
    has_decision = set(s.scalars(select(PredictedBoxRow.prediction_id)
                                 .where(PredictedBoxRow.status != "pending").distinct()).all())
    run_time = dict(s.execute(select(PredictionRunRow.id, PredictionRunRow.created_at)).all())
    first_box = {}
    for chunk in _chunks(by_image):
        first_box.update(s.execute(select(BoxRow.image_id, func.min(BoxRow.created_at))
                                   .where(BoxRow.image_id.in_(chunk)).group_by(BoxRow.image_id)).all())
    chosen: dict[int, tuple[int, bool]] = {}
    for img, runs in by_image.items():
        runs.sort()
        t = first_box.get(img)
        before = [r for r in runs if t is not None and run_time.get(r[0]) is not None and run_time[r[0]] <= t]
        _run, pid, review = (before or runs)[-1]
        if review == "verified" or pid in has_decision:
            chosen[pid] = (img, review == "verified")
    return chosen


def _lessons(project, image_ids: Collection[int] | None, costs: ReviewCosts) -> dict[int, Lesson]:
    """image id -> lesson, for every image (None) or ``image_ids``, from the stored review (module docstring)."""
    curated: dict[int, list[tuple[float, float, float, float]]] = {}
    rows: dict[int, list[tuple]] = {}
    with project.read() as s:
        chosen = _chosen(s, image_ids)
        for chunk in _chunks({img for img, _ in chosen.values()}):
            for img, *xyxy in s.execute(select(BoxRow.image_id, BoxRow.x0, BoxRow.y0, BoxRow.x1, BoxRow.y1)
                                        .where(BoxRow.image_id.in_(chunk))):
                curated.setdefault(img, []).append(tuple(xyxy))
        for chunk in _chunks(chosen):
            for pid, *box in s.execute(
                    select(PredictedBoxRow.prediction_id, PredictedBoxRow.x0, PredictedBoxRow.y0, PredictedBoxRow.x1,
                           PredictedBoxRow.y1, PredictedBoxRow.score, PredictedBoxRow.status)
                    .where(PredictedBoxRow.prediction_id.in_(chunk))
                    .order_by(PredictedBoxRow.prediction_id, PredictedBoxRow.score.desc(), PredictedBoxRow.id)):
                rows.setdefault(pid, []).append(tuple(box))
    out: dict[int, Lesson] = {}
    for pid, boxes in rows.items():
        img, finished = chosen[pid]
        arr = np.asarray([b[:5] for b in boxes], dtype=np.float64)
        final = np.asarray(curated.get(img, []), dtype=np.float64).reshape(-1, 4)
        les = judge(arr[:, :4], arr[:, 4], [b[5] for b in boxes], final, finished, costs)
        if len(les.ranks):
            out[img] = les
    return out


def _chunks(ids: Collection[int] | None):
    if ids is None:
        yield None
        return
    ids = sorted(ids)
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def replay(project, costs: ReviewCosts | None = None, min_history: int = 8) -> ReviewGate:
    """The gate of ``project`` (a ``core.store.project.Project``) from everything its review holds."""
    costs = costs or ReviewCosts()
    return ReviewGate(costs, min_history, _lessons(project, None, costs))


def lesson(project, image_id: int, costs: ReviewCosts | None = None) -> Lesson | None:
    """What ``image_id`` teaches the gate now (None: nothing yet), for ``ReviewGate.set_lesson`` after an edit."""
    return _lessons(project, [image_id], costs or ReviewCosts()).get(image_id)
