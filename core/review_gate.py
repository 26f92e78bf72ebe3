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

import math
from collections.abc import Collection, Iterable
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

import numpy as np
from sqlalchemy import func, or_, select

from core.dips.suggest import ReviewCosts, box_outcomes
from core.store.schema import BoxRow, ImageRow, PredictedBoxRow, PredictionRow, PredictionRunRow

CHUNK = 20_000   # ids per IN (...) query: under SQLite's limit on bound parameters


class Lesson(NamedTuple):
    """What one image taught the gate: for each judged predicted box, its rank (0: the image's best-scored box,
    1: any other), its score and the seconds it gained (negative: lost). The gate keeps each as a plain tuple
    (``tuple(lesson)``): the garbage collector stops looking at a tuple of numbers, not at a class instance, and
    a replay of 100,000 images keeps 100,000 of them (bench/gate_replay.py)."""
    ranks: tuple[int, ...]
    scores: tuple[float, ...]
    gains: tuple[float, ...]   # seconds


def judge(boxes, scores, statuses: list[str], final, finished: bool, costs: ReviewCosts | None = None) -> Lesson:
    """The lesson of one image from its predicted boxes ``[N][4]`` with ``scores`` ``[N]`` (best first), their
    review ``statuses`` (pending | accepted | rejected) and its curated boxes ``final`` ``[M][4]`` (image pixels,
    as the boxes). ``finished``: the image is marked reviewed (module docstring)."""
    c = costs or ReviewCosts()
    if finished and len(final) == 0:   # nothing on the image: every box was a rejection
        return Lesson(tuple(min(i, 1) for i in range(len(statuses))), tuple(float(s) for s in scores),
                      (-c.verify,) * len(statuses))
    gain = {"accept": c.draw - c.verify, "adjust": c.draw - c.adjust, "reject": -c.verify}   # as SuggestionGate.gain
    kept = [i for i, st in enumerate(statuses) if st != "rejected"]
    judged = {i: "reject" for i, st in enumerate(statuses) if st == "rejected"}
    # a rejected box leaves the curated box it overlaps free for the boxes after it
    for i, o in zip(kept, box_outcomes([boxes[i] for i in kept], final), strict=True):
        if finished or statuses[i] == "accepted":
            judged[i] = o
    order = sorted(judged)
    return Lesson(tuple(min(i, 1) for i in order), tuple(float(scores[i]) for i in order),
                  tuple(gain[judged[i]] for i in order))


