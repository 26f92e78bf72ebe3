from __future__ import annotations

import json

import pytest

from core.data.coco import CocoError, export_coco, import_coco
from core.data.importer import import_images
from core.store.project import Project
from core.store.repos.proposals import NewProposal


def _with_boxes(project):
    site = project.class_id("site", create=False)
    a = project.images.by_path("site/a.jpg")
    b = project.images.by_path("site/sub/b.png")
    project.boxes.add(a.id, (10, 10, 30, 30), site)
    project.boxes.add(a.id, (-4, 40, 20, 60), site)             # clamped to 0..64 x 0..48
    project.boxes.add(b.id, (20.5, 5.25, 40, 25), site, source="proposal", score=0.93)
    project.proposals.replace(a.id, [NewProposal((11, 11, 29, 29), -1, 0.9, 0.97)])
    return site, a, b


def test_export_follows_coco_conventions(project, tmp_path):
    site, a, b = _with_boxes(project)
    out = tmp_path / "out.json"
    report = export_coco(project, out)
    coco = json.loads(out.read_text())
    assert len(coco["images"]) == project.images.count() == report.images  # also images without boxes
    assert {c["id"]: c["name"] for c in coco["categories"]} == {c.id: c.name for c in project.classes()}
    assert min(c["id"] for c in coco["categories"]) == 1
    anns = coco["annotations"]
    assert [x["id"] for x in anns] == [1, 2, 3]
    assert anns[0]["bbox"] == [10.0, 10.0, 20.0, 20.0] and anns[0]["area"] == 400.0 and anns[0]["iscrowd"] == 0
    assert anns[1]["bbox"] == [0.0, 40.0, 20.0, 8.0]                 # clamped to the 64x48 image
    assert "score" not in anns[0] and anns[2]["score"] == pytest.approx(0.93)
    assert anns[2]["attributes"]["source"] == "proposal"
    assert {i["file_name"] for i in coco["images"]} >= {"site/a.jpg", "site/sub/b.png"}
    from pycocotools.coco import COCO
    c = COCO(str(out))
    assert len(c.getAnnIds()) == 3 and len(c.getImgIds()) == report.images


def test_export_choice_of_boxes(project, tmp_path):
    _with_boxes(project)
    export_coco(project, tmp_path / "p.json", boxes="proposals")
    anns = json.loads((tmp_path / "p.json").read_text())["annotations"]
    assert len(anns) == 1 and anns[0]["attributes"]["kind"] == "proposal" and anns[0]["score"] == pytest.approx(0.9)
    export_coco(project, tmp_path / "all.json", boxes="all")
    assert len(json.loads((tmp_path / "all.json").read_text())["annotations"]) == 4


def test_round_trip_is_identical(project, tmp_path, image_folder):
    _with_boxes(project)
    first = tmp_path / "first.json"
    export_coco(project, first)
    fresh = Project.create(tmp_path / "fresh.dips", image_folder)
    import_images(fresh)
    report = import_coco(fresh, first, as_="curated")
    assert report.added == 3 and not report.unknown_images and not report.unknown_categories
    second = tmp_path / "second.json"
    export_coco(fresh, second)
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert a["annotations"] == b["annotations"]
    assert a["categories"] == b["categories"] and a["images"] == b["images"]
    # importing the same file again adds nothing
    assert import_coco(fresh, first).added == 0
    fresh.close()


