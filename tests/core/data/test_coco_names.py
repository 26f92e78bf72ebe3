"""COCO files written by other tools and systems: file names, duplicate ids, values and types, one report."""
from __future__ import annotations

import json
import unicodedata

import pytest

from core.data.coco import import_coco
from core.data.importer import import_images
from core.store.project import Project
from main import main
from tests.conftest import make_image


@pytest.fixture
def towers(tmp_path):
    root = tmp_path / "data"          # the image root is called 'data'
    make_image(root / "tower" / "IMG_0001.jpg", size=(640, 480))
    make_image(root / "no_site" / "IMG_0001.jpg", size=(640, 480), color=(10, 10, 10))
    make_image(root / "tower" / "flight 2" / "IMG_0002.jpg", size=(640, 480), color=(200, 10, 10))
    make_image(root / "tower" / "tour_été.jpg", size=(640, 480), color=(10, 200, 10))
    p = Project.create(tmp_path / "p.dips", root)
    import_images(p)
    yield p
    p.close()


def _coco(tmp_path, images, annotations, categories=({"id": 1, "name": "tower"},), name="in.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": list(categories)}))
    return path


def _one(file_name, image_id=1, ann_id=1):
    return ({"id": image_id, "file_name": file_name, "width": 640, "height": 480},
            {"id": ann_id, "image_id": image_id, "category_id": 1, "bbox": [10, 20, 30, 40]})


@pytest.mark.parametrize("file_name, expected", [
    ("tower/IMG_0001.jpg", "tower/IMG_0001.jpg"),
    ("tower\\IMG_0001.jpg", "tower/IMG_0001.jpg"),                           # Windows separators
    ("./tower/IMG_0001.jpg", "tower/IMG_0001.jpg"),
    ("data/tower/IMG_0001.jpg", "tower/IMG_0001.jpg"),                       # the root folder's name in front
    ("C:\\Users\\ana\\data\\tower\\IMG_0001.jpg", "tower/IMG_0001.jpg"),     # another machine's absolute path
    ("/mnt/share/data/tower/IMG_0001.jpg", "tower/IMG_0001.jpg"),
    ("../images/tower/IMG_0001.jpg", "tower/IMG_0001.jpg"),                  # relative to the annotation file
    ("IMG_0002.jpg", "tower/flight 2/IMG_0002.jpg"),                         # a unique base name
    ("flight 2/IMG_0002.jpg", "tower/flight 2/IMG_0002.jpg"),
    ("tower/flight%202/IMG_0002.jpg", "tower/flight 2/IMG_0002.jpg"),        # URL-encoded (web tools)
    ("TOWER/Flight 2/img_0002.JPG", "tower/flight 2/IMG_0002.jpg"),           # case, as Windows ignores it
    (unicodedata.normalize("NFD", "tower/tour_été.jpg"), "tower/tour_été.jpg"),   # macOS writes NFD
])
def test_file_name_forms_find_their_image(towers, tmp_path, file_name, expected):
    im, ann = _one(file_name)
    report = import_coco(towers, _coco(tmp_path, [im], [ann]))
    assert report.added == 1, report.summary()
    assert [b.image_id for b in towers.boxes.all()] == [towers.images.by_path(expected).id]


def test_absolute_path_inside_the_root_and_ambiguous_names(towers, tmp_path):
    root = towers.image_root
    a, ann_a = _one(str(root / "tower" / "IMG_0001.jpg"), 1, 1)
    b, ann_b = _one("IMG_0001.jpg", 2, 2)                 # in tower/ and in no_site/
    c, ann_c = _one("elsewhere/nothing.jpg", 3, 3)
    report = import_coco(towers, _coco(tmp_path, [a, b, c], [ann_a, ann_b, ann_c]))
    assert report.added == 1
    assert [x.image_id for x in towers.boxes.all()] == [towers.images.by_path("tower/IMG_0001.jpg").id]
    text = report.summary()
    assert "ambiguous: IMG_0001.jpg matches 2 images (no_site/IMG_0001.jpg, tower/IMG_0001.jpg): skipped" in text
    assert report.unknown_images == ["elsewhere/nothing.jpg"]
    assert report.counts() == {"added": 1, "already present": 0, "invalid": 0, "image not found": 1,
                               "ambiguous": 1, "unknown category": 0, "duplicate id": 0}


