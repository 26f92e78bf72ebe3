"""Losses: partial CE by hand, CRF behaviour (dense and window), gradients, the Eq. 4 total."""
from __future__ import annotations

import math

import pytest
import torch

from core.dips.losses import LossConfig, cls_loss, crf_loss, crf_loss_dense, crf_weight_for, dips_loss, partial_ce
from core.dips.sampling import IGNORE


def _edge_image(h: int = 20, w: int = 20, edge: int = 12, seed: int = 0) -> torch.Tensor:
    """[1, 3, h, w] 0..255: reddish left of column ``edge``, bluish right, with a little noise."""
    g = torch.Generator().manual_seed(seed)
    img = torch.empty(1, 3, h, w)
    img[0, :, :, :edge] = torch.tensor([200.0, 60.0, 50.0])[:, None, None]
    img[0, :, :, edge:] = torch.tensor([40.0, 70.0, 210.0])[:, None, None]
    return (img + 4 * torch.randn(img.shape, generator=g)).clamp(0, 255)


def _step_probs(h: int, w: int, edge: int, sharp: float = 4.0) -> torch.Tensor:
    """[1, 2, h, w] softmax probabilities whose foreground (channel 1) is the part right of ``edge``."""
    x = torch.arange(w, dtype=torch.float32) + 0.5
    fg = torch.sigmoid(sharp * (x - edge)).expand(h, w)
    return torch.stack([1 - fg, fg])[None]


# ------------------------------------------------------------------------------------------ partial CE

def test_partial_ce_hand_computed_2x2():
    logits = torch.zeros(1, 2, 2, 2)
    logits[0, 1, 0, 1] = math.log(3)      # p_fg = 3/4, label 1 -> -log(3/4)
    logits[0, 0, 1, 1] = math.log(3)      # p_fg = 1/4, label 1 -> -log(1/4)
    logits[0, :, 1, 0] = torch.tensor([100.0, -100.0])  # ignored; would cost 200 if counted as fg
    labels = torch.tensor([[[0, 1], [IGNORE, 1]]])       # (0,0): p = 1/2, label 0 -> log 2
    expected = (math.log(2) - math.log(0.75) - math.log(0.25)) / 3
    assert float(partial_ce(logits, labels)) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.789041, abs=1e-6)


def test_partial_ce_without_labels_is_zero_and_differentiable():
    logits = torch.randn(2, 2, 4, 4, requires_grad=True)
    loss = partial_ce(logits, torch.full((2, 4, 4), IGNORE))
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(logits.grad, torch.zeros_like(logits))


def test_partial_ce_rejects_bad_labels():
    with pytest.raises(ValueError, match="labels must be in 0..1 or IGNORE=255"):
        partial_ce(torch.zeros(1, 2, 2, 2), torch.tensor([[[0, 3], [1, 1]]]))
    with pytest.raises(ValueError, match="labels \\[B, H, W\\]"):
        partial_ce(torch.zeros(1, 2, 2, 2), torch.zeros(1, 3, 3, dtype=torch.long))


# ------------------------------------------------------------------------------------------ CRF

def test_crf_prefers_a_map_aligned_with_the_colour_edge():
    img = _edge_image()
    aligned = _step_probs(20, 20, edge=12)
    shifted = _step_probs(20, 20, edge=8)
    assert float(crf_loss_dense(aligned, img)) < float(crf_loss_dense(shifted, img))
    assert float(crf_loss(aligned, img, scale=1.0, radius=3)) < float(crf_loss(shifted, img, scale=1.0, radius=3))
    assert float(crf_loss(aligned, img, scale=0.5, radius=3)) < float(crf_loss(shifted, img, scale=0.5, radius=3))


def test_window_with_a_radius_covering_the_image_equals_dense():
    g = torch.Generator().manual_seed(1)
    img = 255 * torch.rand(2, 3, 9, 11, generator=g)
    probs = torch.softmax(torch.randn(2, 2, 9, 11, generator=g), 1)
    dense = float(crf_loss_dense(probs, img, sigma_xy=4.0))
    window = float(crf_loss(probs, img, sigma_xy=4.0, scale=1.0, radius=11))
    assert window == pytest.approx(dense, rel=1e-4)
    three = torch.softmax(torch.randn(1, 3, 9, 11, generator=g), 1)  # general K path
    assert float(crf_loss(three, img[:1], scale=1.0, radius=11)) == pytest.approx(
        float(crf_loss_dense(three, img[:1])), rel=1e-4)


