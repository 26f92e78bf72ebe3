"""Every stage on a real (tiny) project: what it writes, what it skips, what survives a re-run."""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import pytest
import torch

from core.pipeline import compute_attention, compute_proposals, evaluate, predict, run_all, train
from core.pipeline.train_stage import build_samples
from core.progress import Cancelled, Progress
from core.store.repos.images import ImageFilter
from core.store.repos.proposals import NewProposal


def test_attention_stage_stores_maps_and_skips_what_is_done(tiny_pipeline):
    project, cfg = tiny_pipeline
    assert compute_attention(project, cfg) == 7
    maps = project.maps.attention(project.images.ids()[0])
    assert sorted(maps) == [-1, 0, 1, 2] and maps[0].shape == (4, 4)   # 3 heads + mean on a 4x4 grid
    assert compute_attention(project, cfg) == 0
    assert compute_attention(project, cfg, force=True) == 7


def test_unreadable_image_is_reported_and_the_stage_goes_on(tiny_pipeline):
    project, cfg = tiny_pipeline
    victim = project.images.by_path("no_site/n1.png")
    os.remove(project.images.path(victim))
    assert compute_attention(project, cfg) == 6
    assert "no_site/n1.png" in project.get_meta("last_attention_problems")


def test_proposals_only_for_object_classes_and_decisions_survive(tiny_pipeline):
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    assert compute_proposals(project, cfg) == 4                     # the 4 'site' images, not 'no_site'
    no_site = project.class_id("no_site", create=False)
    for rec in project.images.list(ImageFilter(class_id=no_site)):
        assert project.proposals.list(rec.id) == []
    site_img = project.images.by_path("site/a.jpg")
    props = project.proposals.list(site_img.id)
    assert [p.rank for p in props] == list(range(1, len(props) + 1))
    assert all(0 <= p.x0 < p.x1 <= site_img.width and 0 <= p.y0 < p.y1 <= site_img.height for p in props)
    project.proposals.set_status(props[0].id, "rejected")
    assert compute_proposals(project, cfg) == 0
    compute_proposals(project, cfg, force=True)
    again = project.proposals.list(site_img.id)
    assert any(p.status == "rejected" and p.xyxy == props[0].xyxy for p in again)


def test_curated_boxes_take_precedence_and_rejected_are_never_used(tiny_pipeline):
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    a = project.images.by_path("site/a.jpg")
    b = project.images.by_path("site/sub/b.png")
    project.proposals.replace(a.id, [NewProposal((0, 0, 32, 24), -1, 0.9, 0.9), NewProposal((1, 1, 9, 9), 0, 0.5, 0.5)])
    project.proposals.replace(b.id, [NewProposal((0, 0, 32, 24), -1, 0.9, 0.9), NewProposal((1, 1, 9, 9), 0, 0.5, 0.5)])
    project.boxes.add(a.id, (10, 10, 30, 30), a.class_id)
    project.proposals.set_status(project.proposals.list(b.id)[0].id, "rejected")
    samples = {s.key: s for s in build_samples(project, cfg, [a, b])}
    assert [box for box, _ in samples[a.content_hash].pool] == [(10 / 64, 10 / 48, 30 / 64, 30 / 48)]
    assert [box for box, _ in samples[b.content_hash].pool] == [(1 / 64, 1 / 48, 9 / 64, 9 / 48)]


def test_train_predict_evaluate(tiny_pipeline):
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
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


