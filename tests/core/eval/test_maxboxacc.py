"""MaxBoxAcc / V2 / V1 and Top-1 / Top-5 loc on a 3-image toy computed by hand."""
import numpy as np
import pytest

from core.eval.maxboxacc import EvalConfig, class_correct, compute_curves, max_box_acc
from tests.core.eval.toy import GT_A, GT_B, GT_C, MAP_A, MAP_B, MAP_C, blob

MAPS, GTS = [MAP_A, MAP_B, MAP_C], [GT_A, GT_B, GT_C]


def test_single_blob_against_its_own_box_scores_100_everywhere():
    r = max_box_acc([MAP_A], [GT_A])
    assert r["MaxBoxAcc"] == {30: 100.0, 50: 100.0, 70: 100.0}
    assert r["MaxBoxAccV2"] == 100.0 and r["MaxBoxAccV1"] == 100.0
    assert r["best_thresholds"] == {30: 0.0, 50: 0.0, 70: 0.0}


def test_three_image_toy_curve_and_best_threshold():
    c = compute_curves(MAPS, GTS)
    taus = c.thresholds
    # tau < 0.5: only A localised (1/3); tau >= 0.5: A and C (2/3); B (IoU 0.01) never.
    for d in (30, 50, 70):
        acc = c.box_acc(d)
        assert np.allclose(acc[taus < 0.495], 100 / 3)
        assert np.allclose(acc[taus >= 0.495], 200 / 3)
        assert c.max_box_acc(d) == pytest.approx(200 / 3)
        assert c.best_threshold(d) == pytest.approx(0.5)
    assert c.max_box_acc_v2() == pytest.approx(200 / 3)
    assert c.n_images == 3


def test_v1_and_v2_differ_when_the_gt_is_the_smaller_object():
    m = blob([(0, 10, 0, 10), (20, 24, 20, 24)])
    r = max_box_acc([m], [np.array([[20, 20, 24, 24]])])
    assert r["MaxBoxAccV2"] == 100.0
    assert r["MaxBoxAccV1"] == 0.0


def test_top1_top5_loc_on_three_images():
    probs = np.array([
        [0.9, 0.02, 0.02, 0.02, 0.02, 0.02],   # A: label 0 is top-1
        [0.0, 0.0, 0.0, 1.0, 0.0, 0.0],        # B: label 3 right, but not localised
        [0.1, 0.5, 0.3, 0.04, 0.03, 0.03],     # C: label 2 is 2nd -> top-5 only
    ])
    labels = np.array([0, 3, 2])
    c = compute_curves(MAPS, GTS, class_probs=probs, labels=labels)
    assert c.top_k_loc(1) == pytest.approx(100 / 3)   # A
    assert c.top_k_loc(5) == pytest.approx(200 / 3)   # A, C


def test_class_correct_top_k():
    p = np.array([[0.3, 0.25, 0.2, 0.1, 0.08, 0.07], [0.3, 0.25, 0.2, 0.1, 0.08, 0.07]])
    assert class_correct(p, np.array([5, 4]), 5).tolist() == [False, True]
    assert class_correct(p, np.array([0, 1]), 1).tolist() == [True, False]
    # with fewer than 5 classes every label is in the top 5
    assert class_correct(np.array([[0.9, 0.1]]), np.array([1]), 5).tolist() == [True]
    with pytest.raises(ValueError):
        class_correct(p, np.array([0, 9]), 1)


def test_gt_boxes_in_image_pixels_are_scaled_to_the_224_grid():
    m = np.zeros((224, 224), np.float32)
    m[16:32, 8:40] = 1.0                                  # box (8, 16, 40, 32) on the grid
    gt_image = np.array([[16, 32, 80, 64]])               # same box in a 448x448 image
    r = max_box_acc([m], [gt_image], image_sizes=[(448, 448)])
    assert r["MaxBoxAccV2"] == 100.0


def test_original_size_evaluation_keeps_gt_in_image_pixels():
    m = np.zeros((32, 64), np.float32)                    # a map already at the 64x32 image size
    m[8:16, 40:60] = 1.0                                  # box (40, 8, 60, 16)
    gt = [np.array([[40, 8, 60, 16]])]
    assert max_box_acc([m], gt, [(64, 32)], EvalConfig(eval_size=None))["MaxBoxAccV2"] == 100.0
    # at 224x224 the GT is scaled by (3.5, 7) with truncation but the map is stretched the same way
    assert max_box_acc([m], gt, [(64, 32)], EvalConfig(eval_size=224))["MaxBoxAcc"][30] == 100.0


def test_config_and_input_errors_are_clear():
    with pytest.raises(ValueError, match="loc_delta"):
        EvalConfig(iou_thresholds=(30, 70))
    with pytest.raises(ValueError, match="image 1 has no ground-truth box"):
        compute_curves([MAP_A, MAP_B], [GT_A, np.zeros((0, 4))])
    with pytest.raises(ValueError, match="2 maps but 1"):
        compute_curves([MAP_A, MAP_B], [GT_A])
    with pytest.raises(ValueError, match="both or neither"):
        compute_curves([MAP_A], [GT_A], class_probs=np.ones((1, 3)))
