"""TS-CAM error categories on toy boxes (inclusive pixel areas, computed by hand)."""
import numpy as np
import pytest

from core.eval.loc_errors import classify_error, localization_errors

B = lambda *b: np.array([b], dtype=float)  # noqa: E731


def test_part_error_box_inside_the_object():
    # GT 100x100 px, prediction 30x30 px inside: IoU 0.09, IoP = 1 > 0.5
    assert classify_error(B(10, 10, 39, 39), B(0, 0, 99, 99)) == "LPE"


def test_more_error_box_much_larger_than_the_object():
    # GT 20x20 = 400 px inside a 60x60 = 3600 px box: IoU 0.11, IoP 0.11, IoA = 1 > 0.7
    assert classify_error(B(0, 0, 59, 59), B(10, 10, 29, 29)) == "LME"


def test_multi_instance_one_box_over_two_objects():
    # two 20x20 GTs side by side, one 60x20 box over both: IoU 1/3 each, IoG = 1 on both
    gt = np.array([[0, 0, 19, 19], [40, 0, 59, 19]], float)
    assert classify_error(B(0, 0, 59, 19), gt) == "MIns"


def test_correct_others_and_classification():
    assert classify_error(B(0, 0, 9, 9), B(0, 0, 9, 9)) == "Correct"
    assert classify_error(B(50, 50, 59, 59), B(0, 0, 9, 9)) == "Others"
    assert classify_error(B(0, 0, 9, 9), B(0, 0, 9, 9), class_ok=False) == "Cls"


def test_ratios_are_strictly_greater():
    # prediction 10x10 px, half of it on the GT: IoP = 0.5 exactly -> not a part error
    assert classify_error(B(0, 0, 9, 9), B(5, 0, 24, 9)) == "Others"


def test_percentages_over_all_images():
    preds = [B(10, 10, 39, 39), B(0, 0, 59, 59), B(0, 0, 59, 19), B(0, 0, 9, 9), B(50, 50, 59, 59)]
    gts = [B(0, 0, 99, 99), B(10, 10, 29, 29), np.array([[0, 0, 19, 19], [40, 0, 59, 19]], float),
           B(0, 0, 9, 9), B(0, 0, 9, 9)]
    r = localization_errors(preds, gts)
    assert r == {"Correct": 20.0, "Cls": 0.0, "MIns": 20.0, "LPE": 20.0, "LME": 20.0, "Others": 20.0}
    r = localization_errors(preds, gts, class_ok=np.array([True, True, True, False, True]))
    assert r["Cls"] == 20.0 and r["Correct"] == 0.0
    with pytest.raises(ValueError, match="image 0 has no ground-truth box"):
        localization_errors([B(0, 0, 1, 1)], [np.zeros((0, 4))])
