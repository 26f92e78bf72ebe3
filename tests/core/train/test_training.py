"""Training on cached features with tiny heads: the loss falls, runs are deterministic, resume and cancel work."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.progress import Cancelled, Progress
from core.train.config import TrainConfig, head_config
from core.train.data import TrainSample, make_batch, pseudo_labels
from core.train.feature_cache import FeatureCache
from core.train.loop import sampling_config, train_classifier, train_localizer

C, G, R = 16, 8, 32  # token width, token grid, label resolution


def make_cache(tmp_path, n=6):
    """Tokens whose first channel marks a square 'object'; the map highlights it too."""
    rng = np.random.default_rng(0)
    cache = FeatureCache(tmp_path, "tiny@112")
    samples = []
    for i in range(n):
        tokens = rng.normal(size=(C, G, G)).astype(np.float32) * 0.1
        x0 = 1 + i % 4
        tokens[0, 2:5, x0:x0 + 3] += 3.0
        rgb = np.full((3, R, R), 90, np.uint8)
        rgb[:, 8:20, x0 * 4:(x0 + 3) * 4] = 200
        cache.put(f"h{i}", tokens, rng.normal(size=(2, C)), rgb)
        cache.put(f"h{i}", tokens[:, :, ::-1], rng.normal(size=(2, C)), flipped=True)
        m = np.zeros((G, G), np.float32)
        m[2:5, x0:x0 + 3] = 1.0
        box = (x0 / G, 2 / G, (x0 + 3) / G, 5 / G)
        samples.append(TrainSample(f"h{i}", i % 2, np.stack([m, m]), [(box, 1)], [box]))
    return cache, samples


def tiny_cfg(**kw) -> TrainConfig:
    base = dict(epochs=4, batch_size=3, lr=0.05, lr_step=10, train_res=R, decoder_n_up=2, n_pos=20, n_neg=20,
                use_crf=True, seed=1)
    base.update(kw)
    return TrainConfig(**base)


def test_cache_roundtrip_and_flip(tmp_path):
    cache, _ = make_cache(tmp_path, 1)
    plain, flipped = cache.get("h0"), cache.get("h0", flipped=True)
    assert plain.tokens.dtype == np.float16 and plain.tokens.shape == (C, G, G)
    assert np.array_equal(np.asarray(flipped.rgb), np.asarray(plain.rgb)[:, :, ::-1])
    assert cache.has("h0", flipped=True) and not cache.has("other")


def test_pseudo_labels_follow_the_flip(tmp_path):
    _, samples = make_cache(tmp_path, 1)
    gen = torch.Generator().manual_seed(0)
    lab = pseudo_labels(samples[0], R, False, sampling_config(tiny_cfg()), gen)
    labf = pseudo_labels(samples[0], R, True, sampling_config(tiny_cfg()), gen)
    ys, xs = np.nonzero(lab.numpy() == 1)
    ysf, xsf = np.nonzero(labf.numpy() == 1)
    assert xs.min() >= 4 and xs.max() < 16                       # inside the box x in [4, 16)
    assert xsf.min() >= R - 16 and xsf.max() < R - 4             # mirrored


def test_localizer_training_lowers_the_loss_and_is_deterministic(tmp_path):
    cache, samples = make_cache(tmp_path)
    model, history = train_localizer(samples, cache, tiny_cfg(), C, Progress(), torch.device("cpu"))
    assert history[-1]["loss"] < history[0]["loss"]
    _, again = train_localizer(samples, cache, tiny_cfg(), C, Progress(), torch.device("cpu"))
    assert [h["loss"] for h in again] == pytest.approx([h["loss"] for h in history], rel=1e-5)
    # the trained map is higher inside the object than outside
    batch = make_batch(samples[:1], cache, [False], R, sampling_config(tiny_cfg()), torch.Generator())
    fg = torch.softmax(model(batch.tokens), 1)[0, 1].detach()
    fg = torch.nn.functional.interpolate(fg[None, None], size=(R, R))[0, 0]
    assert fg[8:20, 4:16].mean() > fg[24:, :].mean() + 0.2


def test_resume_continues_where_it_stopped(tmp_path):
    cache, samples = make_cache(tmp_path)
    ckpt = tmp_path / "run" / "last.pt"
    events = []

    def stop_in_epoch_3(ev):
        events.append(ev)
        if ev.extra.get("epoch") == 3:
            raise Cancelled("stop")
    with pytest.raises(Cancelled):
        train_localizer(samples, cache, tiny_cfg(), C, Progress(stop_in_epoch_3), torch.device("cpu"), ckpt)
    partial = torch.load(ckpt, weights_only=False)
    assert partial["epoch"] == 2
    _, resumed = train_localizer(samples, cache, tiny_cfg(), C, Progress(), torch.device("cpu"), ckpt)
    _, fresh = train_localizer(samples, cache, tiny_cfg(), C, Progress(), torch.device("cpu"))
    assert len(resumed) == 4
    assert resumed[-1]["loss"] == pytest.approx(fresh[-1]["loss"], rel=1e-4)


def test_cancel_flag_stops_between_steps(tmp_path):
    cache, samples = make_cache(tmp_path)
    progress = Progress()
    progress.cancel()
    with pytest.raises(Cancelled):
        train_localizer(samples, cache, tiny_cfg(), C, progress, torch.device("cpu"))


def test_classifier_head_learns_a_separable_problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 2, 8, generator=g)
    y = (x[:, 0, 0] > 0).long()
    head, acc = train_classifier(x[:30], y[:30], x[30:], y[30:], 2, TrainConfig(cls_epochs=60, cls_lr=0.05),
                                 Progress(), torch.device("cpu"))
    assert acc >= 0.8


def test_lighter_decoder_widths_train_too(tmp_path):
    from core.dips.heads import count_params
    cache, samples = make_cache(tmp_path)
    light, history = train_localizer(samples, cache, tiny_cfg(decoder_widths=[4, 4]), C, Progress(),
                                     torch.device("cpu"))
    journal, _ = train_localizer(samples, cache, tiny_cfg(epochs=1), C, Progress(), torch.device("cpu"))
    assert count_params(light) < count_params(journal)
    assert history[-1]["loss"] < history[0]["loss"]


def test_float16_keeps_the_crf_gradient_only_with_loss_scaling(tmp_path):
    """On a GPU without bfloat16 the heads train in float16: the CRF term's gradients (lambda_2 ~1e-6) fall
    below float16's range unless the loss is scaled. Same check on the CPU, which runs float16 autocast too."""
    from core.dips.heads import build_localizer
    from core.train.loop import loss_config
    from core.train.step import localizer_step
    cache, samples = make_cache(tmp_path, 3)
    cfg = tiny_cfg()
    lcfg = loss_config(cfg)
    lcfg.use_seed = False                     # the CRF term alone
    batch = make_batch(samples, cache, [False] * 3, R, sampling_config(cfg), torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = build_localizer(head_config(cfg), C)

    def gradient(dtype, scale=1.0):
        model.zero_grad()
        loss, _ = localizer_step(model, batch, lcfg, torch.device("cpu"), amp_dtype=dtype)
        (loss * scale).backward()
        return torch.cat([p.grad.flatten() / scale for p in model.parameters() if p.grad is not None])

    exact = gradient(None)
    unscaled, scaled = gradient(torch.float16), gradient(torch.float16, 2.0 ** 16)
    assert (unscaled - exact).norm() / exact.norm() > 0.1
    assert (scaled - exact).norm() / exact.norm() < 0.03


def test_float16_training_scales_the_loss_and_resumes_with_its_scale(tmp_path, monkeypatch):
    from core.train import checkpoint, loop
    monkeypatch.setattr(loop, "training_amp_dtype", lambda device, enabled: torch.float16 if enabled else None)
    cache, samples = make_cache(tmp_path)
    ckpt = tmp_path / "run.pt"
    model, history = train_localizer(samples, cache, tiny_cfg(epochs=2), C, Progress(), torch.device("cpu"), ckpt)
    assert history[-1]["loss"] < history[0]["loss"]
    scale = checkpoint.load_checkpoint(ckpt)["grad_scaler"]["scale"]
    assert scale > 1.0
    _, resumed = train_localizer(samples, cache, tiny_cfg(epochs=3), C, Progress(), torch.device("cpu"), ckpt)
    assert len(resumed) == 3 and resumed[:2] == history
    _, plain = train_localizer(samples, cache, tiny_cfg(amp=False, epochs=1), C, Progress(), torch.device("cpu"),
                               tmp_path / "plain.pt")
    assert checkpoint.load_checkpoint(tmp_path / "plain.pt")["grad_scaler"] is None


def test_curated_boxes_label_every_box_uniformly_and_weigh_w_times(tmp_path):
    """A curated image: both crowns are object (the map is not asked), and W x n+ / W x n- pixels are labelled."""
    _, samples = make_cache(tmp_path, 1)
    left, right = (0.0, 0.0, 0.25, 0.25), (0.5, 0.5, 1.0, 1.0)      # 8x8 and 16x16 label pixels at R = 32
    s = TrainSample("h0", 0, samples[0].maps, [(left, 0), (right, 0)], [left, right], curated=True)
    gen = torch.Generator().manual_seed(0)
    lab = pseudo_labels(s, R, False, sampling_config(tiny_cfg(curated_weight=2.0)), gen).numpy()
    fg, bg = lab == 1, lab == 0
    assert fg.sum() == 40 and bg.sum() == 40                         # 2 x 20 each, no dilation
    inside = np.zeros((R, R), bool)
    inside[0:8, 0:8] = inside[16:32, 16:32] = True
    assert inside[fg].all() and not inside[bg].any()
    assert fg[0:8, 0:8].any() and fg[16:32, 16:32].any()             # every box, not one drawn box
    # weight 0: the image is sampled like a proposal, as before (one box, n+ pixels)
    lab0 = pseudo_labels(s, R, False, sampling_config(tiny_cfg(curated_weight=0.0)), gen).numpy()
    assert (lab0 == 1).sum() <= 3 * 3 * 20 and not ((lab0 == 1)[0:8, 0:8].any() and (lab0 == 1)[16:32, 16:32].any())


def test_curated_boxes_follow_the_flip(tmp_path):
    _, samples = make_cache(tmp_path, 1)
    box = (0.0, 0.0, 0.25, 1.0)
    s = TrainSample("h0", 0, samples[0].maps, [(box, 0)], [box], curated=True)
    lab = pseudo_labels(s, R, True, sampling_config(tiny_cfg(curated_weight=1.0)), torch.Generator().manual_seed(0))
    ys, xs = np.nonzero(lab.numpy() == 1)
    assert xs.min() >= R - 8                                         # mirrored to the right edge


def test_object_free_images_draw_hard_negatives_only_as_asked(tmp_path):
    """bg_hard_frac 0: every negative uniform; 1: every negative where the attention is (here one hot square)."""
    m = np.zeros((1, G, G), np.float32)
    m[0, 0:2, 0:2] = 1.0                                             # attention on 1/16 of the image
    s = TrainSample("h0", 0, m, background_only=True)
    hot = np.zeros((R, R), bool)
    hot[0:10, 0:10] = True                  # the square, widened by the bilinear upsampling's 2 px
    hits = {}
    for frac in (0.0, 1.0):
        cfg = sampling_config(tiny_cfg(bg_hard_frac=frac, n_neg=40))
        lab = pseudo_labels(s, R, False, cfg, torch.Generator().manual_seed(3)).numpy()
        assert (lab == 0).sum() == 40 and (lab == 1).sum() == 0
        hits[frac] = int(hot[lab == 0].sum())
    assert hits[1.0] == 40
    assert hits[0.0] < 15                   # uniform: about 40 x 100 / 1024


def test_by_default_a_curated_image_labels_all_its_boxes_and_weighs_four_proposal_images(tmp_path):
    _, samples = make_cache(tmp_path, 1)
    left, right = (0.0, 0.0, 0.25, 0.25), (0.5, 0.5, 1.0, 1.0)
    s = TrainSample("h0", 0, samples[0].maps, [(left, 0), (right, 0)], [left, right], curated=True)
    cfg = TrainConfig()
    assert cfg.curated_weight == 4.0
    lab = pseudo_labels(s, R, False, sampling_config(cfg), torch.Generator().manual_seed(0)).numpy()
    # 4 x 48 foreground pixels wanted, only 8x8 + 16x16 = 320 inside the boxes: all 192 drawn among them
    assert (lab == 1).sum() == 4 * cfg.n_pos and (lab == 1)[0:8, 0:8].any() and (lab == 1)[16:32, 16:32].any()
    assert (lab == 0).sum() == 4 * cfg.n_neg
