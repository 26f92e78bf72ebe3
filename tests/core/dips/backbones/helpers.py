"""Tiny random ViTs and writers for the weight layouts the app must read (DINO, timm, Hugging Face)."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from timm.models.vision_transformer import VisionTransformer

from core.dips.backbones.vit import Backbone

TINY = dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=0, dynamic_img_size=True)


def tiny_vit(seed: int = 0, **overrides) -> VisionTransformer:
    """A random ViT; every parameter perturbed so that a wrongly mapped tensor changes the output."""
    torch.manual_seed(seed)
    model = VisionTransformer(**{**TINY, **overrides})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def tiny_backbone(seed: int = 0, **overrides) -> Backbone:
    return Backbone(tiny_vit(seed, **overrides), key="tiny")


def images(b: int = 2, h: int = 32, w: int = 32, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g)


def timm_to_hf(sd: dict[str, torch.Tensor], flavour: str = "vit") -> dict[str, torch.Tensor]:
    """Write a timm ViT state dict under transformers ViTModel ("vit") or Dinov2Model ("dinov2") names."""
    out: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if k in _TIMM_TO_HF_GLOBAL:
            out[_TIMM_TO_HF_GLOBAL[k]] = v
        elif k.startswith("patch_embed.proj."):
            out["embeddings.patch_embeddings.projection." + k.rsplit(".", 1)[1]] = v
        elif k.startswith("norm."):
            out["layernorm." + k.rsplit(".", 1)[1]] = v
        elif k.startswith("blocks."):
            out.update(_block_to_hf(k, v, flavour))
        else:
            raise KeyError(k)
    return {k: v.clone().contiguous() for k, v in out.items()}


_TIMM_TO_HF_GLOBAL = {"cls_token": "embeddings.cls_token", "pos_embed": "embeddings.position_embeddings",
                      "reg_token": "embeddings.register_tokens"}


def _block_to_hf(k: str, v: torch.Tensor, flavour: str) -> dict[str, torch.Tensor]:
    """One ``blocks.<i>.`` tensor under its transformers name(s); qkv becomes query, key and value."""
    _, i, rest = k.split(".", 2)
    pre = f"encoder.layer.{i}."
    kind = rest.rsplit(".", 1)[1]
    vit = flavour == "vit"
    if rest.startswith("attn.qkv."):
        return {f"{pre}attention.attention.{n}.{kind}": t.clone()
                for n, t in zip(("query", "key", "value"), v.chunk(3, dim=0), strict=True)}
    if rest.startswith("attn.proj."):
        return {f"{pre}attention.output.dense.{kind}": v}
    if rest.startswith(("norm1.", "norm2.")):
        name = rest.split(".")[0]
        if vit:
            name = {"norm1": "layernorm_before", "norm2": "layernorm_after"}[name]
        return {f"{pre}{name}.{kind}": v}
    if rest.startswith("mlp.fc1."):
        return {pre + ("intermediate.dense." if vit else "mlp.fc1.") + kind: v}
    if rest.startswith("mlp.fc2."):
        return {pre + ("output.dense." if vit else "mlp.fc2.") + kind: v}
    if rest.startswith(("ls1.", "ls2.")):
        return {f"{pre}layer_scale{rest[2]}.lambda1": v}
    raise KeyError(k)


def hf_config(model: VisionTransformer, model_type: str = "vit", **extra) -> dict:
    cfg = {
        "model_type": model_type,
        "hidden_size": model.embed_dim,
        "num_hidden_layers": len(model.blocks),
        "num_attention_heads": model.blocks[0].attn.num_heads,
        "patch_size": model.patch_embed.patch_size[0],
        "image_size": model.patch_embed.img_size[0],
        "qkv_bias": True,
        "layer_norm_eps": 1e-6,
        "hidden_act": "gelu",
    }
    if model_type == "vit":
        cfg["intermediate_size"] = model.blocks[0].mlp.fc1.out_features
    else:
        cfg["mlp_ratio"] = model.blocks[0].mlp.fc1.out_features / model.embed_dim
        cfg["layerscale_value"] = 1.0
    cfg.update(extra)
    return cfg


def write_hf_snapshot(folder: Path, sd: dict[str, torch.Tensor], config: dict, fmt: str = "safetensors") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file(sd, str(folder / "model.safetensors"))
    else:
        torch.save(sd, folder / "pytorch_model.bin")
    return folder
