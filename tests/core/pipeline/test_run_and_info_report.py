"""`run` prints what it did in words (JSON only with --json); `info` names the latest prediction run and how much
of it is reviewed."""
from __future__ import annotations

import json
import re

import numpy as np

from core.cli import run_cli
from core.run_figures import threshold_words


def assert_runs_named(text: str) -> None:
    """Every run in ``text`` is named as a training run or a prediction run: 'run #N' alone is never printed."""
    named = re.findall(r"(\w+ )?run #\d+", text)
    assert named and set(named) <= {"training ", "prediction "}, text


def test_run_prints_a_summary_json_on_request_and_info_reports_the_latest_prediction(tiny_pipeline, monkeypatch,
                                                                                     capsys):
    from core.pipeline import predict_stage
    project, _ = tiny_pipeline
    real = predict_stage.run_on_cached

    def two_spots(model, cache, hashes):   # two separate regions per image: two boxes on every site image
        probs, fg = real(model, cache, hashes)
        fg = np.zeros_like(fg)
        fg[:, 1:5, 1:5] = 1.0
        fg[:, 10:15, 10:15] = 1.0
        return probs, fg
    monkeypatch.setattr(predict_stage, "run_on_cached", two_spots)
    capsys.readouterr()
    assert run_cli(["run", str(project.path)]) == 0
    out = capsys.readouterr().out
    assert "{" not in out                                   # no raw JSON
    train_run = project.runs.latest_finished().id
    pred_run = project.maps.latest_run_id()
    counts = project.maps.prediction_run_counts(pred_run)
    n_images = len(project.images.list())
    sites = [i for i in project.images.list() if i.rel_path.startswith("site/")]
    assert counts["boxes"] == 2 * len(sites) and counts["images_with_boxes"] == len(sites)
    assert "attention maps  " in out and f"training        training run #{train_run} finished: 2 epochs on " in out
    assert (f"prediction      prediction run #{pred_run} (from training run #{train_run}): {2 * len(sites)} boxes on "
            f"{len(sites)} of {n_images} images; reviewed 0 (0 accepted, 0 rejected), {2 * len(sites)} pending; "
            f"{threshold_words(project.maps.prediction_run_config(pred_run))}") in out
    assert "; τ 0." in out                                  # how the run chose its threshold, in words

    assert run_cli(["run", str(project.path), "--json"]) == 0   # up to date: nothing recomputed
    assert json.loads(capsys.readouterr().out) == {"attention": 0, "proposals": 0, "trained": False,
                                                   "train_run": train_run}
    assert run_cli(["run", str(project.path)]) == 0              # ... and said so, not "run #1 finished" again
    again = capsys.readouterr().out
    assert (f"training        none: nothing new to learn from since training run #{train_run} (--retrain trains again)"
            in again)
    assert "prediction      up to date" in again and "finished" not in again
    # a box curated since on a training image: run does not retrain on it, and says so rather than "nothing new"
    trained_on = set(project.runs.get(train_run).metrics["curated_images"])
    fresh = next(r for r in project.images.list() if r.split == "train" and r.id not in trained_on)
    box = project.boxes.add(fresh.id, (2.0, 2.0, 20.0, 20.0), fresh.class_id)
    assert run_cli(["run", str(project.path)]) == 0
    curated = capsys.readouterr().out
    assert (f"training        none: no new maps or proposals since training run #{train_run}; 1 training image curated "
            "since it trained, which only a new training run learns (--retrain)") in curated
    project.boxes.delete(box.id)

    # box-drawing options on run (as on predict): saved, and the boxes drawn again from the same model
    assert run_cli(["run", str(project.path), "--min-rel-area", "0.5", "--merge-gap", "0.1"]) == 0
    redrawn = capsys.readouterr().out
    new_pred = project.maps.latest_run_id()
    assert new_pred != pred_run and project.maps.prediction_runs()[-1].training_run_id == train_run
    drawn = project.maps.prediction_run_config(new_pred)["boxes"]
    assert drawn["min_rel_area"] == 0.5 and drawn["merge_gap"] == 0.1
    assert f"prediction      prediction run #{new_pred} (from training run #{train_run}): " in redrawn
    assert "training        none: nothing new to learn from" in redrawn
    pred_run = new_pred

    boxes = project.maps.prediction(sites[0].id).boxes
    project.predicted.accept(boxes[0].id, sites[0].class_id)
    project.predicted.set_status(boxes[1].id, "rejected")
    assert run_cli(["info", str(project.path)]) == 0
    info = capsys.readouterr().out
    assert (f"predicted  prediction run #{pred_run} (from training run #{train_run}): {2 * len(sites)} boxes on "
            f"{len(sites)} of {n_images} images; reviewed 2 (1 accepted, 1 rejected), {2 * len(sites) - 2} pending; "
            f"{threshold_words(project.maps.prediction_run_config(pred_run))}") in info
    assert len(project.runs.list()) == 1 and f"training   1 run; last training run #{train_run} finished" in info
    assert "1 run(s)" not in info
    for said in (out, again, curated, redrawn, info):   # a training run is never a bare "run #N" beside the other
        assert_runs_named(said)
    assert pred_run != train_run       # the number info names is the one evaluate takes, not the training run's
    project.boxes.add_gt(sites[0].id, (10, 10, 30, 30), sites[0].class_id)
    assert run_cli(["evaluate", str(project.path), "--split", "all", "--prediction-run", str(pred_run)]) == 0
    assert run_cli(["evaluate", str(project.path), "--split", "all", "--prediction-run", str(pred_run + 5)]) == 2
    assert (f"no prediction run #{pred_run + 5} (the project's prediction runs: #1, #{pred_run}; 'info' names "
            "the latest)") in capsys.readouterr().err
    assert project.maps.latest_boxes_count() == (2 * len(sites), len(sites))


def test_train_prints_what_it_trained_in_words_json_on_request(tiny_prepared, capsys):
    project, cfg = tiny_prepared
    capsys.readouterr()
    assert run_cli(["train", str(project.path)]) == 0
    out = capsys.readouterr().out
    run = project.runs.latest_finished()
    n_train = run.metrics["n_train"]
    assert "{" not in out                                   # no raw JSON
    assert out.startswith(f"training run #{run.id} finished: 2 epochs on {n_train} training image")
    assert f"final loss {run.metrics['final_loss']:.4f}" in out
    assert f"next: python main.py predict {project.path}" in out
    assert_runs_named(out)

    assert run_cli(["train", str(project.path), "--json"]) == 0
    again = project.runs.latest_finished()
    assert json.loads(capsys.readouterr().out) == {"train_run": again.id, "status": "finished",
                                                   "metrics": again.metrics}


def test_run_takes_the_same_box_drawing_options_as_predict():
    import argparse

    from core.cli import build_parser
    from core.settings_cli import options
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))

    def flags(stage):
        return {f for a in sub.choices[stage]._actions for f in a.option_strings}
    drawing = {f"--{o.meta['cli']}" for o in options("boxes") if o.meta["cli"]}
    assert {"--min-rel-area", "--grabcut", "--no-grabcut", "--threshold", "--box-score"} <= drawing | {"--no-grabcut"}
    assert drawing <= flags("predict") and drawing <= flags("run")
