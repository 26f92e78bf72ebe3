"""Predicted boxes are reviewed like proposals: accept (a linked curated box) / reject, kept in the file;
"accept all above s" never touches what the user made or decided."""
from __future__ import annotations

import sqlite3

import numpy as np

from core.store.project import Project
from tests.core.store.test_upgrade import write_v1

FG = np.zeros((4, 4), np.float32)


def _predict(project, image_id, boxes, run=None, probs=(0.9, 0.1)):
    run = run if run is not None else project.maps.new_prediction_run(project.runs.start({}), {})
    project.maps.save_prediction(run, image_id, list(probs), FG, boxes)
    return run


def _ids(project, image_id):
    return [b.id for b in project.maps.prediction(image_id).boxes]


def test_accept_links_a_curated_box_and_undo_puts_it_back(project):
    a = project.images.by_path("site/a.jpg")
    _predict(project, a.id, [(1, 1, 9, 9, 0.8), (20, 20, 30, 30, 0.3)])
    best, worst = _ids(project, a.id)
    box, old = project.predicted.accept(best, a.class_id)
    assert old == "pending" and box.source == "prediction" and box.score == 0.8 and box.predicted_box_id == best
    assert box.xyxy == (1, 1, 9, 9) and box.class_id == a.class_id
    assert [b.status for b in project.maps.prediction(a.id).boxes] == ["accepted", "pending"]
    project.predicted.unaccept_many([(best, box.id, old)])
    assert project.boxes.list(a.id) == [] and project.predicted.get_status(best) == "pending"


def test_a_rejection_is_kept_in_the_file_and_by_the_next_prediction(project, tmp_path):
    a = project.images.by_path("site/a.jpg")
    _predict(project, a.id, [(1, 1, 9, 9, 0.8), (20, 20, 30, 30, 0.3)])
    assert project.predicted.set_status(_ids(project, a.id)[1], "rejected") == "pending"
    path = project.path
    project.close()
    p = Project.open(path)
    assert [b.status for b in p.maps.prediction(a.id).boxes] == ["pending", "rejected"]
    # retraining predicts nearly the same box again: it stays rejected; a new box is pending
    _predict(p, a.id, [(20, 20, 30.2, 30, 0.5), (40, 40, 50, 50, 0.4)])
    assert [b.status for b in p.maps.prediction(a.id).boxes] == ["rejected", "pending"]
    p.close()


def test_accept_above_leaves_user_boxes_and_decisions_alone(project):
    imgs = {r.rel_path: r for r in project.images.list()}
    a, b, r = imgs["site/a.jpg"], imgs["site/sub/b.png"], imgs["site/rotated.jpg"]
    n0 = imgs["no_site/n0.png"]
    run = _predict(project, a.id, [(1, 1, 9, 9, 0.9), (20, 20, 30, 30, 0.8), (40, 2, 60, 8, 0.7), (5, 30, 9, 40, 0.2)])
    _predict(project, b.id, [(1, 1, 9, 9, 0.95)], run=run)
    _predict(project, r.id, [(1, 1, 9, 9, 0.95)], run=run)
    _predict(project, n0.id, [(1, 1, 9, 9, 0.95)], run=run)
    best, second, third, low = _ids(project, a.id)
    project.predicted.set_status(second, "rejected")
    project.predicted.accept(third, a.class_id)
    drawn = project.boxes.add(a.id, (1, 1, 9.5, 9), a.class_id)           # the user's own box over `best`
    project.images.set_review(r.id, "verified")                           # a reviewed image
    bg = {project.class_id("no_site", create=False)}

    here = project.predicted.plan_accept_above(0.5, a.id, background_class_ids=bg)
    assert here.items == [] and (here.decided, here.covered, here.below) == (2, 1, 1)
    every = project.predicted.plan_accept_above(0.5, background_class_ids=bg)
    assert [(it.image_id, it.class_id) for it in every.items] == [(b.id, b.class_id)]  # not reviewed r, nor n0
    before = project.boxes.all()
    boxes, olds = project.predicted.accept_many([(it.predicted_box_id, it.class_id) for it in every.items])
    assert olds == ["pending"] and [x.image_id for x in boxes] == [b.id]
    after = {x.id: x for x in project.boxes.all()}
    assert all(after[x.id] == x for x in before)                          # nothing the user had changed
    assert project.boxes.get(drawn.id) == drawn
    assert [x.status for x in project.maps.prediction(a.id).boxes] == ["pending", "rejected", "accepted", "pending"]
    # a box decided since the plan was made is skipped, never overwritten
    assert project.predicted.accept_many([(second, a.class_id)]) == ([], [])
    assert project.predicted.get_status(second) == "rejected"


def test_an_unlabelled_image_gets_the_likeliest_object_class(project):
    a = project.images.by_path("site/a.jpg")
    with project.transaction() as s:
        from core.store.schema import ImageRow
        s.get(ImageRow, a.id).class_id = None
    names = {c.name: c.id for c in project.classes()}
    order = [c.id for c in project.classes()]
    probs = [0.2 if cid == names["site"] else 0.8 for cid in order]       # no_site likelier, but background
    _predict(project, a.id, [(1, 1, 9, 9, 0.9)], probs=probs)
    plan = project.predicted.plan_accept_above(0.5, a.id, background_class_ids={names["no_site"]})
    assert [it.class_id for it in plan.items] == [names["site"]]


def test_an_old_file_upgrades_with_its_predicted_boxes_pending(tmp_path, image_folder):
    path = tmp_path / "old.dips"
    write_v1(path)
    with sqlite3.connect(path) as con:
        con.executescript("""
        INSERT INTO training_runs VALUES (1, 'finished', '{}', '[]', '{}', NULL, NULL, '2025-01-01', '2025-01-01');
        INSERT INTO prediction_runs VALUES (1, 1, '{}', '2025-01-01');
        INSERT INTO predictions VALUES (1, 1, 1, '[0.9, 0.1]', 1, 1, X'0000');
        INSERT INTO predicted_boxes VALUES (1, 1, 4.0, 4.0, 30.0, 30.0, 0.6), (2, 1, 40.0, 4.0, 60.0, 20.0, 0.4);
        """)
    p = Project.open(path)
    assert p.upgraded_from == 1
    pred = p.maps.prediction(1)
    assert [(b.id, b.status) for b in pred.boxes] == [(1, "pending"), (2, "pending")] and pred.training_run_id == 1
    p.predicted.set_status(2, "rejected")
    box, _ = p.predicted.accept(1, 1)
    assert box.predicted_box_id == 1 and p.boxes.list(1)[-1].predicted_box_id == 1
    p.close()
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT status FROM predicted_boxes ORDER BY id").fetchall()
        assert rows == [("accepted",), ("rejected",)]


def test_accept_above_leaves_a_box_covering_the_whole_image_for_the_user(project):
    """A model that has not learnt yet draws the frame itself (a flat map): never accepted in bulk."""
    a = project.images.by_path("site/a.jpg")          # 64 x 48
    _predict(project, a.id, [(0, 0, 64, 48, 0.9), (0, 0, 62, 47, 0.8), (10, 10, 40, 30, 0.7)])
    plan = project.predicted.plan_accept_above(0.5, a.id)
    assert plan.whole_frame == 2
    assert [round(it.score, 3) for it in plan.items] == [0.7]
