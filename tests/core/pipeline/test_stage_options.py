"""The stages' command line: JSON events, options saved with the project, bad values refused early."""
from __future__ import annotations

import argparse
import json

import pytest


def test_cli_stage_streams_json_events(tiny_pipeline, capsys):
    from main import main
    project, _ = tiny_pipeline
    assert main(["attention", str(project.path), "--events", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["event"] == "progress" and lines[-1] == {"event": "done", "result": 7}
    assert main(["predict", str(project.path), "--events", "json"]) == 1     # no training run yet
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert last["event"] == "error" and "no finished training run" in last["message"]


def _apply_cli(project, stage: str, *options: str):
    """What a CLI stage does with its options before it runs: parse them, apply them to the project's saved
    settings, save those. Returns the settings the stage runs with."""
    from core.cli import build_parser
    from core.cli_stages import _cfg
    return _cfg(project, build_parser().parse_args([stage, str(project.path), *options]))


def test_cli_decoder_options_are_saved_with_the_project(tiny_pipeline):
    from core.pipeline.config import load_config
    project, _ = tiny_pipeline
    journal = _apply_cli(project, "train", "--decoder-reduce", "0")
    assert journal.train.decoder_reduce is None and load_config(project).train.decoder_reduce is None
    light = _apply_cli(project, "train", "--decoder-reduce", "16", "--decoder-widths", "16, 8")
    assert load_config(project).train.decoder_reduce == 16 and light.train.decoder_widths == [16, 8]
    _apply_cli(project, "train", "--epochs", "3")          # an option not given keeps the saved value
    assert load_config(project).train.decoder_widths == [16, 8]
    _apply_cli(project, "train", "--decoder-widths", "default")
    assert load_config(project).train.decoder_widths is None
    _apply_cli(project, "train", "--decoder", "unet", "--lambda-cls", "0.25")
    assert load_config(project).train.lambda_cls == 0.25 and load_config(project).train.decoder == "unet"


def test_cli_puts_crf_settings_back_to_their_defaults(tiny_pipeline):
    from core.pipeline.config import load_config
    project, _ = tiny_pipeline
    _apply_cli(project, "train", "--no-crf", "--lambda-crf", "2e-6")
    assert (load_config(project).train.use_crf, load_config(project).train.lambda_crf) == (False, 2e-6)
    _apply_cli(project, "train", "--crf", "--lambda-crf", "default")
    assert (load_config(project).train.use_crf, load_config(project).train.lambda_crf) == (True, None)


def test_cli_weights_default_goes_back_to_the_shipped_weights(tiny_pipeline, tmp_path):
    from core.pipeline.config import load_config
    project, _ = tiny_pipeline
    mine = tmp_path / "mine.pth"
    _apply_cli(project, "attention", "--weights", str(mine))
    assert load_config(project).attention.weights == str(mine)
    _apply_cli(project, "attention", "--weights", "default")
    assert load_config(project).attention.weights is None


@pytest.mark.parametrize("widths, reason", [("32,x", "not a comma-separated list"), ("32,0", "at least 1")])
def test_cli_refuses_bad_decoder_widths_before_touching_the_project(widths, reason, capsys):
    from core.cli import build_parser
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "p.dips", "--decoder-widths", widths])
    assert reason in capsys.readouterr().err


def test_unknown_precision_is_refused_when_the_config_is_read():
    from core.dips.attention import AttentionConfig
    from core.dips.proposals import ProposalConfig
    with pytest.raises(ValueError, match="precision"):
        AttentionConfig(precision="half")
    with pytest.raises(ValueError, match="scoring_precision"):
        ProposalConfig(scoring_precision="fp16")


def test_cli_precision_applies_to_the_encoder_and_the_scorer(tiny_pipeline):
    from core.cli_stages import _cfg
    from core.pipeline.config import load_config
    project, _ = tiny_pipeline
    _cfg(project, argparse.Namespace(precision="float32"))
    saved = load_config(project)
    assert saved.attention.precision == saved.proposals.scoring_precision == "float32"
