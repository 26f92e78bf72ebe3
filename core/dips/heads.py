"""The two heads of DiPS (journal Sec. 3.1/3.4) and the workshop paper's U-Net localizer.

* ``ClassificationHead`` - f_c: a linear layer on the concatenated CLS tokens of the encoder's last ``n``
  blocks (optionally layer-normalised first). Trained with cross-entropy (Eq. 2), then frozen. The same
  module serves as the linear proposal scorer f_x on drone data.
* ``TokenDecoder`` - f_l (journal): the frozen encoder's patch tokens ``[B, C, gh, gw]`` -> two-channel logits
  ``[B, 2, H, W]`` (channel 0 background, 1 foreground; softmax over channels gives S^0, S^1).
  ``n_up`` blocks of (nearest x2 upsample, 2 x conv3x3-BN-ReLU), widths halving from C (C/2, C/4, ...),
  then a 1x1 conv to 2 channels. No ReLU before the softmax: the authors' code ends with one, which clamps
  the logits at 0 and looks like a bug. ``reduce`` first projects the tokens to fewer channels with a 1x1
  conv-BN-ReLU at the token grid: the first 3x3 conv after an upsample otherwise dominates the head's cost
  (a 448 px input gives a 32x32 grid, 5x the journal's 14x14). ``half_res`` skips the last block and upsamples
  the logits bilinearly instead - the last block runs at the output resolution and costs most of the time.
* ``UNetLocalizer`` - workshop paper: a U-Net on the RGB image with a ``tf_efficientnet_lite0`` encoder
  (timm, ``features_only``; built with ``pretrained=False``, the caller loads the weights), a decoder with
  skip connections + BN, and a 3x3 conv to 2 channels at full resolution. (The paper's U-Net uses a ResNet-50
  encoder; no ImageNet ResNet ships offline, EfficientNet-Lite0 does.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from core.settings import default_widths

_WHERE = "core/dips/heads.py"


def count_params(m: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (BN running statistics are buffers, not counted)."""
    return sum(p.numel() for p in m.parameters() if p.requires_grad or not trainable_only)


class ClassificationHead(nn.Module):
    """f_c / f_x: ``[B, n, C]`` CLS tokens of the last n blocks (or ``[B, n*C]``) -> logits ``[B, classes]``.

    ``layer_norm`` normalises each block's token separately (one shared affine LayerNorm(C)), as DINO's
    linear evaluation does with the encoder's final norm.
    """

    def __init__(self, embed_dim: int, num_classes: int, n_blocks: int = 4, layer_norm: bool = False):
        super().__init__()
        if embed_dim <= 0 or num_classes <= 0 or n_blocks <= 0:
            raise ValueError(f"{_WHERE}: embed_dim, num_classes and n_blocks must be positive, got "
                             f"{embed_dim}, {num_classes}, {n_blocks}")
        self.embed_dim, self.n_blocks, self.num_classes = embed_dim, n_blocks, num_classes
        self.norm = nn.LayerNorm(embed_dim) if layer_norm else nn.Identity()
        self.fc = nn.Linear(n_blocks * embed_dim, num_classes)
        nn.init.normal_(self.fc.weight, std=0.01)
        nn.init.zeros_(self.fc.bias)

    def forward(self, cls_tokens: Tensor) -> Tensor:
        if cls_tokens.ndim == 2 and cls_tokens.shape[1] == self.n_blocks * self.embed_dim:
            cls_tokens = cls_tokens.view(-1, self.n_blocks, self.embed_dim)
        if cls_tokens.ndim != 3 or cls_tokens.shape[1:] != (self.n_blocks, self.embed_dim):
            raise ValueError(f"{_WHERE}: ClassificationHead expects [B, {self.n_blocks}, {self.embed_dim}] CLS "
                             f"tokens, got {tuple(cls_tokens.shape)}")
        return self.fc(self.norm(cls_tokens).flatten(1))


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    # conv without bias: the BN right after it has its own shift
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class _UpBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), *_conv_bn_relu(cin, cout),
                         *_conv_bn_relu(cout, cout))


class TokenDecoder(nn.Module):
    """f_l (journal): patch tokens ``[B, C, gh, gw]`` -> logits ``[B, 2, H, W]``.

    Args:
        embed_dim: C, the token width (384 for ViT-S).
        n_up: number of x2 upsampling blocks (4 = x16, the journal's 14x14 -> 224 with patch 16).
        out_size: final bilinear resize to this ``H x W`` (int or (h, w)); None keeps ``gh*2^n_up``.
            With patch 14 and a 448 input (32x32 grid), 4 blocks give 512 and ``out_size=448`` brings it back.
        half_res: run only ``n_up - 1`` blocks and upsample the logits bilinearly (x2 or to ``out_size``).
        widths: channel widths of the blocks; default C/2, C/4, ... (at least 8), or R, R/2, ... with ``reduce``.
        reduce: R, channels of a 1x1 conv-BN-ReLU applied to the tokens before the first block; None = none
            (the journal's decoder).
    """

    def __init__(self, embed_dim: int, n_up: int = 4, out_size: int | tuple[int, int] | None = None,
                 half_res: bool = False, widths: tuple[int, ...] | None = None, num_classes: int = 2,
                 reduce: int | None = None):
        super().__init__()
        if n_up < 1:
            raise ValueError(f"{_WHERE}: TokenDecoder needs n_up >= 1, got {n_up}")
        if reduce is not None and reduce < 1:
            raise ValueError(f"{_WHERE}: TokenDecoder reduce must be a positive channel count, got {reduce}")
        if widths is None:
            widths = default_widths(n_up, reduce, embed_dim)
        if len(widths) != n_up:
            raise ValueError(f"{_WHERE}: {len(widths)} widths given for n_up={n_up} blocks")
        self.embed_dim, self.n_up, self.half_res = embed_dim, n_up, half_res
        self.out_size = out_size
        n_blocks = n_up - 1 if half_res else n_up
        self.reduce = (nn.Sequential(nn.Conv2d(embed_dim, reduce, 1, bias=False), nn.BatchNorm2d(reduce),
                                     nn.ReLU(inplace=True)) if reduce else nn.Identity())
        chans = (reduce or embed_dim, *widths[:n_blocks])
        self.blocks = nn.Sequential(*[_UpBlock(chans[i], chans[i + 1]) for i in range(n_blocks)])
        self.head = nn.Conv2d(chans[-1], num_classes, kernel_size=1)  # logits; no ReLU (see module doc)

    def forward(self, tokens: Tensor, out_size: int | tuple[int, int] | None = None) -> Tensor:
        if tokens.ndim != 4 or tokens.shape[1] != self.embed_dim:
            raise ValueError(f"{_WHERE}: TokenDecoder expects tokens [B, {self.embed_dim}, gh, gw], got "
                             f"{tuple(tokens.shape)}")
        x = self.head(self.blocks(self.reduce(tokens)))
        size = out_size if out_size is not None else self.out_size
        if size is None and self.half_res:
            size = (x.shape[-2] * 2, x.shape[-1] * 2)
        if size is not None:
            size = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
            if tuple(x.shape[-2:]) != size:
                x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return x


