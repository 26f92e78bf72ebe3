"""The suggestion gate shows boxes only where boxes scored like them have paid on this project."""
from __future__ import annotations

import math

import numpy as np

from core.dips.suggest import ReviewCosts, SuggestionGate, box_outcomes

OBJ = np.array([[10.0, 10.0, 30.0, 30.0]])


def test_outcomes_match_each_final_box_once():
    boxes = np.array([[10, 10, 30, 30], [10, 10, 30, 30], [12, 12, 34, 34], [60, 60, 70, 70]], float)
    assert box_outcomes(boxes, OBJ) == ["accept", "reject", "reject", "reject"]
    # IoU of [12, 12, 34, 34] with the object: 18^2 / (400 + 484 - 324) = 0.579 -> adjust
    assert box_outcomes(boxes[2:3], OBJ) == ["adjust"]
    assert box_outcomes(boxes, np.zeros((0, 4))) == ["reject"] * 4


def test_gate_opens_above_the_score_where_boxes_paid():
    g = SuggestionGate(ReviewCosts(verify=1.6, draw=7.0, adjust=5.1), min_history=4)
    right, wrong = OBJ, np.array([[60.0, 60.0, 70.0, 70.0]])
    assert g.threshold() == 0.0                                     # too little history: show everything
    for s in (0.9, 0.8, 0.7):
        g.record(right, [s], OBJ)                                   # + 5.4 s each
    for s in (0.4, 0.3, 0.2):
        g.record(wrong, [s], OBJ)                                   # - 1.6 s each
    assert g.threshold() == 0.7
    assert list(g.show([0.95])) == [0] and list(g.show([0.5])) == []


def test_gate_closes_when_no_score_pays_and_reopens_when_boxes_improve():
    g = SuggestionGate(min_history=2)
    for s in (0.9, 0.5):
        g.record(np.array([[60.0, 60.0, 70.0, 70.0]]), [s], OBJ)
    assert g.threshold() == math.inf and len(g.show([0.99])) == 0
    for _ in range(2):   # hidden boxes are still judged against what the image ended with
        g.record(OBJ, [0.95], OBJ)
    assert g.threshold() == 0.95


def test_second_boxes_are_judged_apart_from_the_best_one():
    """One object per image: the best box pays, a high-scored duplicate beside it never does."""
    g = SuggestionGate(min_history=2)
    boxes = np.vstack([OBJ, [[12.0, 40.0, 30.0, 60.0]]])
    for _ in range(3):
        g.record(boxes, [0.9, 0.85], OBJ)
    assert g.threshold(0) == 0.9 and g.threshold(1) == math.inf
    assert list(g.show([0.95, 0.9])) == [0]
