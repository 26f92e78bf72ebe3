"""core/settings.py: one field per setting, from which the command line and the panel's command line are made."""
from __future__ import annotations

import argparse

import pytest

from core.cli import build_parser
from core.settings import Settings, TrainConfig, default_widths, load_settings, parse_widths, save_settings
from core.settings_cli import apply_cli, options, share, stage_argv


def test_default_widths_halve_from_R_or_from_C_over_2_never_below_8():
    assert default_widths(2, 32, 384) == (32, 16)
    assert default_widths(2, None, 384) == (192, 96)        # the journal's C/2, C/4
    assert default_widths(3, 16, 384) == (16, 8, 8)


def test_parse_widths_reads_what_people_type_and_says_what_is_wrong():
    assert parse_widths(" 24, 12 ") == [24, 12]
    assert parse_widths("  ") is None                         # empty: the default
    with pytest.raises(ValueError, match="comma-separated"):
        parse_widths("24;12")
    with pytest.raises(ValueError, match="at least 1"):
        parse_widths("24,0")


def test_help_shows_each_options_default_from_its_field(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--n-neg N_NEG n-: pixels outside all boxes taken as background" in text and "(default 48; pixels)" in text
    assert "--crf, --no-crf" in text and "(default: on)" in text


def test_every_option_a_stage_names_is_on_its_command_line():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for opt in options():
        for stage in opt.meta["stages"]:
            flags = {f for a in sub.choices[stage]._actions for f in a.option_strings}
            assert f"--{opt.meta['cli']}" in flags, (stage, opt.name)


def test_the_panels_command_line_gives_back_every_shown_setting():
    """What the GUI sends to `main.py train` is read back into the same settings, defaults included."""
    sent = Settings()
    t = sent.train
    t.epochs, t.lr, t.K, t.n_pos, t.n_neg, t.lambda_crf, t.use_crf = 3, 1e-3, 2, 10, 20, 7.5e-8, False
    t.decoder_reduce, t.decoder_widths, t.device = None, [24, 12], "cpu"
    share(sent, "train")
    argv = stage_argv(sent, "train", "p.dips")
    assert argv[:4] == ["train", "p.dips", "--events", "json"]
    assert "--lambda-cls" not in argv                        # the U-Net's alone: not for a token decoder
    got = Settings()
    assert apply_cli(got, build_parser().parse_args(argv))
    assert got == sent


def test_default_and_zero_put_optional_settings_back_to_none():
    s = Settings()
    s.train.lambda_crf, s.train.decoder_widths, s.attention.weights = 1.0, [8, 8], "w.pth"
    apply_cli(s, build_parser().parse_args(["train", "p", "--lambda-crf", "default", "--decoder-widths", "default",
                                            "--decoder-reduce", "0"]))
    apply_cli(s, build_parser().parse_args(["attention", "p", "--weights", "default"]))
    assert (s.train.lambda_crf, s.train.decoder_widths, s.train.decoder_reduce, s.attention.weights) == (
        None, None, None, None)


def test_one_option_sets_every_field_it_names():
    s = Settings()
    apply_cli(s, build_parser().parse_args(["run", "p", "--K", "3", "--device", "cpu", "--precision", "float32"]))
    assert (s.proposals.K, s.train.K, s.device, s.train.device) == (3, 3, "cpu", "cpu")
    assert s.attention.precision == s.proposals.scoring_precision == "float32"


class _Meta:
    path = "p.dips"

    def __init__(self):
        self.meta = {}

    def get_meta(self, key):
        return self.meta.get(key)

    def set_meta(self, key, value):
        self.meta[key] = value


def test_saved_settings_round_trip_and_unknown_keys_of_other_versions_are_ignored():
    project = _Meta()
    s = Settings()
    s.train.n_neg, s.proposals.deletion = 12, True
    save_settings(project, s)
    assert load_settings(project) == s
    project.meta["pipeline_config"] = '{"train": {"n_neg": 5, "gone": 1}, "attention": {"input_size": 224}}'
    back = load_settings(project)
    assert (back.train.n_neg, back.attention.input_size, back.train.epochs) == (5, 224, TrainConfig().epochs)


def test_unreadable_saved_settings_name_the_project_or_fall_back_to_defaults():
    project = _Meta()
    project.meta["pipeline_config"] = "{not json"
    with pytest.raises(ValueError, match="p.dips: saved settings"):
        load_settings(project)
    assert load_settings(project, fallback=True) == Settings()


def test_a_checkpoint_from_before_the_token_projection_rebuilds_the_journal_head():
    assert TrainConfig.from_checkpoint({"epochs": 2}).decoder_reduce is None
    assert TrainConfig.from_checkpoint({"decoder_reduce": 16}).decoder_reduce == 16


def test_settings_load_without_torch():
    """The GUI reads the settings on its own thread: importing them must not pull in torch (seconds)."""
    import subprocess
    import sys
    code = "import sys, core.settings, core.settings_cli, core.stages, core.events; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_clip_percentile_is_on_the_proposals_command_line_and_saved():
    s = Settings()
    assert apply_cli(s, build_parser().parse_args(["proposals", "p", "--clip-percentile", "100"]))
    assert s.proposals.clip_percentile == 100.0


def test_a_value_out_of_range_is_refused_before_anything_is_saved(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "p", "--epochs", "0"])
    assert "below the smallest value, 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["proposals", "p", "--clip-percentile", "120"])
    assert "argument --clip-percentile: 120 is above the largest value, 100" in capsys.readouterr().err


