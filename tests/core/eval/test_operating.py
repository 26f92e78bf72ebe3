"""BoxAcc at a fixed operating threshold, proposal boxes as predictions, per-image IoU."""
import numpy as np
import pytest

from core.eval.operating import (
    OPERATING_NORMALISED,
    OPERATING_THRESHOLDS,
    box_acc_at_threshold,
    box_acc_for_boxes,
    operating_point,
    per_image_iou,
    per_image_iou_for_boxes,
)
from tests.core.eval.toy import GT_A, GT_C, MAP_A, MAP_C, blob

# D: blob box (0,0,10,10) = 121 px; GT (0,0,10,6) = 77 px inside it -> IoU 77/121 = 0.636
MAP_D, GT_D = blob([(0, 10, 0, 10)]), np.array([[0, 0, 10, 6]])
# E: GT is the outer square of the nested map -> at tau 0.5 only the inner box: IoU 81/289 = 0.280
GT_E = np.array([[0, 0, 16, 16]])


def test_operating_table():
    assert OPERATING_THRESHOLDS == {"attention": 0.5, "predicted": 0.5, "proposal": None}
    assert OPERATING_NORMALISED == {"attention": True, "predicted": False, "proposal": None}
    assert operating_point("predicted") == (0.5, False)
    with pytest.raises(ValueError, match="unknown map type"):
        operating_point("cam")


def test_per_image_iou_at_half():
    ious = per_image_iou([MAP_A, MAP_C, MAP_D], [GT_A, GT_E, GT_D], 0.5)
    assert ious == pytest.approx([1.0, 81 / 289, 77 / 121])


def test_box_acc_at_fixed_threshold_by_hand():
    r = box_acc_at_threshold([MAP_A, MAP_C, MAP_D], [GT_A, GT_E, GT_D], 0.5)
    # IoUs 1, 0.28, 0.64 -> delta 30: 2/3, 50: 2/3, 70: 1/3
    assert r[30] == pytest.approx(200 / 3) and r[50] == pytest.approx(200 / 3)
    assert r[70] == pytest.approx(100 / 3)
    assert r["mean"] == pytest.approx(500 / 9)
    # a lower fixed tau keeps the outer square of C: now GT_C (inner) is missed
    assert box_acc_at_threshold([MAP_C], [GT_C], 0.3)[30] == 0.0


def test_probability_maps_are_not_normalised_at_the_operating_point():
    prob = blob([(8, 16, 4, 20)], value=0.4)      # the head is only 40 % sure anywhere
    assert box_acc_at_threshold([prob], [GT_A], 0.5, normalise=True)["mean"] == 100.0
    assert box_acc_at_threshold([prob], [GT_A], 0.5, normalise=False)["mean"] == 0.0


def test_box_only_evaluation():
    r = box_acc_for_boxes([np.array([[0, 0, 10, 10]]), np.array([[4, 8, 20, 16]])], [GT_D, GT_A])
    assert r == {30: 100.0, 50: 100.0, 70: 50.0, "mean": pytest.approx(250 / 3)}
    # boxes in a 448x448 image go on the 224 grid like the GT: (0,0,20.5,20) -> (0,0,10,10)
    ious = per_image_iou_for_boxes([np.array([[0, 0, 20.5, 20]])], [np.array([[0, 0, 20, 12]])], [(448, 448)])
    assert ious == pytest.approx([77 / 121])
    # no proposal at all counts as the (0,0,0,0) box
    assert per_image_iou_for_boxes([np.zeros((0, 4))], [np.array([[0, 0, 9, 9]])]) == pytest.approx([0.01])