@pytest.mark.parametrize("f_c_says", ["site", "no_site"])
def test_predicted_boxes_follow_the_image_label_and_f_c_only_where_there_is_none(tiny_pipeline, monkeypatch,
                                                                                  f_c_says):
    """A labelled image gets boxes by its label, whatever f_c says; an unlabelled one as f_c says."""
    from core.data.importer import import_images
    from core.pipeline import predict_stage
    from tests.conftest import make_image
    project, cfg = tiny_pipeline
    make_image(project.image_root / "loose.jpg")          # directly under the root: no label
    import_images(project)
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    run_id = train(project, cfg)
    real = predict_stage.run_on_cached

    def sure(model, cache, hashes):
        probs, fg = real(model, cache, hashes)
        probs = np.eye(len(model.classes), dtype=np.float32)[[model.classes.index(f_c_says)] * len(hashes)]
        fg = np.zeros_like(fg)
        fg[:, 4:10, 4:10] = 1.0                     # one bright square on every image
        return probs, fg
    monkeypatch.setattr(predict_stage, "run_on_cached", sure)
    pred_run = predict(project, run_id, cfg=cfg)
    boxes = {rec.rel_path: project.maps.prediction(rec.id, pred_run).boxes
             for rec in project.images.list(ImageFilter(include_missing=False))}
    empty = [p for p in boxes if p.startswith("no_site/")]
    assert all(boxes[p] for p in boxes if p.startswith("site/"))
    assert empty and not any(boxes[p] for p in empty)
    assert bool(boxes["loose.jpg"]) == (f_c_says == "site")
    assert all(b.score == pytest.approx(1.0) for b in boxes["site/a.jpg"])   # the label is sure: score = mean fg


def test_evaluate_without_ground_truth_says_how_to_get_it(tiny_pipeline):
    project, _ = tiny_pipeline
    with pytest.raises(ValueError, match="import-coco"):
        evaluate(project, split="all")


def test_cancelled_training_is_marked_and_leaves_the_project_usable(tiny_pipeline):
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    compute_proposals(project, cfg)

    def stop(ev):
        if ev.stage == "train" and ev.done >= 1:
            raise Cancelled("user")
    with pytest.raises(Cancelled):
        train(project, cfg, Progress(stop))
    assert project.runs.list()[-1].status == "cancelled"
    assert project.images.count() == 7


def test_run_all_then_nothing_to_do(tiny_pipeline):
    project, cfg = tiny_pipeline
    out = run_all(project, cfg)
    assert out["attention"] == 7 and out["proposals"] == 4 and out["prediction_run"]
    again = run_all(project, cfg)
    assert again["attention"] == 0 and again["proposals"] == 0 and again["train_run"] == out["train_run"]


