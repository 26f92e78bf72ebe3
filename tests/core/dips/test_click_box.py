"""One click, one box: the box the click tool returns on hand-made images and maps."""
import numpy as np
import pytest

from core.dips.boxes import box_iou
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
    assert set(boxes) == {"region", "grabcut", "square", "contrast"}
    assert boxes["region"].tolist() == [4.0, 8.0, 12.0, 16.0]
    assert boxes["square"].tolist() == [2.0, 6.0, 10.0, 14.0]


def _iou(a, b) -> float:
    return float(box_iou(np.asarray(a, float).reshape(1, 4), np.asarray(b, float).reshape(1, 4))[0, 0])


def _crowns(centres, side=24, size=(96, 128), seed=0):
    """Bright textured squares (sunlit crowns) of ``side`` px centred at ``centres`` on dark noise (shadows)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(20, 60, (*size, 3)).astype(np.uint8)
    for cx, cy in centres:
        y0, x0 = cy - side // 2, cx - side // 2
        img[y0:y0 + side, x0:x0 + side] = rng.integers(150, 210, (side, side, 3))
    return img


def test_contrast_pulls_a_click_off_the_centre_back_onto_the_object():
    obj = [28, 28, 52, 52]                                   # a 24 px crown centred at (40, 40)
    img = _crowns([(40, 40)])
    click = (40 + 0.2 * 24, 40 + 0.2 * 24)                   # 20 % of its side off the centre, in x and in y
    cfg = ClickBoxConfig(method="contrast")
    box = click_box(img, click, None, 0.5, (24, 24), cfg)
    square = click_box(img, click, None, 0.5, (24, 24), ClickBoxConfig(method="square"))
    assert _iou(square, obj) < 0.5                            # the square follows the click: an adjustment at best
    assert _iou(box, obj) >= 0.7                              # the contrast box is kept
    # it moves only part of the way (contrast_shift): the image's evidence is not trusted over the click entirely
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    assert 40 < centre[0] < click[0] and 40 < centre[1] < click[1]


def test_contrast_keeps_touching_crowns_apart_and_grows_toward_a_larger_one():
    # two crowns side by side with no gap between them, the second brighter: a click on the first, 20 % of its side
    # toward the second, still boxes the first
    rng = np.random.default_rng(1)
    img = _crowns([(40, 48)], seed=1)
    img[36:60, 52:76] = rng.integers(215, 250, (24, 24, 3))   # x 52..76: touches the first crown's right edge
    box = click_box(img, (40 + 0.2 * 24, 48), None, 0.5, (24, 24), ClickBoxConfig(method="contrast"))
    assert _iou(box, [28, 36, 52, 60]) >= 0.7
    assert _iou(box, [52, 36, 76, 60]) < 0.1
    # a crown 1.4 x the typical size: the box grows toward it (only part of the way: sizes vary little)
    big = _crowns([(60, 48)], side=34, seed=2)
    box = click_box(big, (60, 48), None, 0.5, (24, 24), ClickBoxConfig(method="contrast"))
    assert 24 < box[2] - box[0] <= 34 and 24 < box[3] - box[1] <= 34


def test_contrast_without_any_object_in_sight_is_the_square_at_the_click():
    cfg = ClickBoxConfig(method="contrast")
    assert click_box(_blank(), (20, 20), None, 0.5, (8, 8), cfg).tolist() == [16.0, 16.0, 24.0, 24.0]
    # at the image's corner, and on an image smaller than the window searched: inside the image
    box = click_box(_crowns([(14, 14)], size=(30, 30)), (2, 2), None, 0.5, (24, 24), cfg)
    assert 0 <= box[0] < box[2] <= 30 and 0 <= box[1] < box[3] <= 30


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


def test_the_chooser_judges_by_fit_where_the_seconds_would_flip_on_a_hair():
    """Final box 10 x 10: a box 10 x 7 inside it has IoU 0.70 (kept: 1.6 s), one 10 x 6.9 has IoU 0.69 (adjusted:
    5.1 s); they fit alike. GrabCut: 0.69, then exact; the square: 0.70 twice."""
    final = np.array([0, 0, 10, 10], float)
    at_070, at_069 = np.array([0, 0, 10, 7], float), np.array([0, 0, 10, 6.9], float)
    by_fit, by_seconds = ClickBoxChooser(), ClickBoxChooser(judge="seconds", min_records=1)
    for chooser in (by_fit, by_seconds):
        assert chooser.choose() == "grabcut"                  # nothing recorded: the default
        chooser.record({"grabcut": at_069, "square": at_070, "contrast": np.array([20, 20, 30, 30], float)}, final)
        chooser.record({"grabcut": final.copy(), "square": at_070, "contrast": np.array([20, 20, 30, 30], float)},
                       final)
    # misfit (sum of 1 - IoU): GrabCut 0.31 + 0, the square 0.3 + 0.3, the contrast box 1 + 1
    assert by_fit.misfit == {"grabcut": pytest.approx(0.31), "square": pytest.approx(0.6),
                             "contrast": pytest.approx(2.0)}
    assert by_fit.choose() == "grabcut"
    # seconds: GrabCut 5.1 + 1.6, the square 1.6 + 1.6: the seconds rule takes the square
    assert by_seconds.spent == {"grabcut": pytest.approx(6.7), "square": pytest.approx(3.2),
                                "contrast": pytest.approx(17.2)}
    assert by_seconds.choose() == "square"


def test_the_chooser_leaves_the_default_after_one_click():
    chooser = ClickBoxChooser()
    final = np.array([10, 10, 20, 20], float)
    chooser.record({"grabcut": np.array([30, 30, 35, 35], float), "square": np.array([10, 10, 20, 18], float),
                    "contrast": final.copy()}, final)
    assert chooser.misfit == {"grabcut": pytest.approx(1.0), "square": pytest.approx(0.2), "contrast": 0.0}
    assert chooser.choose() == "contrast"


def test_tallies_kept_by_older_versions_keep_what_they_learned():
    # before issue 27: seconds only, judged after three clicks; all three methods
    chooser = ClickBoxChooser()
    assert chooser.restore({"spent": {"grabcut": 25.8, "square": 4.8, "contrast": 8.3}, "records": 3})
    # each tally over the cost of a miss (1.6 + 7.0 s): the ranking learned is kept
    assert chooser.misfit == {"grabcut": pytest.approx(3.0), "square": pytest.approx(4.8 / 8.6),
                              "contrast": pytest.approx(8.3 / 8.6)}
    assert (chooser.records, chooser.choose()) == (3, "square")
    # before issue 18: GrabCut and the square only; the contrast box joins at the square's level, the choice stays
    chooser = ClickBoxChooser()
    assert chooser.restore({"spent": {"grabcut": 25.8, "square": 4.8}, "records": 3})
    assert chooser.spent == {"grabcut": 25.8, "square": 4.8, "contrast": 4.8}
    assert chooser.choose() == "square"
    final = np.array([10, 10, 20, 20], float)
    chooser.record({"grabcut": final + 20, "square": np.array([10, 10, 20, 15], float), "contrast": final.copy()},
                   final)
    assert chooser.choose() == "contrast"                     # it fitted better on the next click: 0 vs 0.5
    # a tally of methods none of which this chooser has: nothing taken up
    assert not ClickBoxChooser().restore({"spent": {"sam": 1.6}, "records": 1})


def test_the_tallies_round_trip_and_bad_ones_are_refused():
    chooser = ClickBoxChooser()
    final = np.array([0, 0, 10, 10], float)
    chooser.record({"grabcut": final.copy(), "square": np.array([0, 0, 10, 5], float), "contrast": final + 20}, final)
    back = ClickBoxChooser()
    assert back.restore(chooser.state())
    assert (back.spent, back.misfit, back.records) == (chooser.spent, chooser.misfit, 1)
    with pytest.raises(ValueError, match="misfit of 'square'"):
        back.restore({"spent": {"square": 1.6}, "misfit": {"square": -0.5}, "records": 1})
    with pytest.raises(ValueError, match="judge"):
        ClickBoxChooser(judge="votes")


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ValueError, match="outside the 40x40 image"):
        click_box(_blank(), (41, 3))
    with pytest.raises(ValueError, match=r"\[H, W, 3\] uint8"):
        click_box(np.zeros((40, 40), np.uint8), (3, 3))
    with pytest.raises(ValueError, match="unknown click-box method"):
        click_box(_blank(), (3, 3), cfg=ClickBoxConfig(method="sam"))
    with pytest.raises(ValueError, match="2-D"):
        click_box(_blank(), (3, 3), np.zeros((2, 2, 2)), cfg=ClickBoxConfig(method="region"))
