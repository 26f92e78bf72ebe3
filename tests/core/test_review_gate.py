"""The window's suggestion gate is rebuilt from the review stored in the project: thresholds computed by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from core.dips.suggest import ReviewCosts, SuggestionGate, box_outcomes, pair_iou
from core.review_gate import Lesson, ReviewGate, judge, lesson, replay

# default review costs (core/dips/suggest.py ReviewCosts): kept + 7.0 - 1.6 = 5.4 s, adjusted + 7.0 - 5.1 = 1.9 s,
# rejected - 1.6 s
KEPT, ADJUSTED, REJECTED = 5.4, 1.9, -1.6
FG = np.zeros((4, 4), np.float32)


def _predict(project, boxes_by_image: dict[int, list]) -> int:
    run = project.maps.new_prediction_run(None, {})
    for image_id, boxes in boxes_by_image.items():
        project.maps.save_prediction(run, image_id, [1.0], FG, boxes)
    return run


def _ids(project, image_id: int) -> list[int]:
    return [b.id for b in project.maps.prediction(image_id).boxes]


@pytest.fixture
def reviewed(project):
    """Three images, two boxes predicted on each, reviewed as an inspector would:

    a (finished): best box 0.9 accepted as is; the second (0.3) left pending, lying on nothing -> rejection;
    b (finished): best box 0.6 left pending, the inspector drew the object at IoU 0.58 with it -> adjusted;
                  the second (0.5) rejected;
    c (not finished): best box 0.4 rejected; the second (0.2) pending -> not judged yet.
    """
    a, b, c = (r.id for r in project.images.list()[:3])
    _predict(project, {a: [(10, 10, 30, 30, 0.9), (40, 40, 50, 50, 0.3)],
                       b: [(12, 12, 34, 34, 0.6), (0, 0, 5, 5, 0.5)],
                       c: [(10, 10, 30, 30, 0.4), (40, 40, 50, 50, 0.2)]})
    project.predicted.accept(_ids(project, a)[0], None)
    project.boxes.add(b, (10, 10, 30, 30), None)     # IoU with (12, 12, 34, 34): 324 / 560 = 0.579
    project.predicted.set_status(_ids(project, b)[1], "rejected")
    project.predicted.set_status(_ids(project, c)[0], "rejected")
    for img in (a, b):
        project.images.set_review(img, "verified")
    return project, (a, b, c)


def test_replay_judges_every_box_of_finished_images_and_decided_boxes_of_the_others(reviewed):
    project, (a, b, c) = reviewed
    gate = replay(project, min_history=2)
    assert set(gate.lessons) == {a, b, c}
    assert Lesson(*gate.lessons[a]).gains == pytest.approx([KEPT, REJECTED])
    assert Lesson(*gate.lessons[b]).gains == pytest.approx([ADJUSTED, REJECTED])
    assert Lesson(*gate.lessons[c]).gains == pytest.approx([REJECTED]) and Lesson(*gate.lessons[c]).ranks == (0,)
    # best boxes by score: 0.9 (+5.4), 0.6 (+1.9), 0.4 (-1.6); running totals 5.4, 7.3, 5.7 -> show from 0.6
    assert gate.threshold(0) == pytest.approx(0.6)
    # other boxes: 0.5 (-1.6), 0.3 (-1.6): no cut gains anything -> none shown
    assert gate.threshold(1) == math.inf
    assert gate.hidden([0.7, 0.65]) == [1] and gate.hidden([0.55]) == [0]
    assert gate.judged(0) == 3 and gate.judged(1) == 2


def test_too_little_history_shows_everything(reviewed):
    project, _ = reviewed
    gate = replay(project, min_history=4)        # 3 best boxes and 2 others judged: fewer than 4 each
    assert gate.threshold(0) == 0.0 and gate.threshold(1) == 0.0 and gate.hidden([0.01, 0.01]) == []


def test_finishing_an_image_updates_the_gate_as_a_replay_would(reviewed):
    project, (a, b, c) = reviewed
    gate = replay(project, min_history=2)
    project.boxes.add(c, (41, 40, 50, 50), None)   # c's second box was right: IoU 0.9 -> kept
    project.images.set_review(c, "verified")
    gate.set_lesson(c, lesson(project, c))
    assert Lesson(*gate.lessons[c]).gains == pytest.approx([REJECTED, KEPT])
    # other boxes now: 0.5 (-1.6), 0.3 (-1.6), 0.2 (+5.4): totals -1.6, -3.2, 2.2 -> show from 0.2
    assert gate.threshold(1) == pytest.approx(0.2)
    again = replay(project, min_history=2)          # the project reopened: the same gate
    assert again.threshold(0) == gate.threshold(0) and again.threshold(1) == gate.threshold(1)
    assert again.lessons == gate.lessons


def test_an_image_is_judged_on_the_prediction_the_inspector_saw(project):
    """Retraining on the curated boxes predicts them again: that must not reopen the gate."""
    img = project.images.list()[0].id
    _predict(project, {img: [(40, 40, 50, 50, 0.8)]})           # what the inspector saw: wrong
    project.boxes.add(img, (10, 10, 30, 30), None)
    project.images.set_review(img, "verified")
    _predict(project, {img: [(10, 10, 30, 30, 0.95)]})          # after retraining: the drawn box found again
    assert lesson(project, img).gains == pytest.approx([REJECTED])
    assert lesson(project, img).scores == pytest.approx([0.8])


def test_an_image_without_curated_boxes_is_judged_on_its_newest_prediction(project):
    img = project.images.list()[0].id
    _predict(project, {img: [(40, 40, 50, 50, 0.8)]})
    _predict(project, {img: [(0, 0, 5, 5, 0.7), (20, 20, 25, 25, 0.1)]})
    project.images.set_review(img, "verified")                # nothing on it: every box is a rejection
    les = lesson(project, img)
    assert les.scores == pytest.approx([0.7, 0.1]) and les.ranks == (0, 1)
    assert les.gains == pytest.approx([REJECTED, REJECTED])


def test_unreviewed_images_without_decisions_teach_nothing(project):
    img = project.images.list()[0].id
    _predict(project, {img: [(10, 10, 30, 30, 0.8)]})
    project.boxes.add(img, (10, 10, 30, 30), None)
    assert lesson(project, img) is None and replay(project).lessons == {}


def test_judge_lets_a_rejected_box_leave_its_object_to_the_next_box():
    obj = np.array([[10.0, 10.0, 30.0, 30.0]])
    les = judge([[10, 10, 30, 30], [11, 10, 30, 30]], [0.9, 0.8], ["rejected", "pending"], obj, True)
    assert les.gains == pytest.approx([REJECTED, KEPT])


def test_the_gates_iou_is_the_box_toolkits():
    from core.dips.boxes import box_iou
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 40, (20, 4))
    a[:, 2:] = a[:, :2] + rng.uniform(0, 20, (20, 2))
    b = np.vstack([a[::-1] + rng.normal(0, 3, (20, 4)), [[5, 5, 5, 9]]])   # and a box of no area
    assert np.allclose([[pair_iou(x, y) for y in b] for x in a], box_iou(a, b))


def test_outcomes_are_the_same_for_lists_and_arrays():
    rng = np.random.default_rng(3)
    for _ in range(200):
        boxes = rng.integers(0, 12, (rng.integers(0, 6), 4)).astype(float)
        boxes[:, 2:] += boxes[:, :2]
        final = rng.integers(0, 12, (rng.integers(0, 4), 4)).astype(float)
        final[:, 2:] += final[:, :2]
        # the window passes lists read from the database, the replay bench arrays: the same outcomes
        assert box_outcomes(boxes.tolist(), final.tolist()) == box_outcomes(boxes, final)


def test_relearning_images_gives_the_thresholds_of_a_gate_fed_from_scratch():
    """ReviewGate keeps its history sorted and swaps one image's lesson in place: the thresholds must stay those
    of core/dips/suggest.py's SuggestionGate fed every box of the current lessons (ties of score included)."""
    rng = np.random.default_rng(7)
    costs = ReviewCosts()
    gains = (costs.draw - costs.verify, costs.draw - costs.adjust, -costs.verify)

    def random_lesson() -> Lesson:
        n = int(rng.integers(1, 7))
        scores = sorted(np.round(rng.uniform(0, 1, n), 1).tolist(), reverse=True)   # rounded: many ties
        return Lesson(tuple(min(i, 1) for i in range(n)), tuple(scores),
                      tuple(float(gains[int(k)]) for k in rng.choice(3, n, p=[0.3, 0.1, 0.6])))
    gate = ReviewGate(costs, min_history=5, lessons={i: random_lesson() for i in range(10)})   # built at once
    for step in range(120):   # then image by image, as the window relearns them
        gate.set_lesson(int(rng.integers(0, 30)), random_lesson() if step % 7 else None)
        ref = SuggestionGate(costs, min_history=5)
        for ranks, scores, gains_ in gate.lessons.values():
            for r, s, g in zip(ranks, scores, gains_, strict=True):
                ref.scores[r].append(s)
                ref.gains[r].append(g)
        assert (gate.threshold(0), gate.threshold(1)) == (ref.threshold(0), ref.threshold(1))
        assert gate.judged(1) == len(ref.scores[1])


def test_an_image_relearnt_again_and_again_counts_once():
    """Each F / B relearns the image shown: its boxes replace what it taught before, never add to it."""
    gate = ReviewGate(min_history=3)
    wrong = Lesson((0, 1, 1, 1), (0.8, 0.5, 0.4, 0.3), (REJECTED,) * 4)
    for _ in range(3):
        gate.set_lesson(1, wrong)
    assert gate.judged(0) == 1 and gate.judged(1) == 3 and gate.threshold(1) == math.inf
    right = Lesson((0, 1, 1, 1), (0.8, 0.5, 0.4, 0.3), (REJECTED, KEPT, KEPT, REJECTED))
    gate.set_lesson(2, right)
    gate.set_lesson(2, right)
    # second boxes: 0.5 (-1.6, +5.4), 0.4 (-1.6, +5.4), 0.3 (-1.6, -1.6): totals 3.8, 7.6, 4.4 -> from 0.4
    assert gate.judged(1) == 6 and gate.threshold(1) == pytest.approx(0.4)
    gate.set_lesson(1, None)
    assert gate.judged(1) == 3 and gate.threshold(1) == pytest.approx(0.4)
