"""One click, one box: the box the click tool returns on hand-made images and maps."""
import numpy as np
import pytest

from core.dips.click_box import (
    ClickBoxChooser,
    ClickBoxConfig,
    click_box,
    click_candidates,
    prior_size,
    square_at,
)


def _blank(h=40, w=40):
    return np.full((h, w, 3), 128, np.uint8)


def _map_with_block(value=0.9):
    # a 20x20 map stretched over a 40x40 image: one map pixel is 2x2 image pixels
    fg = np.zeros((20, 20), np.float32)
    fg[4:8, 2:6] = value          # map rows 4-7, columns 2-5 -> image x 4..12, y 8..16
    return fg


def test_the_map_region_under_the_click_is_the_box():
    box = click_box(_blank(), (6, 10), _map_with_block(), 0.5, (8, 8), ClickBoxConfig(method="region"))
    assert box.tolist() == [4.0, 8.0, 12.0, 16.0]


def test_a_click_just_beside_the_region_takes_it_and_one_far_away_gets_the_typical_square():
    cfg = ClickBoxConfig(method="region")
    # 2 image px right of the region's edge; near = 0.5 x 8 px = 4 image px
    assert click_box(_blank(), (14, 12), _map_with_block(), 0.5, (8, 8), cfg).tolist() == [4.0, 8.0, 12.0, 16.0]
    # far from any region: a box of the typical size centred on the click
    assert click_box(_blank(), (30, 30), _map_with_block(), 0.5, (8, 6), cfg).tolist() == [26.0, 27.0, 34.0, 33.0]


def test_lower_thresholds_are_tried_when_the_operating_one_keeps_nothing():
    fg = _map_with_block(0.5)
    cfg = ClickBoxConfig(method="region", threshold_steps=(1.0, 0.75, 0.5))
    # 0.8 and 0.6 keep nothing; 0.4 keeps the block
    assert click_box(_blank(), (6, 10), fg, 0.8, (8, 8), cfg).tolist() == [4.0, 8.0, 12.0, 16.0]
    # without the lower steps: the square
    only = ClickBoxConfig(method="region", threshold_steps=(1.0,))
    assert click_box(_blank(), (6, 10), fg, 0.8, (4, 4), only).tolist() == [4.0, 8.0, 8.0, 12.0]


def test_a_region_far_larger_than_the_typical_object_is_not_trusted():
    # the region is 8 x 8 image px; typical 3 x 3: more than 2x -> several objects merged, the square instead
    box = click_box(_blank(), (6, 10), _map_with_block(), 0.5, (3, 3), ClickBoxConfig(method="region"))
    assert box.tolist() == [4.5, 8.5, 7.5, 11.5]


def test_the_square_is_centred_on_the_click_and_kept_inside_the_image():
    assert square_at((5, 5), (4, 6), (40, 40)).tolist() == [3.0, 2.0, 7.0, 8.0]
    assert square_at((1, 1), (4, 6), (40, 40)).tolist() == [0.0, 0.0, 4.0, 6.0]
    assert square_at((39, 39), (4, 6), (40, 40)).tolist() == [36.0, 34.0, 40.0, 40.0]


def test_grabcut_finds_the_edges_of_an_object_that_stands_out_in_colour():
    rng = np.random.default_rng(0)
    img = rng.integers(100, 140, (64, 64, 3)).astype(np.uint8)   # grey noise
    img[12:22, 10:20] = (200, 30, 30)                              # a red 10 x 10 object: x 10..20, y 12..22
    box = click_box(img, (15, 17), None, 0.5, (10, 10), ClickBoxConfig(method="grabcut"))
    assert box.tolist() == [10.0, 12.0, 20.0, 22.0]


def test_every_method_at_once_and_the_typical_size_from_the_curated_boxes():
    curated = np.array([[0, 0, 10, 5], [0, 0, 20, 6], [5, 5, 35, 12]], float)   # widths 10, 20, 30; heights 5, 6, 7
    assert prior_size(curated, (100, 80)) == (20.0, 6.0)
    # fewer than min_curated: the image's suggested boxes, else a fifth of the shorter side
    assert prior_size(curated[:2], (100, 80), np.array([[0, 0, 8, 4]], float)) == (8.0, 4.0)
    assert prior_size(curated[:2], (100, 80)) == (16.0, 16.0)
    boxes = click_candidates(_blank(), (6, 10), _map_with_block(), 0.5, (8, 8))
    assert set(boxes) == {"region", "grabcut", "square"}
    assert boxes["region"].tolist() == [4.0, 8.0, 12.0, 16.0]
    assert boxes["square"].tolist() == [2.0, 6.0, 10.0, 14.0]


def test_the_chooser_picks_the_method_whose_boxes_the_inspector_kept():
    chooser = ClickBoxChooser(methods=("grabcut", "square"), default="grabcut", min_records=2)
    final = np.array([10, 10, 20, 20], float)
    right, wrong = final.copy(), np.array([30, 30, 35, 35], float)
    chooser.record({"grabcut": wrong, "square": right}, final)
    assert chooser.choose() == "grabcut"          # one record: still the default
    chooser.record({"grabcut": wrong, "square": right}, final)
    assert chooser.choose() == "square"
    # costs: kept = a verification (1.6 s), missed = verification + drawing (8.6 s)
    assert chooser.spent == {"grabcut": pytest.approx(17.2), "square": pytest.approx(3.2)}


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ValueError, match="outside the 40x40 image"):
        click_box(_blank(), (41, 3))
    with pytest.raises(ValueError, match=r"\[H, W, 3\] uint8"):
        click_box(np.zeros((40, 40), np.uint8), (3, 3))
    with pytest.raises(ValueError, match="unknown click-box method"):
        click_box(_blank(), (3, 3), cfg=ClickBoxConfig(method="sam"))
    with pytest.raises(ValueError, match="2-D"):
        click_box(_blank(), (3, 3), np.zeros((2, 2, 2)), cfg=ClickBoxConfig(method="region"))
