"""core.dips.attention: stretching arbitrary images to S x S and reading out the maps."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.dips.attention import AttentionConfig, attention_maps, extract_batch, to_square_batch
from core.dips.backbones import ViTFeatures

from .helpers import tiny_backbone


def test_config_defaults():
    cfg = AttentionConfig()
    assert (cfg.backbone, cfg.weights, cfg.input_size, cfg.batch_size) == ("dinov2_s14", None, 448, 4)
    assert cfg.input_size % 14 == 0


def test_to_square_batch_scales_and_stretches():
    white = np.full((30, 40, 3), 255, np.uint8)  # 4:3 frame
    grey = np.full((50, 20, 3), 0.5, np.float32)
    mono = np.zeros((10, 10), np.uint8)
    rgba = np.zeros((12, 8, 4), np.uint8)
    x = to_square_batch([white, grey, mono, rgba], 16)
    assert x.shape == (4, 3, 16, 16) and x.dtype == torch.float32
    assert torch.allclose(x[0], torch.ones(3, 16, 16)) and torch.allclose(x[1], torch.full((3, 16, 16), 0.5))
    assert x[2:].abs().max() == 0


def test_to_square_batch_keeps_left_right():
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, 20:] = 255  # right half white
    x = to_square_batch([img], 8)
    assert x[0, :, :, :3].max() < 0.05 and x[0, :, :, 5:].min() > 0.95


def test_bad_image_shape():
    with pytest.raises(ValueError, match="image 1: expected HxWx3"):
        to_square_batch([np.zeros((4, 4, 3)), np.zeros((4, 4, 2))], 8)


def test_extract_batch_and_maps():
    bb = tiny_backbone()
    imgs = [np.random.default_rng(i).integers(0, 256, (30 + i, 45, 3), dtype=np.uint8) for i in range(3)]
    feats = extract_batch(bb, imgs, 48)
    maps = attention_maps(feats)
    assert maps.shape == (3, 3, 6, 6) and maps.dtype == np.float32
    assert feats.patch_tokens.shape == (3, 48, 6, 6)
    with pytest.raises(ValueError, match="multiple of the patch size 8"):
        extract_batch(bb, imgs, 50)


def test_nan_becomes_zero():
    a = torch.tensor([[[[float("nan"), 0.5], [0.25, 0.0]]]])
    feats = ViTFeatures(attn=a, patch_tokens=torch.zeros(1, 1, 2, 2), cls_tokens=torch.zeros(1, 1, 1))
    np.testing.assert_array_equal(attention_maps(feats), np.array([[[[0.0, 0.5], [0.25, 0.0]]]], np.float32))