def test_cli_stage_streams_json_events(tiny_pipeline, capsys):
    from main import main
    project, _ = tiny_pipeline
    assert main(["attention", str(project.path), "--events", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["event"] == "progress" and lines[-1] == {"event": "done", "result": 7}
    assert main(["predict", str(project.path), "--events", "json"]) == 1     # no training run yet
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert last["event"] == "error" and "no finished training run" in last["message"]


def test_efficientnet_scorer_option(tiny_pipeline):
    project, cfg = tiny_pipeline
    cfg.proposals.scorer = "efficientnet"
    compute_attention(project, cfg)
    assert compute_proposals(project, cfg) == 4
    assert list(project.work_dir.glob("scorer_*.pt"))
    probs = [p.class_prob for p in project.proposals.list(project.images.by_path("site/a.jpg").id)]
    assert probs and all(0.0 <= p <= 1.0 for p in probs)


def test_evaluate_command_writes_json_and_reads_wsol_metadata(tiny_pipeline, tmp_path, capsys):
    from main import main
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
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


def test_workshop_unet_trains_with_the_classifier_term(tiny_pipeline):
    project, cfg = tiny_pipeline
    # the EfficientNet encoder divides by 32: 64 px labels keep its deepest map at 2x2
    cfg.train.decoder, cfg.train.epochs, cfg.train.lambda_cls, cfg.train.train_res = "unet", 1, 0.669, 64
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    run_id = train(project, cfg)
    run = project.runs.get(run_id)
    assert run.status == "finished" and run.history[0]["loss_cls"] > 0
    pred_run = predict(project, run_id, cfg=cfg)
    assert project.maps.prediction(project.images.ids()[0], pred_run).fg_map.shape == (64, 64)


def test_resumed_run_keeps_its_own_head_when_the_defaults_changed(tiny_pipeline):
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    cfg.train.decoder_reduce = None

    def stop(ev):
        if ev.stage == "train" and "epoch 2/" in (ev.message or ""):
            raise Cancelled("user")
    with pytest.raises(Cancelled):
        train(project, cfg, Progress(stop))
    run_id = project.runs.list()[-1].id
    cfg.train.decoder_reduce = 8                       # today's default differs from the run's head
    assert train(project, cfg, resume_run=run_id) == run_id
    run = project.runs.get(run_id)
    assert run.status == "finished" and len(run.history) == 2
    assert predict(project, run_id, cfg=cfg)


def test_checkpoint_from_before_the_token_projection_still_predicts(tiny_pipeline):
    import torch
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    cfg.train.decoder_reduce = None
    run = project.runs.get(train(project, cfg))
    state = torch.load(run.checkpoint_path, weights_only=False)
    del state["train_config"]["decoder_reduce"]        # as written by the first release
    torch.save(state, run.checkpoint_path)
    cfg.train.decoder_reduce = 8
    pred_run = predict(project, run.id, cfg=cfg)
    rec = project.images.list()[0]
    assert project.maps.prediction(rec.id, pred_run).fg_map.shape == (16, 16)


def test_predict_with_an_unknown_run_says_so(tiny_pipeline):
    project, cfg = tiny_pipeline
    with pytest.raises(ValueError, match="no finished training run"):
        predict(project, 99, cfg=cfg)


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


def test_bf16_scoring_gives_the_float32_probabilities_within_bf16_rounding(tiny_pipeline):
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    site = project.images.by_path("site/a.jpg")
    probs = {}
    for precision in ("float32", "bfloat16"):
        cfg.proposals.scoring_precision = precision
        compute_proposals(project, cfg, force=True)
        probs[precision] = {p.xyxy: p.class_prob for p in project.proposals.list(site.id)}
    assert probs["float32"].keys() == probs["bfloat16"].keys() and probs["float32"]
    assert max(abs(probs["float32"][k] - probs["bfloat16"][k]) for k in probs["float32"]) < 0.03


def test_bf16_encoding_gives_nearly_the_float32_attention_maps(tiny_pipeline):
    project, cfg = tiny_pipeline
    img = project.images.ids()[0]
    maps = {}
    for precision in ("float32", "bfloat16"):
        cfg.attention.precision = precision
        compute_attention(project, cfg, force=True)
        maps[precision] = project.maps.attention(img)
    for head in maps["float32"]:
        a, b = maps["float32"][head].astype(float), maps["bfloat16"][head].astype(float)
        assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.98


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


def test_changed_proposal_settings_redo_every_image_once_and_a_cancelled_redo_resumes(tiny_pipeline):
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    assert compute_proposals(project, cfg) == 4
    cfg.proposals.scoring_precision = "bfloat16"           # scores move by rounding only: nothing to redo
    cfg.proposals.K = 2
    assert compute_proposals(project, cfg) == 0
    cfg.proposals.max_area_frac = 0.2                       # ranks can change: every image again
    seen = []

    def stop_after_two(ev):
        if ev.stage == "proposals" and ev.done >= 1:
            seen.append(ev.done)
            if ev.done == 2:
                raise Cancelled("user")
    with pytest.raises(Cancelled):
        compute_proposals(project, cfg, Progress(stop_after_two))
    assert compute_proposals(project, cfg) == 2             # the two not redone yet
    assert compute_proposals(project, cfg) == 0


def test_proposals_made_before_settings_were_recorded_are_redone_once(tiny_pipeline):
    from core.pipeline.proposal_stage import META_SETTINGS
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    with project.transaction() as s:                      # a project from the first release
        from core.store.schema import Meta
        s.delete(s.get(Meta, META_SETTINGS))
    assert compute_proposals(project, cfg) == 4
    assert compute_proposals(project, cfg) == 0


def test_prediction_run_records_its_threshold_and_evaluation_uses_it(tiny_pipeline):
    from core.pipeline.predict_stage import THRESHOLD_GRID
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    pred_run = predict(project, train(project, cfg), cfg=cfg)
    tau = project.maps.prediction_run_config(pred_run)["operating_threshold"]
    assert tau in THRESHOLD_GRID or tau == 0.5
    a = project.images.by_path("site/a.jpg")
    project.boxes.add_gt(a.id, (10, 10, 30, 30), a.class_id)
    assert evaluate(project, split="all", maps="predicted")["operating_threshold"] == tau


def test_other_weights_under_the_same_backbone_name_are_computed_afresh(tiny_pipeline, tmp_path):
    project, cfg = tiny_pipeline
    teacher, student = tmp_path / "teacher.pth", tmp_path / "student.pth"
    teacher.write_bytes(b"teacher weights")
    student.write_bytes(b"student weights")
    cfg.attention.weights = str(teacher)
    assert compute_attention(project, cfg) == 7
    cfg.attention.weights = str(student)
    key_student = cfg.backbone_key
    assert compute_attention(project, cfg) == 7            # not the teacher's maps under the same name
    cfg.attention.weights = str(teacher)
    assert compute_attention(project, cfg) == 0            # back to the teacher: its maps are still there
    assert key_student != cfg.backbone_key and cfg.backbone_key.startswith("tiny#")
    assert sorted(p.name for p in (project.work_dir / "features").iterdir()) == sorted(
        k.replace("/", "_").replace(":", "_") for k in (cfg.backbone_key, key_student))


def test_a_head_trained_on_other_weights_is_refused_and_old_runs_still_predict(tiny_pipeline, tmp_path):
    import torch
    project, cfg = tiny_pipeline
    (tmp_path / "a.pth").write_bytes(b"weights a")
    (tmp_path / "b.pth").write_bytes(b"weights b")
    cfg.attention.weights = str(tmp_path / "a.pth")
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    run = project.runs.get(train(project, cfg))
    cfg.attention.weights = str(tmp_path / "b.pth")
    with pytest.raises(ValueError, match=f"run {run.id} was trained on tiny#"):
        predict(project, run.id, cfg=cfg)
    state = torch.load(run.checkpoint_path, weights_only=False)
    state["backbone"] = "tiny@32"                        # as written before weight files were fingerprinted
    torch.save(state, run.checkpoint_path)
    assert predict(project, run.id, cfg=cfg)


def test_zoom_context_is_saved_and_redoes_the_proposals(tiny_pipeline):
    import json

    from core.pipeline.config import load_config
    from core.pipeline.proposal_stage import META_SETTINGS
    from main import main
    project, cfg = tiny_pipeline
    cfg.proposals.zoom_context = 0.0
    compute_attention(project, cfg)
    assert compute_proposals(project, cfg) == 4
    assert "zoom_context" not in json.loads(project.get_meta(META_SETTINGS))   # off: keys from before still match
    before = {r.rel_path: [p.score for p in project.proposals.list(r.id)]
              for r in project.images.list() if r.rel_path.startswith("site/a")}
    assert main(["proposals", str(project.path), "--zoom-context", "1.0"]) == 0
    assert load_config(project).proposals.zoom_context == 1.0
    assert json.loads(project.get_meta(META_SETTINGS))["zoom_context"] == 1.0
    assert project.get_meta("proposals_pending") == "[]"                     # all four redone
    after = {r.rel_path: [p.score for p in project.proposals.list(r.id)]
             for r in project.images.list() if r.rel_path.startswith("site/a")}
    assert after != before                                                  # scores now include the crop's


def test_deletion_scoring_redoes_proposals_but_its_arrival_did_not(tiny_pipeline):
    import json

    from core.pipeline.proposal_stage import META_SETTINGS
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    assert compute_proposals(project, cfg) == 4
    assert "deletion" not in json.loads(project.get_meta(META_SETTINGS))   # keys written before it existed still match
    from core.pipeline.config import load_config
    from main import main
    assert main(["proposals", str(project.path), "--deletion"]) == 0
    assert load_config(project).proposals.deletion is True
    assert json.loads(project.get_meta(META_SETTINGS))["deletion"] is True
    assert project.get_meta("proposals_pending") == "[]"                 # all four redone
    assert main(["proposals", str(project.path), "--no-deletion"]) == 0
    assert load_config(project).proposals.deletion is False


def test_the_proposal_scorer_does_not_depend_on_the_training_seed(tiny_pipeline):
    """f_x is trained once per project and cached: which training seed happens to run first must not change it."""
    import shutil

    from core.pipeline.scorer import get_scorer
    project, cfg = tiny_pipeline
    s = cfg.proposals.scoring_size
    x = torch.rand(3, 3, s, s, generator=torch.Generator().manual_seed(1))
    probs = []
    for seed in (0, 7):
        cfg.train.seed = seed
        shutil.rmtree(project.work_dir, ignore_errors=True)     # no cached scorer: train it afresh
        probs.append(get_scorer(project, cfg, Progress())(x))
    assert torch.allclose(probs[0], probs[1])
