from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from core.store.project import Project, ProjectError
from core.store.repos.images import ImageFilter
from core.store.repos.proposals import NewProposal


def test_create_open_and_pragmas(tmp_path, image_folder):
    p = Project.create(tmp_path / "x", image_folder)
    assert p.path.name == "x.dips"
    p.close()
    p = Project.open(tmp_path / "x.dips")
    with p.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert p.image_root == image_folder.resolve()
    p.close()


def test_open_errors_name_the_file(tmp_path):
    with pytest.raises(ProjectError, match="no such project file"):
        Project.open(tmp_path / "nope.dips")
    junk = tmp_path / "junk.dips"
    junk.write_text("hello")
    with pytest.raises(ProjectError, match="junk.dips: not a DiPS Studio project"):
        Project.open(junk)


def test_box_edits_are_on_disk_after_each_call(project):
    img = project.images.list()[0]
    cid = project.classes()[0].id
    box = project.boxes.add(img.id, (5, 6, 20, 30), cid)
    # a second, independent connection sees the committed row at once
    con = sqlite3.connect(project.path)
    row = con.execute("SELECT x0, y0, x1, y1, source FROM boxes WHERE id=?", (box.id,)).fetchone()
    assert row == (5, 6, 20, 30, "manual")
    before, after = project.boxes.update(box.id, xyxy=(1, 2, 10, 12))
    assert con.execute("SELECT x0, y1 FROM boxes WHERE id=?", (box.id,)).fetchone() == (1, 12)
    project.boxes.delete(box.id)
    assert con.execute("SELECT count(*) FROM boxes").fetchone()[0] == 0
    project.boxes.restore(after)
    assert con.execute("SELECT x0 FROM boxes WHERE id=?", (box.id,)).fetchone() == (1,)
    con.close()


def test_box_clamped_to_image_and_zero_area_rejected(project):
    img = project.images.list()[0]
    box = project.boxes.add(img.id, (-5, -5, 1000, 1000), None)
    assert box.xyxy == (0, 0, img.width, img.height)
    with pytest.raises(ValueError, match="no area"):
        project.boxes.add(img.id, (3, 3, 3, 10), None)


def test_machine_box_becomes_edited_when_moved(project):
    img = project.images.list()[0]
    project.proposals.replace(img.id, [NewProposal((1, 1, 10, 10), -1, 0.9, 0.95)])
    prop = project.proposals.list(img.id)[0]
    box, old = project.proposals.accept(prop.id, img.class_id)
    assert box.source == "proposal" and old == "pending"
    assert project.proposals.list(img.id)[0].status == "accepted"
    _, moved = project.boxes.update(box.id, xyxy=(2, 2, 12, 12))
    assert moved.source == "edited"
    project.proposals.unaccept(prop.id, box.id, old)
    assert project.boxes.list(img.id) == []
    assert project.proposals.list(img.id)[0].status == "pending"


def test_regenerated_proposals_keep_rejections(project):
    img = project.images.list()[0]
    project.proposals.replace(img.id, [NewProposal((1, 1, 10, 10), -1, 0.9, 0.9),
                                       NewProposal((20, 20, 30, 30), 0, 0.5, 0.5)])
    first = project.proposals.list(img.id)
    project.proposals.set_status(first[0].id, "rejected")
    project.proposals.replace(img.id, [NewProposal((1, 1, 10, 10.2), 1, 0.8, 0.8),
                                       NewProposal((40, 20, 50, 30), 0, 0.4, 0.4)])
    again = project.proposals.list(img.id)
    assert [p.status for p in again] == ["rejected", "pending"]
    assert [p.rank for p in again] == [1, 2]


def test_filters_and_review(project):
    ids = project.images.ids()
    project.images.set_review(ids[0], "verified")
    assert project.images.count(ImageFilter(review="verified")) == 1
    assert project.images.count(ImageFilter(review="unreviewed")) == len(ids) - 1
    site = project.class_id("site", create=False)
    assert project.images.count(ImageFilter(class_id=site)) == 4
    assert project.images.count(ImageFilter(search="été")) == 1
    project.boxes.add(ids[1], (1, 1, 5, 5), site)
    assert project.images.ids(ImageFilter(has_boxes=True)) == [ids[1]]
    assert project.images.next_unreviewed(ids[0]) == ids[1]


def test_attention_and_prediction_maps_roundtrip(project):
    img = project.images.list()[0]
    heads = np.random.default_rng(0).random((6, 4, 5)).astype(np.float32)
    project.maps.save_attention(img.id, "vit@448", heads)
    got = project.maps.attention(img.id)
    assert sorted(got) == [-1, 0, 1, 2, 3, 4, 5]
    np.testing.assert_allclose(got[2], heads[2], atol=1e-3)
    np.testing.assert_allclose(got[-1], heads.mean(0), atol=1e-3)
    run = project.maps.new_prediction_run(None, {"k": 1})
    project.maps.save_prediction(run, img.id, [0.2, 0.8], np.ones((8, 8)) * 0.5, [(1, 2, 3, 4, 0.9)])
    pred = project.maps.prediction(img.id)
    assert pred.class_probs == [0.2, 0.8] and pred.boxes[0].score == 0.9
    assert pred.fg_map.shape == (8, 8)
