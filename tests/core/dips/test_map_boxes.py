"""Boxes drawn from a foreground map: what an inspector is shown."""
import cv2
import numpy as np
import pytest

from core.dips.map_boxes import BoxDrawConfig, draw_boxes, grabcut_box, merge_fragments, suppress_covered


def test_two_fragments_of_one_object_become_one_box():
    # two 4x6 fragments with a 2-px gap: the smaller side is sqrt(24) ~ 4.9 px, so gap 0.5 merges them
    merged = merge_fragments(np.array([[10, 10, 14, 16], [16, 10, 20, 16]], float), gap=0.5)
    assert merged.tolist() == [[10.0, 10.0, 20.0, 16.0]]
    # objects 20 px apart stay two boxes
    apart = merge_fragments(np.array([[0, 0, 4, 6], [24, 0, 28, 6]], float), gap=0.5)
    assert len(apart) == 2


def test_a_box_inside_a_better_one_is_suppressed():
    boxes = np.array([[0, 0, 10, 10], [2, 2, 6, 6], [20, 20, 30, 30]], float)
    assert suppress_covered(boxes, 0.8).tolist() == [0, 2]


def test_map_with_fragments_and_a_speck_gives_one_box_first():
    fg = np.zeros((40, 40), np.float32)
    fg[10:20, 5:12] = 0.8       # fragment 1: 7x10
    fg[10:20, 14:22] = 0.8      # fragment 2: 8x10, 2 px to the right
    fg[30:32, 30:32] = 0.99     # a 2x2 speck, very confident
    plain = draw_boxes(fg, 0.5, BoxDrawConfig(min_frac=0.0, min_rel_area=0.0, score="mean"))
    assert plain[0][:4] == (30.0, 30.0, 32.0, 32.0)       # the mean score ranks the speck first
    cfg = BoxDrawConfig(min_frac=0.0, min_rel_area=0.1, merge_gap=0.5, score="mass")
    boxes = draw_boxes(fg, 0.5, cfg)
    assert [b[:4] for b in boxes] == [(5.0, 10.0, 22.0, 20.0)]   # speck dropped (4 px < 10 % of 80 px)
    assert boxes[0][4] == pytest.approx(0.8 * 150 / 170)      # mean over the merged box, its own mass is the max


def test_grabcut_keeps_a_box_on_the_object_it_was_seeded_on():
    rgb = np.full((48, 48, 3), 40, np.uint8)
    rgb[12:30, 14:34] = (200, 180, 60)                        # the object: 20x18
    fg = np.zeros((48, 48), np.float32)
    fg[8:34, 10:38] = 0.9                                     # the map's region is loose (28x26)
    (x0, y0, x1, y1, _), = draw_boxes(fg, 0.5, BoxDrawConfig(min_frac=0.0, grabcut=True), rgb=rgb)
    assert (x0, y0, x1, y1) == (14.0, 12.0, 34.0, 30.0)


def test_grabcut_gives_the_same_box_whatever_opencv_drew_before():
    rng = np.random.default_rng(0)
    rgb = cv2.GaussianBlur(rng.integers(0, 256, (80, 80, 3), dtype=np.uint8), (0, 0), 2.0)
    fg = cv2.GaussianBlur(rng.random((80, 80)).astype(np.float32), (0, 0), 6)
    fg = (fg - fg.min()) / (fg.max() - fg.min())
    boxes = set()
    for seed in (1, 8, 15):
        cv2.setRNGSeed(seed)                                  # another caller used OpenCV's generator
        boxes.add(tuple(float(v) for v in grabcut_box(rgb, fg, np.array([20.0, 20.0, 60.0, 60.0]), 0.5)))
    assert len(boxes) == 1


def test_by_default_a_speck_is_not_shown_and_the_larger_region_comes_first():
    # computed by hand: region A 10x7 = 70 px at 0.7; fragment B 9x3 = 27 px at 0.9 (>= 25 % of A: kept);
    # speck 2x2 = 4 px at 0.99 (< 25 % of A: dropped). Scores: A 0.7 * sqrt(49 / 49) = 0.7 (mass 70 * 0.7 = 49),
    # B 0.9 * sqrt(24.3 / 49) = 0.634; by mean probability B and the speck would have come first.
    fg = np.zeros((40, 40), np.float32)
    fg[5:12, 5:15] = 0.7
    fg[20:23, 20:29] = 0.9
    fg[35:37, 35:37] = 0.99
    boxes = draw_boxes(fg, 0.5)
    assert [b[:4] for b in boxes] == [(5.0, 5.0, 15.0, 12.0), (20.0, 20.0, 29.0, 23.0)]
    assert boxes[0][4] == pytest.approx(0.7) and boxes[1][4] == pytest.approx(0.9 * np.sqrt(24.3 / 49))


def _two_touching_blobs() -> np.ndarray:
    yy, xx = np.mgrid[:60, :100]
    blob = lambda cx: np.exp(-((xx - cx) ** 2 + (yy - 30) ** 2) / 200.0)  # noqa: E731
    return np.maximum(blob(30), blob(58)).astype(np.float32)


def test_touching_objects_get_one_box_each_when_asked():
    fg = _two_touching_blobs()
    one = draw_boxes(fg, 0.3, BoxDrawConfig())
    assert len(one) == 1 and one[0][0] < 20 and one[0][2] > 70           # both crowns in one box
    two = sorted(draw_boxes(fg, 0.3, BoxDrawConfig(split_touching=0.1)))
    assert len(two) == 2
    assert two[0][2] <= 46 and two[1][0] >= 43                           # split at the valley (x = 44)
    assert two[0][0] == one[0][0] and two[1][2] == one[0][2]
    # peaks closer than the minimum distance (0.6 x 60 px) are one object
    assert len(draw_boxes(fg, 0.3, BoxDrawConfig(split_touching=0.6))) == 1
