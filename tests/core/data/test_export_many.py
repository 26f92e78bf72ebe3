"""Export reads each kind of box once for the whole project: the same file as before, whatever the size."""
from __future__ import annotations

import numpy as np
from sqlalchemy import event

from core.data.coco import build_coco
from core.store.repos.proposals import NewProposal


def test_predictions_export_each_images_latest_run(project):
    a = project.images.by_path("site/a.jpg")
    b = project.images.by_path("site/sub/b.png")
    first = project.maps.new_prediction_run(None, {})
    project.maps.save_prediction(first, a.id, [0.5, 0.5], np.zeros((4, 4)), [(1, 1, 5, 5, 0.4)])
    project.maps.save_prediction(first, b.id, [0.5, 0.5], np.zeros((4, 4)), [(2, 2, 6, 6, 0.3)])
    second = project.maps.new_prediction_run(None, {})   # predicts only a again
    project.maps.save_prediction(second, a.id, [0.5, 0.5], np.zeros((4, 4)), [(3, 3, 9, 9, 0.9), (1, 2, 4, 5, 0.7)])
    coco, _ = build_coco(project, "predictions")
    got = {(ann["image_id"], ann["attributes"]["run"], tuple(ann["bbox"]), ann["score"]) for ann in coco["annotations"]}
    assert got == {(a.id, second, (3, 3, 6, 6), 0.9), (a.id, second, (1, 2, 3, 3), 0.7),
                   (b.id, first, (2, 2, 4, 4), 0.3)}


def test_export_queries_do_not_grow_with_the_number_of_images(project):
    ids = project.images.ids()
    for i in ids:
        project.proposals.replace(i, [NewProposal((1, 1, 9, 9), -1, 0.5, 0.5)])
        project.boxes.add(i, (2, 2, 8, 8), None)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(project.engine, "before_cursor_execute", listener)
    try:
        coco, report = build_coco(project, "all")
    finally:
        event.remove(project.engine, "before_cursor_execute", listener)
    assert report.images == len(ids) and len(coco["annotations"]) >= len(ids)
    assert len(statements) < 12 < 3 * len(ids)   # a fixed handful, not one or more per image
