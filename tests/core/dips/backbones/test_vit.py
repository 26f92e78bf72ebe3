"""Backbone.features on tiny random ViTs: shapes, attention, sizes, agreement with timm's own forward."""
from __future__ import annotations

import pytest
import torch

from core.dips.backbones import Backbone, WeightsError, load_backbone

from .helpers import images, tiny_backbone, tiny_vit


def test_shapes_and_attention_mass():
    bb = tiny_backbone()
    f = bb.features(images(b=2))
    assert f.attn.shape == (2, 3, 4, 4)  # [B, heads, gh, gw]: 32 px / patch 8
    assert f.patch_tokens.shape == (2, 48, 4, 4)
    assert f.cls_tokens.shape == (2, 2, 48)  # depth 2: only 2 blocks to take the CLS from
    assert f.attn.dtype == f.patch_tokens.dtype == f.cls_tokens.dtype == torch.float32
    mass = f.attn.sum(dim=(-1, -2))  # CLS->patch share of each head (the rest goes to the CLS itself)
    assert (f.attn >= 0).all()
    assert ((mass > 0) & (mass <= 1 + 1e-6)).all()
    assert bb.cls_dim == 2 * 48


def test_four_cls_tokens_from_last_four_blocks():
    bb = tiny_backbone(depth=6)
    f = bb.features(images(b=1))
    assert f.cls_tokens.shape == (1, 4, 48)
    m = bb.model
    x = bb.normalize(images(b=1))
    t = m._pos_embed(m.patch_embed(x))  # native size: timm's own embedding path is identical
    outs = []
    for blk in m.blocks:
        t = blk(t)
        outs.append(m.norm(t)[:, 0])
    expected = torch.stack(outs[-4:], dim=1)
    torch.testing.assert_close(f.cls_tokens, expected, atol=1e-5, rtol=1e-5)


def test_matches_timm_forward_and_full_attention_at_native_size():
    bb = tiny_backbone()
    x = images(b=2)
    f = bb.features(x)
    m = bb.model
    last = m.blocks[-1].attn
    captured = {}
    last.fused_attn = False  # timm's explicit path passes the softmax through attn_drop: hook it
    h = last.attn_drop.register_forward_hook(lambda mod, inp, out: captured.setdefault("a", out))
    try:
        with torch.no_grad():
            tokens = m.forward_features(bb.normalize(x))
    finally:
        h.remove()
        last.fused_attn = True
    full = captured["a"]  # [B, heads, N, N]
    torch.testing.assert_close(f.attn, full[:, :, 0, 1:].reshape(2, 3, 4, 4), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(f.patch_tokens, tokens[:, 1:].transpose(1, 2).reshape(2, 48, 4, 4), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(f.cls_tokens[:, -1], tokens[:, 0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("hw,grid", [((32, 48), (4, 6)), ((56, 56), (7, 7)), ((16, 8), (2, 1))])
def test_any_patch_multiple_works(hw, grid):
    bb = tiny_backbone()
    f = bb.features(images(b=1, h=hw[0], w=hw[1]))
    assert f.attn.shape == (1, 3, *grid)
    assert f.patch_tokens.shape == (1, 48, *grid)
    assert torch.isfinite(f.patch_tokens).all()
    assert (f.attn.sum(dim=(-1, -2)) <= 1 + 1e-6).all()


def test_not_a_patch_multiple_is_refused():
    with pytest.raises(ValueError, match="multiple of the patch size 8"):
        tiny_backbone().features(images(b=1, h=30, w=32))


def test_batch_items_are_independent():
    bb = tiny_backbone()
    x = images(b=3)
    f = bb.features(x)
    one = bb.features(x[1:2])
    torch.testing.assert_close(f.attn[1:2], one.attn, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(f.patch_tokens[1:2], one.patch_tokens, atol=1e-5, rtol=1e-5)


def test_frozen_and_always_eval():
    bb = tiny_backbone(drop_rate=0.5, attn_drop_rate=0.5)
    assert not any(p.requires_grad for p in bb.parameters())
    bb.train()
    assert not bb.training and not bb.model.training
    x = images(b=1)
    torch.testing.assert_close(bb.features(x).patch_tokens, bb.features(x).patch_tokens)  # no dropout


def test_normalize_uses_mean_std():
    bb = Backbone(tiny_vit(), "tiny", mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    out = bb.normalize(torch.ones(1, 3, 2, 2))
    assert torch.allclose(out, torch.full_like(out, 2.0))


def test_registers_are_not_in_the_maps():
    bb = tiny_backbone(reg_tokens=2, no_embed_class=True)
    f = bb.features(images(b=1, h=40, w=24))
    assert f.attn.shape == (1, 3, 5, 3)
    assert (f.attn.sum(dim=(-1, -2)) < 1).all()


def test_unsupported_model_is_refused():
    with pytest.raises(ValueError, match="not a supported"):
        Backbone(torch.nn.Linear(2, 2), "linear")


def test_unknown_name_and_missing_default_weights():
    with pytest.raises(WeightsError, match="unknown backbone"):
        load_backbone("resnet50")
    with pytest.raises(WeightsError, match="dino_deitsmall16_pretrain.pth"):
        load_backbone("dino_vits16")
    with pytest.raises(WeightsError, match="never downloaded"):
        load_backbone("timm:vit_tiny_patch16_224", depth=1)