class ReviewGate:
    """The gate of a project: one ``Lesson`` per image, and per rank every judged box's score and gain, kept sorted
    by score so that relearning one image and asking the thresholds again costs a few array copies, not a sort of
    the whole history (100,000 reviewed images hold half a million boxes). The thresholds are
    ``SuggestionGate.threshold``'s (tested)."""

    def __init__(self, costs: ReviewCosts | None = None, min_history: int = 8,
                 lessons: dict[int, tuple] | None = None):
        self.costs = costs or ReviewCosts()
        self.min_history = min_history
        # image id -> (ranks, scores, gains): a Lesson as a plain tuple (see Lesson)
        self.lessons: dict[int, tuple] = {k: tuple(v) for k, v in (lessons or {}).items()}
        self._thr: list[float | None] = [None, None]
        ranks = np.fromiter((r for x in self.lessons.values() for r in x[0]), dtype=np.int64)
        scores = np.fromiter((s for x in self.lessons.values() for s in x[1]), dtype=np.float64)
        gains = np.fromiter((g for x in self.lessons.values() for g in x[2]), dtype=np.float64)
        self._s: list[np.ndarray] = []   # per rank: scores, ascending
        self._g: list[np.ndarray] = []   # per rank: the gains beside them
        for r in (0, 1):
            s, g = scores[ranks == r], gains[ranks == r]
            order = np.argsort(s, kind="stable")
            self._s.append(s[order])
            self._g.append(g[order])

    def set_lesson(self, image_id: int, lesson: Lesson | None) -> None:
        """What ``image_id`` teaches now (None or empty: nothing), in place of what it taught before."""
        if self.lessons.get(image_id) == (tuple(lesson) if lesson is not None and lesson.ranks else None):
            return    # an edit that taught nothing new (most edits of an image not yet reviewed)
        old = self.lessons.pop(image_id, None)
        if old is not None:
            self._move(Lesson(*old), remove=True)
        if lesson is not None and lesson.ranks:
            self.lessons[image_id] = tuple(lesson)
            self._move(lesson, remove=False)
        self._thr = [None, None]

    def _move(self, lesson: Lesson, remove: bool) -> None:
        for r in (0, 1):
            # ascending, as the history: values sharing an insertion point go in in the order given
            pairs = sorted((s, g) for k, s, g in zip(lesson.ranks, lesson.scores, lesson.gains, strict=True) if k == r)
            if not pairs:
                continue
            S, G = self._s[r], self._g[r]
            if not remove:
                pos = np.searchsorted(S, [s for s, _ in pairs])
                self._s[r] = np.insert(S, pos, [s for s, _ in pairs])
                self._g[r] = np.insert(G, pos, [g for _, g in pairs])
                continue
            # boxes of equal score and gain are interchangeable: any one of them may go
            gone: set[int] = set()
            for s, g in pairs:
                lo, hi = np.searchsorted(S, s, "left"), np.searchsorted(S, s, "right")
                gone.add(next(i for i in range(int(lo), int(hi)) if G[i] == g and i not in gone))
            self._s[r], self._g[r] = np.delete(S, list(gone)), np.delete(G, list(gone))

    def threshold(self, rank: int) -> float:
        """Scores below this are hidden for a box of that rank (0: an image's best, 1: the others); 0 while
        fewer than ``min_history`` boxes of that rank are judged; ``inf`` when no cut has paid."""
        r = min(rank, 1)
        cached = self._thr[r]
        if cached is None:
            cached = self._thr[r] = self._cut(r)
        return cached

    def _cut(self, r: int) -> float:
        s, g = self._s[r][::-1], self._g[r][::-1]   # best first
        if len(s) < self.min_history:
            return 0.0
        total = np.cumsum(g)
        last = np.r_[s[1:] != s[:-1], True]    # a cut falls between distinct scores only
        best = int(np.argmax(np.where(last, total, -np.inf)))
        return float(s[best]) if total[best] > 0 else math.inf

    def judged(self, rank: int) -> int:
        """How many boxes of that rank the gate has judged so far."""
        return len(self._s[min(rank, 1)])

    def hidden(self, scores: Iterable[float]) -> list[int]:
        """Positions (in ``scores``, an image's boxes best first) of the boxes the gate hides."""
        return [i for i, s in enumerate(scores) if s < self.threshold(0 if i == 0 else 1)]


def _chosen(c, image_ids: Collection[int] | None) -> dict[int, tuple[int, bool]]:
    """prediction id -> (image id, finished) of every image that teaches something, each judged on one of its
    predictions: the newest made before its first curated box, else its newest (module docstring). Read image by
    image, keeping no list per image (see ``_lessons``)."""
    run_time = dict(c.execute(select(PredictionRunRow.id, PredictionRunRow.created_at)).all())
    decided = (select(PredictedBoxRow.prediction_id).where(PredictedBoxRow.status != "pending").distinct()
               .join(PredictionRow, PredictionRow.id == PredictedBoxRow.prediction_id))
    # a replay reads only images that teach: reviewed ones and those with a decided box (a project is mostly
    # neither); one image relearnt is read whatever it is (the filter would scan every predicted box)
    teaching = select(ImageRow.id).where(or_(
        ImageRow.review == "verified",
        ImageRow.id.in_(select(PredictionRow.image_id)
                        .join(PredictedBoxRow, PredictedBoxRow.prediction_id == PredictionRow.id)
                        .where(PredictedBoxRow.status != "pending"))))
    first = select(BoxRow.image_id, func.min(BoxRow.created_at)).group_by(BoxRow.image_id)
    preds = (select(PredictionRow.image_id, PredictionRow.run_id, PredictionRow.id, ImageRow.review)
             .join(ImageRow, ImageRow.id == PredictionRow.image_id)
             .order_by(PredictionRow.image_id, PredictionRow.run_id))
    if image_ids is None:
        first, preds = first.where(BoxRow.image_id.in_(teaching)), preds.where(ImageRow.id.in_(teaching))
    has_decision: set[int] = set()
    first_box: dict = {}
    chosen: dict[int, tuple[int, bool]] = {}
    for chunk in _chunks(image_ids):
        has_decision.update(c.execute(_only(decided, PredictionRow.image_id, chunk)).scalars().all())
        first_box.update(_rows(c, _only(first, BoxRow.image_id, chunk)))
        for img, runs in groupby(_rows(c, _only(preds, PredictionRow.image_id, chunk)), key=itemgetter(0)):
            t = first_box.get(img)
            newest: tuple[int, str] | None = None
            before: tuple[int, str] | None = None
            for _img, run, p, rv in runs:     # oldest run first
                newest = (p, rv)
                if t is not None and run_time.get(run) is not None and run_time[run] <= t:
                    before = newest
            pid, review = before or newest or (-1, "")
            if review == "verified" or pid in has_decision:
                chosen[pid] = (img, review == "verified")
    return chosen


