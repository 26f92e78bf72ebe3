"""`run` predicts again, without training, when curated boxes that choose the prediction's threshold were added,
moved or deleted since that prediction run, and says why in one line; other changes leave the prediction as it is."""
from __future__ import annotations

import json

from core.cli import run_cli

REFIT = "predicting again to refit the threshold"


def _run(project, capsys) -> str:
    capsys.readouterr()
    assert run_cli(["run", str(project.path)]) == 0
    return capsys.readouterr().out


def test_run_refits_the_threshold_when_held_out_curated_boxes_change(tiny_prepared, capsys):
    project, _ = tiny_prepared
    recs = sorted(project.images.list(), key=lambda r: r.id)
    assert len(recs) >= 6
    project.images.set_splits({r.id: "train" for r in recs})
    out = _run(project, capsys)                    # trains (on no curated boxes) and predicts: prediction run #1
    first = project.maps.latest_run_id()
    assert "training run #" in out and REFIT not in out
    assert "prediction      up to date" in _run(project, capsys)

    # four images curated after the training run: held out for it, but fewer than 5 do not choose the threshold
    for r in recs[:4]:
        project.boxes.add(r.id, (2.0, 2.0, 20.0, 20.0), r.class_id)
    out = _run(project, capsys)
    assert "prediction      up to date" in out and REFIT not in out and project.maps.latest_run_id() == first

    # the fifth (two boxes on it): now they choose it, so run predicts again and says why
    fifth = [project.boxes.add(recs[4].id, (4.0, 4.0, 24.0, 24.0), recs[4].class_id),
             project.boxes.add(recs[4].id, (30.0, 5.0, 50.0, 20.0), recs[4].class_id)]
    out = _run(project, capsys)
    second = project.maps.latest_run_id()
    assert second != first
    assert (f"prediction      5 curated images changed since prediction run #{first}: {REFIT}\n"
            f"prediction      prediction run #{second} (from training run #") in out
    assert "training        none: no new maps or proposals" in out          # nothing was trained for it
    config = project.maps.prediction_run_config(second)
    assert config["curated_held_out"] == 5 and config["threshold_source"] == "fit"
    assert "prediction      up to date" in _run(project, capsys)          # refitted: up to date again

    # one of the fifth image's two boxes deleted: still 5 images, but their boxes changed
    project.boxes.delete(fifth[1].id)
    out = _run(project, capsys)
    third = project.maps.latest_run_id()
    assert third != second and f"1 curated image changed since prediction run #{second}: {REFIT}" in out

    # a box moved
    [moved] = project.boxes.list(recs[0].id)
    project.boxes.update(moved.id, (3.0, 3.0, 25.0, 25.0))
    out = _run(project, capsys)
    fourth = project.maps.latest_run_id()
    assert fourth != third and f"1 curated image changed since prediction run #{third}: {REFIT}" in out

    # an image's only box deleted: 4 held out now, below 5, but the run was fitted on 5: the threshold changes back
    [gone] = project.boxes.list(recs[1].id)
    project.boxes.delete(gone.id)
    out = _run(project, capsys)
    fifth_run = project.maps.latest_run_id()
    assert fifth_run != fourth and f"1 curated image changed since prediction run #{fourth}: {REFIT}" in out
    assert project.maps.prediction_run_config(fifth_run)["threshold_source"] != "fit"

    # a box on a test image never chooses the threshold (evaluation reports there): nothing to refit
    project.images.set_split(recs[5].id, "test")
    project.boxes.add(recs[5].id, (2.0, 2.0, 20.0, 20.0), recs[5].class_id)
    out = _run(project, capsys)
    assert "prediction      up to date" in out and project.maps.latest_run_id() == fifth_run

    # --json says it for scripts
    project.boxes.add(recs[1].id, (2.0, 2.0, 20.0, 20.0), recs[1].class_id)
    capsys.readouterr()
    assert run_cli(["run", str(project.path), "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["refit"] == {"curated_images": 1, "since_prediction_run": fifth_run}
    assert said["prediction_run"] == project.maps.latest_run_id() != fifth_run

    # a run recorded before the boxes' digests: compared by its count of held-out images
    older = project.maps.latest_run_id()
    project.maps.update_prediction_run_config(older, {"curated_held_out_boxes": None})
    assert "prediction      up to date" in _run(project, capsys)
    project.images.set_split(recs[5].id, "val")
    out = _run(project, capsys)
    assert f"1 curated image changed since prediction run #{older}: {REFIT}" in out


def test_a_fixed_threshold_is_not_refitted(tiny_prepared, capsys):
    project, _ = tiny_prepared
    recs = sorted(project.images.list(), key=lambda r: r.id)
    project.images.set_splits({r.id: "train" for r in recs})
    capsys.readouterr()
    assert run_cli(["run", str(project.path), "--threshold", "0.6"]) == 0
    first = project.maps.latest_run_id()
    for r in recs[:5]:
        project.boxes.add(r.id, (2.0, 2.0, 20.0, 20.0), r.class_id)
    out = _run(project, capsys)
    assert "prediction      up to date" in out and REFIT not in out and project.maps.latest_run_id() == first
