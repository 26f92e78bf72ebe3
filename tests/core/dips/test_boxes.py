import numpy as np
import pytest

from core.dips.boxes import (
    binarize,
    box_area,
    box_iou,
    boxes_from_map,
    components_to_boxes,
    normalize_map,
    otsu_level,
    otsu_threshold,
)


def test_otsu_threshold_lies_between_the_modes_of_a_bimodal_map():
    rng = np.random.default_rng(0)
    m = np.full((40, 40), 0.2) + rng.normal(0, 0.03, (40, 40))
    m[10:25, 5:30] = 0.8 + rng.normal(0, 0.03, (15, 25))
    m = np.clip(m, 0, 1)
    t = otsu_threshold(m)
    assert 0.2 < t < 0.8          # between the modes (the gap is flat; Otsu picks its first level)
    fg = binarize(m, t)
    assert fg[10:25, 5:30].all() and fg.sum() == 15 * 25


def test_otsu_two_level_map_splits_between_levels_and_returns_map_units():
    # levels 51 (0.2) and 204 (0.8): every t in [51, 203] separates them equally; the first (51) wins
    m = np.array([[0.2, 0.2], [0.8, 0.8]])
    assert otsu_level(np.floor(255 * m).astype(np.uint8)) == 51
    assert otsu_threshold(m) == pytest.approx(51 / 255)
    assert binarize(m, otsu_threshold(m)).tolist() == [[False, False], [True, True]]


def test_otsu_level_matches_opencv_on_random_maps():
    import cv2
    rng = np.random.default_rng(1)
    for _ in range(50):
        lv = np.floor(255 * rng.random((30, 30)) ** rng.uniform(0.3, 3)).astype(np.uint8)
        t, _ = cv2.threshold(lv, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        assert otsu_level(lv) == min(max(int(t), 1), 254)


def test_otsu_is_clamped_to_1_254():
    binary = np.array([[0.0, 1.0], [0.0, 1.0]])   # unclamped Otsu would say t = 0
    assert otsu_threshold(binary) == pytest.approx(1 / 255)
    assert otsu_threshold(np.zeros((4, 4))) == pytest.approx(1 / 255)  # constant map: nothing is foreground
    assert not binarize(np.zeros((4, 4)), otsu_threshold(np.zeros((4, 4)))).any()


def test_normalize_map_minmax_constant_and_nan():
    assert normalize_map(np.array([2.0, 4.0, 6.0])).tolist() == [0.0, 0.5, 1.0]
    assert normalize_map(np.full((3, 3), 7.0)).tolist() == np.zeros((3, 3)).tolist()
    out = normalize_map(np.array([np.nan, 1.0, 3.0]))
    assert out.tolist() == [0.0, pytest.approx(1 / 3), 1.0]  # NaN -> 0 before the min is taken


def test_two_blobs_give_two_tight_boxes_with_exclusive_ends():
    mask = np.zeros((10, 12), bool)
    mask[1:4, 2:5] = True          # rows 1..3, cols 2..4
    mask[6:9, 7:12] = True         # rows 6..8, cols 7..11
    assert sorted(components_to_boxes(mask)) == [(2.0, 1.0, 5.0, 4.0), (7.0, 6.0, 12.0, 9.0)]


def test_components_are_8_connected():
    mask = np.zeros((5, 5), bool)
    mask[1, 1] = mask[2, 2] = mask[3, 3] = True   # a diagonal is one component
    assert components_to_boxes(mask) == [(1.0, 1.0, 4.0, 4.0)]
    assert components_to_boxes(np.zeros((3, 3), bool)) == []


def test_box_iou_hand_values():
    a = np.array([[0, 0, 2, 2], [0, 0, 1, 1]], float)
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6]], float)
    iou = box_iou(a, b)
    assert iou.shape == (2, 3)
    assert iou[0].tolist() == pytest.approx([1 / 7, 1.0, 0.0])
    assert iou[1].tolist() == pytest.approx([0.0, 0.25, 0.0])
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 3)


def test_one_toolkit_two_conventions_by_hand():
    # inclusive (metric): (0,0,9,9) and (5,5,14,14) are 10x10 px each, overlap 5x5 = 25, union 175
    a, b = np.array([[0, 0, 9, 9]]), np.array([[5, 5, 14, 14]])
    assert box_iou(a, b, inclusive=True)[0, 0] == pytest.approx(25 / 175)
    # the same numbers in the continuous convention: 9x9 each, overlap 4x4 = 16, union 146
    assert box_iou(np.array([[0, 0, 9, 9]]), np.array([[5, 5, 14, 14]]))[0, 0] == pytest.approx(16 / 146)
    assert box_area(np.array([[3, 3, 3, 3]]), inclusive=True).tolist() == [1.0]   # one pixel
    assert box_area(np.array([[3, 3, 3, 3]])).tolist() == [0.0]                   # empty
    # a degenerate pair (union not positive) scores 0, as in the reference
    assert box_iou(np.array([[3, 3, 3, 3]]), np.array([[3, 3, 3, 3]]))[0, 0] == 0.0


def test_normalize_map_reference_mode_blanks_a_map_holding_nan():
    assert not normalize_map(np.array([np.nan, 1.0, 3.0]), nan_blanks=True).any()


def test_boxes_from_map_threshold_min_area_and_order():
    m = np.zeros((20, 20))
    m[2:4, 2:4] = 0.9     # 2x2 = 4 px
    m[10:16, 8:18] = 0.6  # 6x10 = 60 px
    out = boxes_from_map(m, threshold=0.5)
    assert out.tolist() == [[8, 10, 18, 16], [2, 2, 4, 4]]   # largest first
    assert boxes_from_map(m, threshold=0.5, min_area_px=5).tolist() == [[8, 10, 18, 16]]
    assert boxes_from_map(m, threshold=0.7).tolist() == [[2, 2, 4, 4]]
    assert len(boxes_from_map(m)) == 2   # Otsu
    with pytest.raises(ValueError, match=r"map must be 2-D, got shape \(5,\)"):
        boxes_from_map(np.zeros(5))
