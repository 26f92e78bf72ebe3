"""Heads: output shapes, parameter counts vs the journal, and that a tiny decoder learns from seeds."""
from __future__ import annotations

import pytest
import torch

from core.dips.heads import ClassificationHead, HeadConfig, TokenDecoder, UNetLocalizer, build_localizer, count_params
from core.dips.losses import partial_ce
from core.dips.sampling import IGNORE


def test_classification_head_on_last_four_cls_tokens():
    head = ClassificationHead(384, num_classes=2, n_blocks=4, layer_norm=True)
    x = torch.randn(3, 4, 384)
    assert head(x).shape == (3, 2)
    assert torch.allclose(head(x.flatten(1)), head(x))   # concatenated form accepted too
    with pytest.raises(ValueError, match=r"expects \[B, 4, 384\] CLS tokens, got \(3, 3, 384\)"):
        head(torch.randn(3, 3, 384))


def test_token_decoder_448_from_a_32x32_grid():
    tokens = torch.randn(1, 384, 32, 32)                 # 448 / 14 = 32 patches per side
    with torch.no_grad():
        half = TokenDecoder(384, n_up=4, out_size=448, half_res=True).eval()(tokens)
        dec = TokenDecoder(384, n_up=4, out_size=448, widths=(16, 8, 8, 8)).eval()
        dec.head.bias.copy_(torch.tensor([-5.0, 5.0]))
        full = dec(tokens)
        native = TokenDecoder(384, n_up=2, widths=(16, 8)).eval()(tokens)
    assert half.shape == (1, 2, 448, 448) and full.shape == (1, 2, 448, 448)
    assert native.shape == (1, 2, 128, 128)              # no out_size: grid * 2^n_up
    assert (full[:, 0] < 0).any()                        # raw logits: no ReLU before the softmax


def test_token_decoder_rejects_wrong_width():
    with pytest.raises(ValueError, match="tokens \\[B, 384"):
        TokenDecoder(384)(torch.randn(1, 192, 4, 4))


def test_parameter_counts_vs_the_journal():
    # Journal: both heads 1.616 M parameters (C = 384, CUB: 200 classes, CLS tokens of 4 blocks).
    ours = count_params(TokenDecoder(384, n_up=4))                   # C/2, C/4, C/8, C/16 + 1x1 conv
    half = count_params(TokenDecoder(384, n_up=4, half_res=True))
    journal_like = count_params(TokenDecoder(384, n_up=4, widths=(192, 96, 48, 2)))  # last block -> 2 ch
    f_c = count_params(ClassificationHead(384, num_classes=200, n_blocks=4))
    print(f"\ndecoder {ours} (half_res {half}); with f_c(200 classes) {ours + f_c}; "
          f"journal layout (last block to 2 channels) + f_c = {journal_like + f_c} vs 1,616,000")
    assert ours == 1_323_410 and half == 1_307_810 and f_c == 307_400
    assert abs(journal_like + f_c - 1_616_000) / 1_616_000 < 1e-3


def test_unet_localizer_full_resolution_output():
    net = UNetLocalizer().eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 64, 96)).shape == (1, 2, 64, 96)
        assert net(torch.randn(2, 3, 70, 50)).shape == (2, 2, 70, 50)   # not a multiple of 32
    assert count_params(net.encoder) == 2_958_848                      # tf_efficientnet_lite0 features


def test_build_from_config():
    assert isinstance(build_localizer(HeadConfig(decoder="token", half_res=True, out_size=64), 32), TokenDecoder)
    assert isinstance(build_localizer(HeadConfig(decoder="unet"), 384), UNetLocalizer)
    with pytest.raises(ValueError, match="unknown decoder"):
        build_localizer(HeadConfig(decoder="fpn"), 384)


def test_tiny_decoder_learns_fixed_labels():
    torch.manual_seed(0)
    dec = TokenDecoder(32, n_up=2, widths=(16, 8))
    tokens = torch.randn(4, 32, 4, 4)
    labels = torch.full((4, 16, 16), IGNORE)
    labels[:, :4, :4] = 0
    labels[:, 10:14, 10:14] = 1
    opt = torch.optim.Adam(dec.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = partial_ce(dec(tokens), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_token_projection_makes_the_decoder_far_cheaper_with_the_same_output():
    tokens = torch.randn(2, 384, 32, 32)
    light = TokenDecoder(384, n_up=2, out_size=224, reduce=32)
    journal = TokenDecoder(384, n_up=2, out_size=224)
    assert light(tokens).shape == journal(tokens).shape == (2, 2, 224, 224)
    assert [b[1].out_channels for b in light.blocks] == [32, 16]      # R, R/2 after the 1x1 projection
    assert light.reduce[0].kernel_size == (1, 1) and light.reduce[0].out_channels == 32
    assert count_params(light) * 30 < count_params(journal)
    assert isinstance(build_localizer(HeadConfig(n_up=2, reduce=16), 384).reduce, torch.nn.Sequential)
    with pytest.raises(ValueError, match="reduce"):
        TokenDecoder(384, reduce=0)