def test_duplicate_image_and_annotation_ids_are_skipped_not_moved(towers, tmp_path):
    images = [{"id": 1, "file_name": "tower/IMG_0001.jpg"}, {"id": 1, "file_name": "tower/tour_été.jpg"},
              {"id": 2, "file_name": "flight 2/IMG_0002.jpg"}]
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [5, 5, 10, 10]},
            {"id": 3, "image_id": 2, "category_id": 1, "bbox": [1, 1, 10, 10]},
            {"id": 3, "image_id": 2, "category_id": 1, "bbox": [2, 2, 10, 10]},
            {"id": 4, "image_id": 2, "category_id": 1, "bbox": [3, 3, 10, 10]}]
    report = import_coco(towers, _coco(tmp_path, images, anns))
    assert report.added == 1 and report.skipped == {"duplicate id": 4}
    assert [b.xyxy for b in towers.boxes.all()] == [(3, 3, 13, 13)]
    text = report.summary()
    assert "duplicate image id 1 (tower/IMG_0001.jpg, tower/tour_été.jpg): skipped" in text
    assert "duplicate annotation id 3 (2 annotations): skipped" in text


@pytest.mark.parametrize("field, value, words", [
    ("bbox", [float("nan"), 5, 10, 10], "not a finite number"),
    ("bbox", [1, 5, float("inf"), 10], "not a finite number"),
    ("bbox", ["1", 5, 10, 10], "not a finite number"),
    ("bbox", [1, 5, 10], "list of 4 numbers"),
    ("bbox", [1, 5, True, 10], "not a finite number"),
    ("image_id", [1], "image_id must be an integer"),
    ("image_id", 1.5, "image_id must be an integer"),
    ("category_id", None, "category_id must be an integer"),
    ("score", "high", "score must be a finite number"),
    ("score", float("nan"), "score must be a finite number"),
])
def test_bad_values_are_invalid_lines_and_the_rest_imports(towers, tmp_path, field, value, words):
    im, good = _one("tower/IMG_0001.jpg")
    bad = dict(good, id=9, bbox=[50, 50, 10, 10])
    bad[field] = value
    path = tmp_path / "bad.json"       # json.dumps writes NaN / Infinity as other tools do
    path.write_text(json.dumps({"images": [im], "annotations": [bad, good],
                                "categories": [{"id": 1, "name": "tower"}]}))
    report = import_coco(towers, path, as_="curated")
    assert report.added == 1 and [b.xyxy for b in towers.boxes.all()] == [(10, 20, 40, 60)]
    assert len(report.invalid) == 1 and report.invalid[0].startswith("annotation 9: ") and words in report.invalid[0]
    assert report.skipped == {"invalid": 1}
    assert f"invalid: {report.invalid[0]}" in report.summary()


def test_cli_prints_one_report_with_counts(towers, tmp_path, capsys):
    im1, a1 = _one("tower\\IMG_0001.jpg", 1, 1)
    im2, a2 = _one("IMG_0001.jpg", 2, 2)
    im3, a3 = _one("nowhere.jpg", 3, 3)
    anns = [a1, a2, a3, dict(a1, id=4, bbox=[float("nan"), 5, 10, 10]), dict(a1, id=5, category_id=7)]
    path = _coco(tmp_path, [im1, im2, im3], anns)
    towers.close()
    assert main(["import-coco", str(towers.path), str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "added 1 boxes, 0 already present"
    assert "annotations skipped: invalid 1, image not found 1, ambiguous 1, unknown category 1" in out
    assert main(["import-coco", str(towers.path), str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "added 0 boxes, 1 already present"
