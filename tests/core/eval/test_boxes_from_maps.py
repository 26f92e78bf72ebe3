"""Map -> boxes -> IoU under the wsolevaluation conventions, on hand-made maps."""
import numpy as np
import pytest

from core.dips.boxes import box_iou as _box_iou
from core.dips.boxes import normalize_map as _normalize_map
from core.eval.boxes_from_maps import (
    binarise,
    boxes_from_binary,
    iou_over_thresholds,
    map_to_boxes,
    prepare_map,
    resize_boxes,
    threshold_grid,
)


def box_iou(a, b):
    return _box_iou(a, b, inclusive=True)


def normalize_map(m):
    return _normalize_map(m, nan_blanks=True)


def blob_map(shape=(32, 32), *rects, value=1.0):
    """Zeros with rectangles (y0, y1, x0, x1), inclusive-exclusive slices, set to value."""
    m = np.zeros(shape, np.float32)
    for y0, y1, x0, x1 in rects:
        m[y0:y1, x0:x1] = value
    return m


def test_inclusive_iou_two_boxes_by_hand():
    # (0,0,9,9) and (5,5,14,14): 10x10 px each, overlap 5x5 = 25 px, union 175 px.
    iou = box_iou(np.array([[0, 0, 9, 9]]), np.array([[5, 5, 14, 14]]))
    assert iou.shape == (1, 1)
    assert iou[0, 0] == pytest.approx(25 / 175)
    # identical single-pixel boxes overlap fully under the +1 convention
    assert box_iou(np.array([[3, 3, 3, 3]]), np.array([[3, 3, 3, 3]]))[0, 0] == 1.0
    # disjoint
    assert box_iou(np.array([[0, 0, 4, 4]]), np.array([[5, 5, 9, 9]]))[0, 0] == 0.0


def test_box_is_x_y_x_plus_w_y_plus_h_and_clipped_to_the_image():
    m = blob_map((32, 32), (8, 16, 4, 20))          # rows 8..15, cols 4..19
    assert map_to_boxes(normalize_map(m), 0.5).tolist() == [[4, 8, 20, 16]]
    edge = blob_map((32, 32), (24, 32, 24, 32))     # touches right and bottom border
    assert map_to_boxes(normalize_map(edge), 0.5).tolist() == [[24, 24, 31, 31]]


def test_constant_and_nan_maps_become_zeros_and_predict_box_0000():
    assert not normalize_map(np.full((5, 5), 3.0)).any()
    nan = np.ones((5, 5))
    nan[0, 0] = np.nan
    assert not normalize_map(nan).any()
    v2, v1 = boxes_from_binary(np.zeros((10, 10), bool))
    assert v2.tolist() == [[0, 0, 0, 0]] and v1.tolist() == [[0, 0, 0, 0]]
    # GT (0,0,9,9) is 100 px; the (0,0,0,0) box is 1 px inside it: IoU = 1/100 at every tau.
    ious = iou_over_thresholds(normalize_map(np.full((10, 10), 7.0)), np.array([[0, 0, 9, 9]]), threshold_grid())
    assert np.allclose(ious.v2, 0.01) and np.allclose(ious.v1, 0.01)


def test_empty_prediction_far_from_gt_scores_zero():
    ious = iou_over_thresholds(np.zeros((32, 32), np.float32), np.array([[10, 10, 19, 19]]), threshold_grid())
    assert not ious.v2.any()


def test_binarisation_convention_uint8_255_map_greater_than_int_tau_255():
    m = np.array([[0.0, 0.5, 0.502, 1.0]], np.float32)
    # 0.5 -> uint8 127, int(0.5 * 255) = 127: not strictly greater -> background
    assert binarise(m, 0.5).tolist() == [[False, False, True, True]]
    assert binarise(m, 0.0).tolist() == [[False, True, True, True]]
    # an un-normalised (probability) map keeps tau absolute: max 0.4 stays below 0.5
    assert not binarise(np.array([[0.0, 0.4]], np.float32), 0.5, normalised=False).any()