class _UNetDecoderBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.convs = nn.Sequential(*_conv_bn_relu(cin + cskip, cout), *_conv_bn_relu(cout, cout))

    def forward(self, x: Tensor, skip: Tensor | None, size: tuple[int, int]) -> Tensor:
        # resize to the skip's exact size, so inputs that are not multiples of 32 still work
        x = F.interpolate(x, size=size, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.convs(x)


class UNetLocalizer(nn.Module):
    """Workshop localizer: RGB ``[B, 3, H, W]`` (normalised as the encoder expects) -> logits ``[B, 2, H, W]``.

    The encoder is ``timm.create_model(encoder_name, features_only=True, pretrained=False)``, reachable as
    ``self.encoder`` for the caller to load weights into. Decoder: one block per encoder stage, deepest first,
    each (upsample to the next skip's size, concat skip, 2 x conv3x3-BN-ReLU), the last one up to the input
    size without skip; then a 3x3 conv to 2 channels.
    """

    def __init__(self, encoder_name: str = "tf_efficientnet_lite0",
                 decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16), num_classes: int = 2):
        super().__init__()
        import timm  # heavy import kept local: the token decoder does not need it

        self.encoder = timm.create_model(encoder_name, features_only=True, pretrained=False)
        feature_info: Any = self.encoder.feature_info   # timm's FeatureInfo (nn.Module types it Tensor | Module)
        enc_ch = list(feature_info.channels())
        if len(decoder_channels) != len(enc_ch):
            raise ValueError(f"{_WHERE}: {encoder_name} has {len(enc_ch)} stages, got "
                             f"{len(decoder_channels)} decoder channels")
        skips = enc_ch[:-1][::-1] + [0]  # skip widths, deepest first; the last block has none
        cins = [enc_ch[-1], *decoder_channels[:-1]]
        self.blocks = nn.ModuleList(_UNetDecoderBlock(ci, cs, co)
                                    for ci, cs, co in zip(cins, skips, decoder_channels, strict=True))
        self.head = nn.Conv2d(decoder_channels[-1], num_classes, kernel_size=3, padding=1)

    def forward(self, image: Tensor) -> Tensor:
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"{_WHERE}: UNetLocalizer expects images [B, 3, H, W], got {tuple(image.shape)}")
        feats = self.encoder(image)
        x = feats[-1]
        skips = feats[:-1][::-1]
        for i, block in enumerate(self.blocks):
            skip = skips[i] if i < len(skips) else None
            size = tuple(skip.shape[-2:]) if skip is not None else tuple(image.shape[-2:])
            x = block(x, skip, size)
        return self.head(x)


@dataclass
class HeadConfig:
    decoder: str = "token"            # "token" (journal f_l on patch tokens) | "unet" (workshop, on RGB)
    n_up: int = 4                     # x2 blocks of the token decoder (4 = x16)
    half_res: bool = False            # token decoder: skip the last block, upsample the logits bilinearly
    out_size: int | None = None       # token decoder output H=W (e.g. 448); None = grid * 2^n_up
    widths: tuple[int, ...] | None = None  # token decoder block widths; None = C/2, C/4, ... (journal)
    reduce: int | None = None         # token decoder: 1x1 projection of the tokens to this many channels first
    cls_blocks: int = 4               # n: CLS tokens of the last n blocks feed f_c / f_x
    cls_layer_norm: bool = False      # LayerNorm on each CLS token before f_c
    unet_encoder: str = "tf_efficientnet_lite0"
    unet_channels: tuple[int, ...] = field(default_factory=lambda: (256, 128, 64, 32, 16))


def build_localizer(cfg: HeadConfig, embed_dim: int) -> nn.Module:
    """f_l as chosen by ``cfg.decoder``; ``embed_dim`` is the token width (ignored by the U-Net)."""
    if cfg.decoder == "token":
        return TokenDecoder(embed_dim, n_up=cfg.n_up, out_size=cfg.out_size, half_res=cfg.half_res,
                            widths=tuple(cfg.widths) if cfg.widths else None, reduce=cfg.reduce)
    if cfg.decoder == "unet":
        return UNetLocalizer(cfg.unet_encoder, tuple(cfg.unet_channels))
    raise ValueError(f"{_WHERE}: unknown decoder {cfg.decoder!r} (expected 'token' or 'unet')")
