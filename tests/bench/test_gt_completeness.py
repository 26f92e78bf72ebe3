"""The ground-truth completeness bench on a hand-made tile: windows found again, crowns cut by the edge counted,
the every-visible-crown COCO file."""
import json

import cv2
import numpy as np
import pytest

from bench.gt_completeness import completeness, covered, crowns_in_window, locate, tile_of


@pytest.fixture
def tile():
    return np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)


def test_a_window_is_found_where_it_was_cut(tile):
    assert locate(tile[30:70, 50:90], tile) == (50, 30)
    assert locate(np.zeros((40, 40, 3), np.uint8), tile) is None      # not a crop of this tile


def test_crowns_are_split_by_the_half_inside_rule_and_clipped():
    crowns = np.array([[10, 10, 20, 20],      # wholly inside the window (0, 0, 40)
                       [30, 0, 50, 10],       # half inside: boxed, clipped to x 30..40
                       [36, 20, 56, 30],      # 4 of 20 px wide inside: cut, share 0.2
                       [60, 60, 70, 70]], float)   # outside
    wc = crowns_in_window(crowns, 0, 0, 40)
    assert wc.boxed.tolist() == [[10, 10, 20, 20], [30, 0, 40, 10]]
    assert wc.cut.tolist() == [[36, 20, 40, 30]]
    assert wc.cut_share == pytest.approx([0.2])


def test_covered_marks_pixel_centres_inside_boxes():
    m = covered(np.array([[0, 0, 2, 1]], float), 3)
    assert m.sum() == 2 and m[0, 0] and m[0, 1]


def test_tile_of_refuses_a_window_of_another_tile():
    assert tile_of("tree/SOAP_061_0003.png", ("SOAP_061",)) == "SOAP_061"
    with pytest.raises(ValueError, match="SOAP_031_0001.png"):
        tile_of("tree/SOAP_031_0001.png", ("SOAP_061",))


def test_completeness_counts_left_out_crowns_and_writes_every_visible_one(tmp_path, tile):
    (tmp_path / "images" / "tree").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "images" / "tree" / "T_0000.png"), tile[20:60, 40:80])   # window at (40, 20), S 40
    crowns = np.array([[50, 30, 60, 40],       # inside: boxed
                       [76, 30, 96, 40],       # 4 of 20 px inside: cut, 20 % visible
                       [78, 50, 98, 60]], float)   # 2 of 20 px: cut, 10 % visible
    gt = {"images": [{"id": 7, "file_name": "tree/T_0000.png", "width": 40, "height": 40}],
          "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [10, 10, 10, 10]}],
          "categories": [{"id": 1, "name": "tree"}]}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    per_class, coco = completeness(tmp_path, {"T": tile}, {"T": crowns}, min_visible=0.2)
    f = per_class["tree"]
    assert (f["windows"], f["boxed"], f["cut"], f["cut_visible"], f["windows_with_cut"]) == (1, 1, 2, 1, 1)
    # crown pixels: 100 boxed + 4 x 10 + 2 x 10 cut; 60 of 160 covered by no ground-truth box
    assert (f["crown_px"], f["unboxed_crown_px"]) == (160, 60)
    assert [a["bbox"] for a in coco["annotations"]] == [[10.0, 10.0, 10.0, 10.0], [36.0, 10.0, 4.0, 10.0]]
    assert all(a["image_id"] == 7 for a in coco["annotations"])


def test_completeness_stops_when_the_set_was_built_by_another_rule(tmp_path, tile):
    (tmp_path / "images" / "tree").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "images" / "tree" / "T_0000.png"), tile[20:60, 40:80])
    gt = {"images": [{"id": 1, "file_name": "tree/T_0000.png", "width": 40, "height": 40}], "annotations": [],
          "categories": []}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    with pytest.raises(SystemExit, match="T_0000.png: 1 crown at least half inside"):
        completeness(tmp_path, {"T": tile}, {"T": np.array([[50, 30, 60, 40]], float)}, 0.2)
