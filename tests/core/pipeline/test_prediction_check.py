"""A model that learned nothing (flat map, one full-frame box per image) is said in words by predict."""
from __future__ import annotations

import json
import math

import numpy as np
import torch

from core.pipeline import compute_attention, compute_proposals, train
from core.result_checks import PredictionCheck, image_is_degenerate


def test_flat_maps_and_full_frame_boxes_are_degenerate_a_bright_region_is_not():
    flat = np.full((16, 16), 0.53, dtype=np.float32)
    spot = np.zeros((16, 16), dtype=np.float32)
    spot[4:8, 4:8] = 0.9
    assert image_is_degenerate(flat, [], 100, 80)
    assert image_is_degenerate(spot, [(0, 0, 100, 80, 0.53)], 100, 80)     # the whole frame
    assert not image_is_degenerate(spot, [(25, 20, 50, 40, 0.9)], 100, 80)
    check = PredictionCheck()
    for _ in range(3):
        check.add(flat, [(0, 0, 100, 80, 0.53)], 100, 80)
    check.add(spot, [(25, 20, 50, 40, 0.9)], 100, 80)
    assert check.record()["degenerate_images"] == 3 and "3 of 4 object images" in check.warning()
    check.add(spot, [], 100, 80)
    check.add(spot, [], 100, 80)
    check.add(spot, [], 100, 80)
    assert check.warning() is None                                       # 3 of 7: not most


def _learned_nothing(run) -> None:
    """The localizer of ``run`` made to answer 0.53 everywhere, as a model trained one epoch on the demo did."""
    state = torch.load(run.checkpoint_path, weights_only=True)
    loc = state["localizer"]
    loc["head.weight"].zero_()
    loc["head.bias"].copy_(torch.tensor([0.0, math.log(0.53 / 0.47)]))
    torch.save(state, run.checkpoint_path)


def test_predict_and_evaluate_of_a_model_that_learned_nothing_warn_in_the_cli_and_the_run_record(tiny_pipeline,
                                                                                                 tmp_path, capsys):
    from core.cli import run_cli
    project, cfg = tiny_pipeline
    cfg.boxes.threshold = 0.5
    from core.pipeline.config import save_config
    save_config(project, cfg)
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    run = project.runs.get(train(project, cfg))
    _learned_nothing(run)
    capsys.readouterr()
    assert run_cli(["predict", str(project.path)]) == 0
    err = capsys.readouterr().err
    assert "warning: The model has not learned where the objects are" in err
    assert "Train longer" in err and "labels" in err
    pred_run = project.maps.prediction_runs()[-1].id
    site = project.images.by_path("site/a.jpg")
    box = project.maps.prediction(site.id, pred_run).boxes[0]
    assert (box.x1 - box.x0) * (box.y1 - box.y0) >= 0.9 * site.width * site.height   # what the user would see
    record = project.maps.prediction_run_config(pred_run)["check"]
    assert record["degenerate_images"] == record["object_images"] > 0
    assert project.maps.prediction_warning() == record["warning"]

    # evaluate scores the same run: its figures come with the very line predict printed, in text and in the JSON
    said = next(line for line in err.splitlines() if line.startswith("warning: The model has not learned"))
    project.boxes.add_gt(site.id, (10, 10, 30, 30), site.class_id)
    figures = tmp_path / "figures.json"
    assert run_cli(["evaluate", str(project.path), "--split", "all", "--json", str(figures)]) == 0
    out = capsys.readouterr().out
    assert "MaxBoxAccV2" in out and said in out.splitlines()
    assert json.loads(figures.read_text())["prediction_warning"] == record["warning"]
    assert run_cli(["evaluate", str(project.path), "--split", "all", "--maps", "attention"]) == 0
    assert "has not learned" not in capsys.readouterr().out      # the attention maps are not the model's


def test_a_model_with_a_bright_region_per_image_gets_no_warning(tiny_prepared, monkeypatch, capsys):
    from core.cli import run_cli
    from core.pipeline import predict_stage
    project, cfg = tiny_prepared
    train(project, cfg)
    real = predict_stage.run_on_cached

    def localized(model, cache, hashes):
        probs, fg = real(model, cache, hashes)
        fg = np.zeros_like(fg)
        fg[:, 4:10, 4:10] = 1.0
        return probs, fg
    monkeypatch.setattr(predict_stage, "run_on_cached", localized)
    capsys.readouterr()
    assert run_cli(["predict", str(project.path)]) == 0
    err = capsys.readouterr().err
    assert "warning" not in err
    last = project.maps.prediction_runs()[-1]
    pred_run = last.id
    # one number per prediction run: its own, which evaluate --prediction-run takes, then the training run's
    assert (f"prediction run #{pred_run} (from training run #{last.training_run_id}) stored "
            f"(evaluate --prediction-run {pred_run} scores it)") in err
    assert project.maps.prediction_run_config(pred_run)["check"]["warning"] is None
    assert project.maps.prediction_warning() is None
    site = project.images.by_path("site/a.jpg")
    project.boxes.add_gt(site.id, (10, 10, 30, 30), site.class_id)
    assert run_cli(["evaluate", str(project.path), "--split", "all"]) == 0
    assert "has not learned" not in capsys.readouterr().out