def test_v1_keeps_largest_contour_v2_keeps_all():
    m = blob_map((32, 32), (0, 10, 0, 10), (20, 24, 20, 24))   # big 10x10 and small 4x4 blob
    v2, v1 = boxes_from_binary(normalize_map(m) > 0.5)
    assert sorted(v2.tolist()) == [[0, 0, 10, 10], [20, 20, 24, 24]]
    assert v1.tolist() == [[0, 0, 10, 10]]
    # the GT is the small object: V2 matches it exactly, V1 misses it
    ious = iou_over_thresholds(normalize_map(m), np.array([[20, 20, 24, 24]]), threshold_grid())
    assert np.all(ious.v2 == 1.0) and np.all(ious.v1 == 0.0)


def test_several_gt_boxes_best_pair_counts():
    m = normalize_map(blob_map((32, 32), (8, 17, 4, 21)))           # box (4, 8, 21, 17): 18x10 px
    gts = np.array([[30, 30, 31, 31], [4, 8, 21, 12]])                # second: 18x5 px inside it
    ious = iou_over_thresholds(m, gts, threshold_grid())
    assert np.allclose(ious.v2, 90 / 180)


def test_nested_levels_change_the_box_with_tau():
    m = blob_map((32, 32), (0, 16, 0, 16), value=0.5)
    m[4:12, 4:12] = 1.0
    ious = iou_over_thresholds(normalize_map(m), np.array([[4, 4, 12, 12]]), threshold_grid())
    taus = threshold_grid()
    # tau < 0.5: outer box (0,0,16,16) = 289 px holding the 81-px GT; tau >= 0.5: inner box = GT
    assert np.allclose(ious.v2[taus < 0.495], 81 / 289)
    assert np.all(ious.v2[taus >= 0.495] == 1.0)


def test_gt_boxes_resize_by_truncation_like_the_reference():
    out = resize_boxes(np.array([[10, 20, 99.9, 150]]), (400, 300), (224, 224))
    assert out.tolist() == [[5, 14, 55, 112]]


def test_gt_box_on_the_border_scales_multiplication_first_like_the_reference():
    # 107 * (224 / 107) = 223.99999999999997 truncates to 223; the reference computes 107 * 224 / 107 = 224
    out = resize_boxes(np.array([[0, 0, 107, 107]]), (107, 107), (224, 224))
    assert out.tolist() == [[0, 0, 224, 224]]
    assert resize_boxes(np.array([[1.7, 2.2, 3.9, 4.0]]), (10, 10), (10, 10)).tolist() == [[1, 2, 3, 4]]


def test_prepare_map_resizes_to_width_height_and_rejects_bad_input():
    out = prepare_map(np.random.default_rng(0).random((14, 14)), (40, 30))
    assert out.shape == (30, 40) and out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == 1.0
    raw = prepare_map(np.full((4, 4), 1.7), None, normalise=False)
    assert raw.max() == 1.0          # probabilities are clipped, not normalised
    with pytest.raises(ValueError, match="2-D"):
        prepare_map(np.zeros((2, 3, 4)))


def test_threshold_grid_matches_arange():
    assert len(threshold_grid(0.01)) == 100 and len(threshold_grid(0.001)) == 1000
    assert threshold_grid(0.01)[50] == np.arange(0, 1, 0.01)[50]
    with pytest.raises(ValueError):
        threshold_grid(0)


def test_shared_contours_across_thresholds_match_a_plain_loop():
    # iou_over_thresholds traces each distinct mask once; a plain per-tau loop must agree exactly.
    rng = np.random.default_rng(3)
    taus = threshold_grid(0.01)
    for k in range(6):
        m = normalize_map(prepare_map(rng.random((6, 6)) ** (k + 1), (32, 32)))
        gt = np.array([[2, 3, 20, 25], [10, 0, 31, 8]])
        fast = iou_over_thresholds(m, gt, taus)
        plain_v2 = [box_iou(map_to_boxes(m, t, True), gt).max() for t in taus]
        plain_v1 = [box_iou(map_to_boxes(m, t, False), gt).max() for t in taus]
        assert np.array_equal(fast.v2, plain_v2) and np.array_equal(fast.v1, plain_v1)