def test_import_reports_unknowns_and_keeps_gt_apart(project, tmp_path):
    a = project.images.by_path("site/a.jpg")
    coco = {"images": [{"id": 7, "file_name": "site/a.jpg", "width": 64, "height": 48},
                       {"id": 8, "file_name": "elsewhere/z.jpg", "width": 10, "height": 10}],
            "categories": [{"id": 1, "name": "site"}, {"id": 2, "name": "helicopter"}],
            "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [1, 2, 10, 10]},
                            {"id": 2, "image_id": 7, "category_id": 2, "bbox": [1, 2, 10, 10]},
                            {"id": 3, "image_id": 8, "category_id": 1, "bbox": [1, 2, 3, 3]},
                            {"id": 4, "image_id": 99, "category_id": 1, "bbox": [1, 2, 3, 3]},
                            {"id": 5, "image_id": 7, "category_id": 1, "bbox": "oops"}]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(coco))
    report = import_coco(project, path, as_="gt")
    assert report.added == 1
    assert report.unknown_images == ["elsewhere/z.jpg"] and report.unknown_categories == ["helicopter"]
    assert len(report.invalid) == 2
    assert project.boxes.list(a.id) == [] and project.boxes.gt(a.id)[0].xyxy == (1, 2, 11, 12)


def test_bad_coco_files_name_the_file(project, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CocoError, match="bad.json: not valid JSON"):
        import_coco(project, bad)
    bad.write_text("[]")
    with pytest.raises(CocoError, match="not a COCO file"):
        import_coco(project, bad)


def test_large_ground_truth_file_lands_whole_and_once(project, tmp_path):
    a = project.images.by_path("site/a.jpg")
    n = 3000
    coco = {"images": [{"id": 7, "file_name": "site/a.jpg", "width": 64, "height": 48}],
            "categories": [{"id": 1, "name": "site"}],
            "annotations": [{"id": i, "image_id": 7, "category_id": 1,
                             "bbox": [i % 50, (i // 50) % 40, 1 + i % 13, 1 + i % 7]} for i in range(n)]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(coco))
    first = import_coco(project, path, as_="gt")
    distinct = len({(i % 50, (i // 50) % 40, 1 + i % 13, 1 + i % 7) for i in range(n)})
    assert first.added == distinct and first.added + first.duplicates == n
    assert len(project.boxes.gt(a.id)) == distinct
    again = import_coco(project, path, as_="gt")
    assert again.added == 0 and again.duplicates == n
    assert project.boxes.gt_count() == distinct and project.boxes.all() == []   # curated boxes untouched


def test_export_read_block_by_block_writes_the_same_file(project, tmp_path, monkeypatch):
    """A large project is exported a block of images at a time (bounded memory): block edges change nothing."""
    import numpy as np

    import core.data.coco_export as coco_module

    _, a, b = _with_boxes(project)
    maps = project.maps
    older, newer = maps.new_prediction_run(None, {}), maps.new_prediction_run(None, {})
    maps.save_prediction(older, a.id, [0.1, 0.9], np.zeros((8, 8), np.float32), [(1, 1, 9, 9, 0.2)])
    maps.save_prediction(newer, a.id, [0.1, 0.9], np.zeros((8, 8), np.float32), [(2, 2, 20, 20, 0.8),
                                                                                 (5, 5, 9, 9, 0.3)])
    maps.save_prediction(older, b.id, [0.1, 0.9], np.zeros((8, 8), np.float32), [(3, 3, 12, 12, 0.6)])
    whole = tmp_path / "whole.json"
    export_coco(project, whole, boxes="all")
    monkeypatch.setattr(coco_module, "EXPORT_BLOCK", 1)
    one_by_one = tmp_path / "blocks.json"
    export_coco(project, one_by_one, boxes="all")
    first, second = json.loads(whole.read_text()), json.loads(one_by_one.read_text())
    first["info"].pop("date_created"), second["info"].pop("date_created")
    assert first == second
    predicted = [x for x in first["annotations"] if x["attributes"]["kind"] == "prediction"]
    # each image's latest run only (image a: not the older run's 0.2 box), best score first
    assert [(x["image_id"], x["score"]) for x in predicted] == [
        (a.id, pytest.approx(0.8)), (a.id, pytest.approx(0.3)), (b.id, pytest.approx(0.6))]
    assert len(first["annotations"]) == 3 + 1 + 3
