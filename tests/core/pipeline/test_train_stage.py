"""The training stage: what it trains on, cancelling, the U-Net variant, runs that keep their own head."""
from __future__ import annotations

import pytest
import torch

from core.pipeline import compute_attention, compute_proposals, predict, train
from core.pipeline.train_stage import build_samples
from core.progress import Cancelled, Progress
from core.store.repos.proposals import NewProposal


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


def test_cancelled_training_is_marked_and_leaves_the_project_usable(tiny_prepared):
    project, cfg = tiny_prepared

    def stop(ev):
        if ev.stage == "train" and ev.done >= 1:
            raise Cancelled("user")
    with pytest.raises(Cancelled):
        train(project, cfg, Progress(stop))
    assert project.runs.list()[-1].status == "cancelled"
    assert project.images.count() == 7


def test_workshop_unet_trains_with_the_classifier_term(tiny_prepared):
    project, cfg = tiny_prepared
    # the EfficientNet encoder divides by 32: 64 px labels keep its deepest map at 2x2
    cfg.train.decoder, cfg.train.epochs, cfg.train.lambda_cls, cfg.train.train_res = "unet", 1, 0.669, 64
    run_id = train(project, cfg)
    run = project.runs.get(run_id)
    assert run.status == "finished" and run.history[0]["loss_cls"] > 0
    pred_run = predict(project, run_id, cfg=cfg)
    assert project.maps.prediction(project.images.ids()[0], pred_run).fg_map.shape == (64, 64)


def test_resumed_run_keeps_its_own_head_when_the_defaults_changed(tiny_prepared):
    project, cfg = tiny_prepared
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


def test_a_head_trained_on_other_weights_is_refused_and_old_runs_still_predict(tiny_pipeline, tmp_path):
    project, cfg = tiny_pipeline
    (tmp_path / "a.pth").write_bytes(b"weights a")
    (tmp_path / "b.pth").write_bytes(b"weights b")
    cfg.attention.weights = str(tmp_path / "a.pth")
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    run = project.runs.get(train(project, cfg))
    cfg.attention.weights = str(tmp_path / "b.pth")
    with pytest.raises(ValueError, match=f"Training run #{run.id} was trained on tiny#"):
        predict(project, run.id, cfg=cfg)
    state = torch.load(run.checkpoint_path, weights_only=False)
    state["backbone"] = "tiny@32"                        # as written before weight files were fingerprinted
    torch.save(state, run.checkpoint_path)
    assert predict(project, run.id, cfg=cfg)
