"""Which suggested boxes are worth an inspector's look, learned from the review itself.

Every suggestion an inspector looks at costs a verification; only the ones they keep save anything (the
drawing of that object). On a project where the model's top box is right on one image in five, showing
every suggestion costs more than it saves (issue 14: 1.15x the time of drawing every box on real aerial
frames). The gate shows a box only when boxes scored like it have paid on this project so far.

After each image, ``record`` takes every box the model suggested there (shown or not: hidden ones are
judged against the boxes the image ended with, so the gate learns without showing bad boxes) and the
gain each would have brought, with the review's costs (``ReviewCosts``; seconds):

* kept as is (IoU >= ``accept_iou`` with a final box not yet matched): ``draw - verify`` saved;
* adjusted (IoU in [``adjust_iou``, ``accept_iou``)): ``draw - adjust`` saved;
* otherwise a rejection: ``verify`` lost.

``threshold(rank)`` is the score above which the boxes recorded so far gained the most in total (the best
cut of the history sorted by score); ``inf`` when no cut gains anything (show nothing until the model
improves), 0 until ``min_history`` boxes are recorded (show everything at first). The best-scored box of an
image and the others are judged apart: where one object fills an image, second boxes are duplicates that
never pay however high they score, while where several stand together (tree crowns) they may.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class ReviewCosts:
    # seconds per action; the defaults are the cited ones of bench/inspector_sim.py
    verify: float = 1.6   # look at a box and accept or reject it: Papadopoulos et al., CVPR 2016
    draw: float = 7.0     # draw a box by extreme clicking: Papadopoulos et al., ICCV 2017
    adjust: float = 5.1   # ASSUMED: verify + re-place two of four extreme points (2 x 7.0 / 4)


def pair_iou(a, b) -> float:
    """IoU of two continuous ``xyxy`` boxes (any sequences of 4 numbers), 0 where the union is not positive:
    the values of core.dips.boxes.box_iou, in plain Python, so the review window can use the gate without
    loading OpenCV or torch."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 and inter > 0 else 0.0


def box_outcomes(boxes, final, accept_iou: float = 0.7, adjust_iou: float = 0.5) -> list[str]:
    """'accept' / 'adjust' / 'reject' for each of ``boxes`` ``[N][4]`` (best first) against the boxes the image
    ended with ``final`` ``[M][4]`` (same pixels), each final box matched at most once, greedily in order.

    Plain Python over a few boxes an image: numpy's per-call cost was most of a replay's time over a reviewed
    project (bench/gate_replay.py). Arrays and lists are both accepted."""
    free = [True] * len(final)
    out = []
    for b in boxes:
        j, best = -1, -1.0
        for k, f in enumerate(final):
            if free[k]:
                v = pair_iou(b, f)
                if v > best:
                    j, best = k, v
        if best >= accept_iou:
            out.append("accept")
        elif best >= adjust_iou:
            out.append("adjust")
        else:
            out.append("reject")
            continue
        free[j] = False
    return out


@dataclass
class SuggestionGate:
    costs: ReviewCosts = field(default_factory=ReviewCosts)
    min_history: int = 8            # boxes recorded (of that rank) before the gate closes on anything
    # rank 0 = each image's best-scored box, 1 = the others: score and gain of every box recorded
    scores: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    gains: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))

    def gain(self, outcome: str) -> float:
        c = self.costs
        return {"accept": c.draw - c.verify, "adjust": c.draw - c.adjust, "reject": -c.verify}[outcome]

    def record(self, boxes: np.ndarray, scores, final: np.ndarray) -> None:
        """Remember what each suggested box ``[N, 4]`` with ``scores`` ``[N]`` would have gained on an image that
        ended with ``final`` ``[M, 4]``."""
        for i, (s, o) in enumerate(zip(scores, box_outcomes(boxes, final), strict=True)):
            self.scores[min(i, 1)].append(float(s))
            self.gains[min(i, 1)].append(self.gain(o))

    def threshold(self, rank: int = 0) -> float:
        """Show a box of this rank (0: an image's best, 1: any other) scoring at least this (module docstring)."""
        scores, gains = self.scores[min(rank, 1)], self.gains[min(rank, 1)]
        if len(scores) < self.min_history:
            return 0.0
        order = np.argsort(-np.asarray(scores), kind="stable")
        s = np.asarray(scores)[order]
        total = np.cumsum(np.asarray(gains)[order])
        # a cut may only fall between distinct scores: the last position of each score value
        last = np.r_[s[1:] != s[:-1], True]
        best = int(np.argmax(np.where(last, total, -np.inf)))
        return float(s[best]) if total[best] > 0 else math.inf

    def show(self, scores) -> np.ndarray:
        """Indices of the boxes (scores best first) worth showing now."""
        s = np.asarray(scores, dtype=np.float64)
        t = np.full(len(s), self.threshold(1))
        t[:1] = self.threshold(0)
        return np.flatnonzero(s >= t)
