"""Predicted boxes from a foreground map, as the inspector sees them."""
from __future__ import annotations

import numpy as np

from core.pipeline.predict_stage import boxes_for_map


def test_box_around_the_region_in_image_pixels_scored_by_its_probability():
    fg = np.zeros((20, 40), np.float32)
    fg[5:10, 10:20] = 0.9
    [(x0, y0, x1, y1, score)] = boxes_for_map(fg, width=400, height=100)
    assert (x0, y0, x1, y1) == (100, 25, 200, 50)
    assert abs(score - 0.9) < 1e-6


def test_score_weighted_by_object_probability_and_no_boxes_when_object_free():
    fg = np.zeros((20, 20), np.float32)
    fg[2:8, 2:8] = 0.8
    assert abs(boxes_for_map(fg, 20, 20, p_object=0.75)[0][4] - 0.6) < 1e-6
    assert boxes_for_map(fg, 20, 20, p_object=0.3) == []


def test_specks_below_the_minimum_size_are_not_boxes():
    fg = np.zeros((100, 100), np.float32)
    fg[50, 50] = 1.0
    assert boxes_for_map(fg, 100, 100) == []
