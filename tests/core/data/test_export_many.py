"""Export reads each kind of box once for the whole project: the same file as before, whatever the size."""
from __future__ import annotations

import numpy as np
from sqlalchemy import event

from core.data.coco import build_coco
from core.store.repos.proposals import NewProposal


def test_predictions_export_each_images_latest_run(project):
    a = project.images.by_path("site/a.jpg")
    b = project.images.by_path("site/sub/b.png")
    trained = [project.runs.start({}) for _ in range(3)]
    # "run": the training run (the training panel's number); "prediction_run": the prediction run's own number
    first = project.maps.new_prediction_run(trained[2], {})
    project.maps.save_prediction(first, a.id, [0.5, 0.5], np.zeros((4, 4)), [(1, 1, 5, 5, 0.4)])
    project.maps.save_prediction(first, b.id, [0.5, 0.5], np.zeros((4, 4)), [(2, 2, 6, 6, 0.3)])
    second = project.maps.new_prediction_run(trained[1], {})   # predicts only a again
    project.maps.save_prediction(second, a.id, [0.5, 0.5], np.zeros((4, 4)), [(3, 3, 9, 9, 0.9), (1, 2, 4, 5, 0.7)])
    coco, _ = build_coco(project, "predictions")
    got = {(ann["image_id"], ann["attributes"]["run"], ann["attributes"]["prediction_run"], tuple(ann["bbox"]),
            ann["score"]) for ann in coco["annotations"]}
    assert (first, second) != (trained[2], trained[1])
    assert got == {(a.id, trained[1], second, (3, 3, 6, 6), 0.9), (a.id, trained[1], second, (1, 2, 3, 3), 0.7),
                   (b.id, trained[2], first, (2, 2, 4, 4), 0.3)}


def _statements_of_an_export(project) -> int:
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(project.engine, "before_cursor_execute", listener)
    try:
        build_coco(project, "all")
    finally:
        event.remove(project.engine, "before_cursor_execute", listener)
    return len(statements)


def test_export_queries_do_not_grow_with_the_number_of_images(project):
    from core.store.schema import ImageRow

    def add_boxes():
        for i in project.images.ids():
            project.proposals.replace(i, [NewProposal((1, 1, 9, 9), -1, 0.5, 0.5)])
            project.boxes.add(i, (2, 2, 8, 8), None)

    add_boxes()
    few = _statements_of_an_export(project)
    with project.transaction() as s:
        s.bulk_insert_mappings(ImageRow, [dict(rel_path=f"site/more_{i}.png", width=64, height=48, content_hash=f"m{i}")
                                          for i in range(30)])
    add_boxes()
    assert project.images.count() == 37
    assert _statements_of_an_export(project) == few     # a fixed handful of queries, not some per image


def test_the_streamed_file_holds_what_build_coco_builds(project, tmp_path, monkeypatch):
    import json

    from core.data import coco_export as coco_module
    from core.data.coco import export_coco

    for i in project.images.ids():
        project.proposals.replace(i, [NewProposal((1, 1, 9, 9), -1, 0.5, 0.5), NewProposal((2, 2, 6, 7), 0, 0.4, 0.3)])
        project.boxes.add(i, (2, 2, 8, 8), None)
    real_chunks = coco_module._chunks
    monkeypatch.setattr(coco_module, "_chunks", lambda items: real_chunks(items, 4))   # several chunks
    report = export_coco(project, tmp_path / "all.json", boxes="all")
    written = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))
    built, built_report = build_coco(project, "all")
    for d in (written, built):
        d["info"].pop("date_created")
    assert written == built
    assert report.annotations == built_report.annotations == len(built["annotations"]) == 3 * len(project.images.ids())