def test_window_ranks_maps_like_dense_within_an_order_of_magnitude():
    # Tolerance: the window version orders maps of varying misalignment exactly as the dense one does, and
    # the dense / window energy ratio stays in [1, 20] at 24x24 with radius 5 (measured 4.9..7.7: the window
    # drops the far pairs, so its energy is always the smaller one).
    img = _edge_image(24, 24, edge=14, seed=2)
    maps = [_step_probs(24, 24, edge=e) for e in (14, 12, 11, 8, 4)]
    dense = torch.tensor([float(crf_loss_dense(m, img)) for m in maps])
    window = torch.tensor([float(crf_loss(m, img, scale=1.0, radius=5)) for m in maps])
    assert torch.equal(dense.argsort(), window.argsort())
    assert int(dense.argmin()) == 0                      # the map on the colour edge is the best for both
    ratios = dense / window
    assert ((ratios >= 1.0) & (ratios <= 20.0)).all(), ratios


def test_crf_gradients_flow_and_match_finite_differences():
    img = _edge_image(8, 10, edge=5).double()
    z = torch.randn(1, 2, 8, 10, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: crf_loss(torch.softmax(t, 1), img, sigma_xy=5.0, scale=1.0,
                                                       radius=2), (z,))
    logits = torch.randn(2, 2, 16, 16, requires_grad=True)
    loss = crf_loss(torch.softmax(logits, 1), _edge_image(16, 16).expand(2, -1, -1, -1))  # scale 0.5
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    dense_logits = torch.randn(1, 2, 6, 6, requires_grad=True)
    crf_loss_dense(torch.softmax(dense_logits, 1), _edge_image(6, 6, edge=3)).backward()
    assert dense_logits.grad.abs().sum() > 0


def test_crf_weight_is_the_reference_weight_when_both_kernels_coincide():
    g = torch.Generator().manual_seed(0)
    img = 255 * torch.rand(1, 3, 8, 8, generator=g)
    z = torch.randn(1, 2, 8, 8, generator=g)
    lam = crf_weight_for(z, img, sigma_xy=6.0, scale=1.0, radius=8, ref_columns=None)
    assert float(lam) == pytest.approx(2e-9, rel=1e-3)
    sampled = crf_weight_for(z, img, sigma_xy=6.0, scale=1.0, radius=8, ref_columns=48,
                             generator=torch.Generator().manual_seed(1))
    assert 0.3 * 2e-9 < float(sampled) < 3 * 2e-9           # column-sampled estimate, same ballpark


def test_crf_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="share batch and H x W"):
        crf_loss(torch.rand(1, 2, 8, 8), torch.rand(1, 3, 16, 16))


# ------------------------------------------------------------------------------------------ L_CLS, Eq. 4

def test_cls_loss_reaches_the_foreground_map():
    clf = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 2))
    for p in clf.parameters():
        p.requires_grad_(False)
    fg = torch.rand(2, 8, 8, requires_grad=True)
    loss = cls_loss(torch.randn(2, 3, 16, 16), fg, torch.tensor([0, 1]), clf)  # fg resized to 16x16
    loss.backward()
    assert fg.grad.abs().sum() > 0


def test_dips_loss_parts_and_switches():
    logits = torch.randn(2, 2, 16, 16, requires_grad=True)
    labels = torch.full((2, 16, 16), IGNORE)
    labels[:, 2, 2], labels[:, 12, 12] = 0, 1
    image = _edge_image(16, 16).expand(2, -1, -1, -1)
    cfg = LossConfig(lambda_seed=0.5, lambda_crf=1e-3)
    total, parts = dips_loss(logits, labels, image, cfg)
    assert set(parts) == {"seed", "crf", "total"}
    assert parts["total"] == pytest.approx(parts["seed"] + parts["crf"], rel=1e-6)
    assert parts["seed"] == pytest.approx(0.5 * partial_ce(logits, labels).item(), rel=1e-6)
    total.backward()
    assert logits.grad.abs().sum() > 0
    _, only_seed = dips_loss(logits, labels, image, LossConfig(use_crf=False))
    assert set(only_seed) == {"seed", "total"}
    with pytest.raises(ValueError, match="classifier"):
        dips_loss(logits, labels, image, LossConfig(use_cls=True, lambda_cls=0.669))
    with pytest.raises(ValueError, match="switched off"):
        dips_loss(logits, labels, image, LossConfig(use_seed=False, use_crf=False))
    clf = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 2))
    _, with_cls = dips_loss(logits, labels, image, LossConfig(use_cls=True, lambda_cls=0.669), classifier=clf,
                            targets=torch.tensor([0, 1]))
    assert set(with_cls) == {"seed", "crf", "cls", "total"}