def _only(query, column, ids: list[int] | None):
    return query if ids is None else query.where(column.in_(ids))


def _lessons(project, image_ids: Collection[int] | None, costs: ReviewCosts) -> dict[int, tuple]:
    """image id -> lesson (a plain tuple), for every image (None) or ``image_ids``, from the stored review (module
    docstring).

    Predicted and curated boxes are read side by side, ordered by image, and each image is judged as soon as its
    rows are in: no list per image is kept. (Half a million such lists made Python's garbage collector stop every
    thread, the window's too, for 0.1-0.2 s at a time while a replay ran on a thread: bench/gate_replay.py.)"""
    out: dict[int, tuple] = {}
    with project.read() as s:
        c = s.connection()   # plain rows: the ORM's loading was a fifth of a replay's time
        chosen = sorted((img, pid, finished) for pid, (img, finished) in _chosen(c, image_ids).items())
        for i in range(0, len(chosen), CHUNK):
            part = chosen[i:i + CHUNK]
            finished = {img: fin for img, _pid, fin in part}
            curated = groupby(_rows(c, select(BoxRow.image_id, BoxRow.x0, BoxRow.y0, BoxRow.x1, BoxRow.y1)
                                    .where(BoxRow.image_id.in_([img for img, _, _ in part]))
                                    .order_by(BoxRow.image_id)), key=itemgetter(0))
            predicted = _rows(c, select(PredictionRow.image_id, PredictedBoxRow.x0, PredictedBoxRow.y0,
                                        PredictedBoxRow.x1, PredictedBoxRow.y1, PredictedBoxRow.score,
                                        PredictedBoxRow.status)
                              .join(PredictionRow, PredictionRow.id == PredictedBoxRow.prediction_id)
                              .where(PredictedBoxRow.prediction_id.in_([pid for _, pid, _ in part]))
                              .order_by(PredictionRow.image_id, PredictedBoxRow.score.desc(), PredictedBoxRow.id))
            cur_img, cur_boxes = -1, ()
            for img, group in groupby(predicted, key=itemgetter(0)):
                boxes = tuple(group)
                while cur_img < img:     # the curated boxes of this image, if it has any
                    nxt = next(curated, None)
                    if nxt is None:
                        cur_img, cur_boxes = 1 << 62, ()
                        break
                    cur_img, cur_boxes = nxt[0], tuple(r[1:] for r in nxt[1])
                les = judge([b[1:5] for b in boxes], [b[5] for b in boxes], [b[6] for b in boxes],
                            cur_boxes if cur_img == img else (), finished[img], costs)
                if les.ranks:
                    out[img] = tuple(les)
    return out


def _rows(c, query, block: int = 1000):
    """The query's rows, read ``block`` at a time. One fetchall of 50,000 rows holds Python's lock for ~0.2 s
    without letting the window's thread in (it gives the lock back only to take it again at once): a replay on a
    thread then froze the window in 0.2 s steps (bench/gate_replay.py); between blocks the GUI thread gets it."""
    result = c.execute(query)
    while rows := result.fetchmany(block):
        yield from rows


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
    return lessons(project, [image_id], costs).get(image_id)


def lessons(project, image_ids: Collection[int], costs: ReviewCosts | None = None) -> dict[int, Lesson]:
    """``lesson`` for several images in one read (an "accept above a score" touches hundreds); an image that
    teaches nothing is absent."""
    return {k: Lesson(*v) for k, v in _lessons(project, list(image_ids), costs or ReviewCosts()).items()}
