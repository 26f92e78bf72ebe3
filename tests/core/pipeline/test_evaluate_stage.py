"""The evaluation stage, after training and prediction; its command and wsolevaluation metadata."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from core.pipeline import evaluate, predict, train
from core.store.repos.images import ImageFilter


def test_train_predict_evaluate(tiny_prepared):
    project, cfg = tiny_prepared
    run_id = train(project, cfg)
    run = project.runs.get(run_id)
    assert run.status == "finished" and len(run.history) == 2 and os.path.isfile(run.checkpoint_path)
    pred_run = predict(project, run_id, cfg=cfg)
    for rec in project.images.list(ImageFilter(include_missing=False)):
        pred = project.maps.prediction(rec.id, pred_run)
        assert pred is not None and len(pred.class_probs) == 2 and pred.fg_map.shape == (16, 16)
        assert abs(sum(pred.class_probs) - 1) < 1e-4
    a = project.images.by_path("site/a.jpg")
    project.boxes.add_gt(a.id, (10, 10, 30, 30), a.class_id)
    out = evaluate(project, split="all", maps="predicted", details=True)
    assert out["n_images"] == 1 and "MaxBoxAccV2" in out and "BoxAccV2AtOperatingThreshold" in out
    assert out["per_image"][0]["image_id"] == a.id and len(out["curve"]["thresholds"]) == len(out["curve"]["50"])
    assert evaluate(project, split="all", maps="proposal")["n_images"] == 1


def test_evaluate_without_ground_truth_says_how_to_get_it(tiny_pipeline):
    project, _ = tiny_pipeline
    with pytest.raises(ValueError, match="import-coco"):
        evaluate(project, split="all")


def test_evaluate_command_writes_json_and_reads_wsol_metadata(tiny_prepared, tmp_path, capsys):
    from main import main
    project, cfg = tiny_prepared
    a = project.images.by_path("site/a.jpg")
    b = project.images.by_path("site/sub/b.png")
    run = project.maps.new_prediction_run(None, {})
    for img in (a, b):   # predicted map: the red square of a.jpg, nothing useful for b.png
        fg = np.zeros((48, 64), np.float32)
        fg[10:30, 10:30] = 0.9
        project.maps.save_prediction(run, img.id, [0.2, 0.8], fg, [])
    project.boxes.add_gt(a.id, (10, 10, 30, 30), a.class_id)
    project.boxes.add_gt(b.id, (40, 30, 60, 45), b.class_id)
    out = tmp_path / "r.json"
    assert main(["evaluate", str(project.path), "--split", "all", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "MaxBoxAcc" in table
    figures = json.loads(out.read_text())
    assert figures["n_images"] == 2 and figures["maps"] == "predicted"
    assert figures["MaxBoxAccV2"] == pytest.approx(50.0)          # a.jpg found at every IoU, b.png never
    assert figures["BoxAccV2AtOperatingThreshold"]["mean"] == pytest.approx(50.0)
    # the same ground truth as a wsolevaluation metadata folder (only b.png listed)
    meta = tmp_path / "meta"
    meta.mkdir()
    (meta / "image_ids.txt").write_text("site/sub/b.png\n")
    (meta / "class_labels.txt").write_text("site/sub/b.png,0\n")
    (meta / "localization.txt").write_text("site/sub/b.png,40,30,60,45\n")
    assert main(["evaluate", str(project.path), "--split", "all", "--metadata", str(meta), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["n_images"] == 1 and json.loads(out.read_text())["MaxBoxAccV2"] == 0.0


def test_evaluate_command_on_one_image_says_the_split_is_too_small_to_trust(tiny_pipeline, capsys):
    from core.cli import run_cli
    project, _ = tiny_pipeline
    a = project.images.by_path("site/a.jpg")
    run = project.maps.new_prediction_run(None, {})
    fg = np.zeros((48, 64), np.float32)
    fg[10:30, 10:30] = 0.9                                     # exactly the ground truth: 100 %
    project.maps.save_prediction(run, a.id, [0.2, 0.8], fg, [])
    project.boxes.add_gt(a.id, (10, 10, 30, 30), a.class_id)
    capsys.readouterr()
    report = project.path.parent / "eval.json"
    assert run_cli(["evaluate", str(project.path), "--split", "all", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "MaxBoxAccV2 (mean)" in out and "100.00" in out
    assert "WSOL evaluation: 1 image," in out                 # not "1 images"
    caveat = ("only 1 object image: fewer than 30, each one moves these percentages by 100 points; on so few, a box "
              "around the whole image (a model that learned nothing) can score 100 where the objects are large")
    assert f"warning: {caveat}" in out.splitlines()
    assert json.loads(report.read_text())["small_sample_warning"] == caveat       # the same words for scripts


def test_the_small_split_caveat_is_in_the_result_below_30_object_images(tiny_pipeline):
    from core.result_checks import MIN_OBJECT_IMAGES, small_sample_warning
    project, _ = tiny_pipeline
    a = project.images.by_path("site/a.jpg")
    run = project.maps.new_prediction_run(None, {})
    project.maps.save_prediction(run, a.id, [0.2, 0.8], np.zeros((48, 64), np.float32), [])
    project.boxes.add_gt(a.id, (10, 10, 30, 30), a.class_id)
    assert "only 1 object image" in evaluate(project, split="all")["small_sample_warning"]
    assert small_sample_warning(MIN_OBJECT_IMAGES - 1).startswith(f"only {MIN_OBJECT_IMAGES - 1} object images")
    assert small_sample_warning(MIN_OBJECT_IMAGES) is None


def test_a_prediction_run_that_does_not_exist_is_named_as_such(tiny_pipeline, capsys):
    from main import main
    project, _ = tiny_pipeline
    a = project.images.by_path("site/a.jpg")
    run = project.maps.new_prediction_run(None, {})
    project.maps.save_prediction(run, a.id, [0.2, 0.8], np.zeros((48, 64), np.float32), [])
    project.boxes.add_gt(a.id, (10, 10, 30, 30), a.class_id)
    with pytest.raises(ValueError, match=f"no prediction run #{run + 7} \\(the project's prediction runs: #{run};"):
        evaluate(project, split="all", prediction_run=run + 7)
    assert main(["evaluate", str(project.path), "--split", "all", "--prediction-run", str(run + 7)]) == 2
    assert f"no prediction run #{run + 7}" in capsys.readouterr().err


@pytest.mark.parametrize("maps, command", [("predicted", "predict"), ("attention", "attention")])
def test_evaluate_without_maps_says_which_command_to_run_as_the_other_commands_do(tiny_pipeline, capsys, maps,
                                                                                   command):
    from main import main
    project, _ = tiny_pipeline
    a = project.images.by_path("site/a.jpg")
    project.boxes.add_gt(a.id, (10, 10, 30, 30), a.class_id)
    assert main(["evaluate", str(project.path), "--split", "all", "--maps", maps]) == 2
    err = capsys.readouterr().err
    # the words of train ("run 'proposals' first") and predict ("run 'train' first"), not "the predict stage"
    assert f"no {maps} maps for the 'all' images with ground truth (run '{command}' first)" in err
    assert "stage first" not in err


def test_evaluate_maps_takes_proposals_as_the_stage_spells_it(tiny_prepared, capsys):
    from main import main
    project, _ = tiny_prepared
    a = project.images.by_path("site/a.jpg")
    project.boxes.add_gt(a.id, (10, 10, 30, 30), a.class_id)
    assert main(["evaluate", str(project.path), "--split", "all", "--maps", "proposals"]) == 0   # not 'invalid choice'
    plural = capsys.readouterr().out
    assert main(["evaluate", str(project.path), "--split", "all", "--maps", "proposal"]) == 0
    assert plural.startswith("WSOL evaluation") and plural == capsys.readouterr().out   # the same evaluation
