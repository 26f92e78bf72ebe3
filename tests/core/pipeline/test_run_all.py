"""run_all: every stage in order, then nothing left to do."""
from __future__ import annotations

from core.pipeline import run_all


def test_run_all_then_nothing_to_do(tiny_pipeline):
    project, cfg = tiny_pipeline
    out = run_all(project, cfg)
    assert out["attention"] == 7 and out["proposals"] == 4 and out["prediction_run"]
    again = run_all(project, cfg)
    assert again["attention"] == 0 and again["proposals"] == 0 and again["train_run"] == out["train_run"]


def test_run_predicts_with_a_training_run_trained_since_the_latest_prediction_and_says_so(tiny_pipeline, capsys):
    from core.cli import run_cli
    from core.pipeline import train

    project, cfg = tiny_pipeline
    first = run_all(project, cfg)
    newer = train(project, cfg)     # `train` (or the window) after the prediction: its model has predicted nothing
    assert newer != first["train_run"]
    capsys.readouterr()
    assert run_cli(["info", str(project.path)]) == 0
    info = capsys.readouterr().out
    assert f"predicted  prediction run #{first['prediction_run']} (from training run #{first['train_run']})" in info
    assert f"\n           training run #{newer} has not predicted yet: 'predict' (or 'run') draws its boxes" in info
    assert run_cli(["run", str(project.path)]) == 0
    out = capsys.readouterr().out
    latest = project.maps.latest_run_id()
    assert latest != first["prediction_run"]
    assert (f"training        none: nothing new to learn from since training run #{newer} (--retrain trains again)\n"
            f"prediction      training run #{newer} has not predicted yet (the latest prediction is prediction run "
            f"#{first['prediction_run']}, from training run #{first['train_run']}): predicting with it\n"
            f"prediction      prediction run #{latest} (from training run #{newer})") in out
    assert run_all(project, cfg).get("prediction_run") is None      # now up to date
    assert run_cli(["info", str(project.path)]) == 0
    assert "has not predicted yet" not in capsys.readouterr().out


def test_info_of_a_project_trained_but_never_predicted_says_what_draws_the_boxes(tiny_prepared, capsys):
    from core.cli import run_cli
    from core.pipeline import train

    project, cfg = tiny_prepared
    run = train(project, cfg)
    capsys.readouterr()
    assert run_cli(["info", str(project.path)]) == 0
    assert (f"\npredicted  training run #{run} has not predicted yet: 'predict' (or 'run') draws its boxes"
            in capsys.readouterr().out)