def test_a_threshold_above_1_is_refused_in_the_options_words_not_the_dataclass(tmp_path, capsys):
    from main import main
    with pytest.raises(SystemExit) as exc:
        main(["predict", str(tmp_path / "p.dips"), "--threshold", "1.5"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --threshold: 1.5 is above the largest value, 1.0" in err and "BoxDrawConfig" not in err


def test_background_classes_can_be_named_on_the_command_line_and_put_back():
    s = Settings()
    apply_cli(s, build_parser().parse_args(["proposals", "p", "--background-classes", "clutter, sky"]))
    assert s.background_classes == ["clutter", "sky"]
    assert s.is_background("sky") and not s.is_background("no_site")      # the list replaces the name rule
    apply_cli(s, build_parser().parse_args(["train", "p", "--background-classes", "default"]))
    assert s.background_classes is None and s.is_background("no_site")


def test_box_drawing_settings_are_a_saved_section_with_their_predict_options():
    project = _Meta()
    s = Settings()
    apply_cli(s, build_parser().parse_args(["predict", "p", "--merge-gap", "0.5", "--box-score", "mass",
                                            "--min-rel-area", "0.1", "--grabcut", "--threshold", "0.7"]))
    assert (s.boxes.merge_gap, s.boxes.score, s.boxes.min_rel_area, s.boxes.grabcut, s.boxes.threshold) == (
        0.5, "mass", 0.1, True, 0.7)
    save_settings(project, s)
    assert load_settings(project).boxes == s.boxes
    project.meta["pipeline_config"] = '{"train": {"n_neg": 5}}'          # saved before the section existed
    assert load_settings(project).boxes == Settings().boxes
    with pytest.raises(SystemExit):                                     # refused as the option is read
        build_parser().parse_args(["predict", "p", "--threshold", "1.5"])


def test_a_top_level_option_alone_counts_as_given_so_it_is_saved():
    s = Settings()
    assert apply_cli(s, build_parser().parse_args(["proposals", "p", "--background-classes", "meadow"]))
    assert s.background_classes == ["meadow"]
    assert not apply_cli(Settings(), build_parser().parse_args(["proposals", "p"]))


@pytest.mark.parametrize("command", ["import-images", "import-coco", "export", "info", "train", "evaluate"])
def test_every_command_says_what_its_project_argument_is(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    assert "project file (.dips)" in capsys.readouterr().out


def test_only_natural_bounds_are_refused_above_on_the_command_line():
    args = build_parser().parse_args(["train", "p", "--epochs", "2000"])   # the window's editor stops at 1000
    assert args.epochs == 2000
