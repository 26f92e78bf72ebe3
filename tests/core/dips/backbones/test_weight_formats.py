"""A weight file's format is read from its content, not its name, and every refusal says why in plain words."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from core.dips.backbones import Backbone, WeightsError, load_backbone
from core.dips.backbones.weight_files import sniff_format

from .helpers import images, tiny_vit

SMALL16 = dict(img_size=32, embed_dim=48, depth=2, num_heads=3)


def _same(a: Backbone, b: Backbone) -> None:
    x = images(b=1, h=32, w=32)
    torch.testing.assert_close(a.features(x).attn, b.features(x).attn, atol=1e-6, rtol=1e-5)


def test_safetensors_named_pth_loads(tmp_path):
    src = tiny_vit(seed=7, patch_size=16)
    path = tmp_path / "weights.pth"
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    assert sniff_format(path) == "safetensors"
    _same(load_backbone("dino_vits16", weights=path, **SMALL16), Backbone(src, "ref"))


def test_torch_file_named_safetensors_loads(tmp_path):
    src = tiny_vit(seed=8, patch_size=16)
    path = tmp_path / "weights.safetensors"
    torch.save(src.state_dict(), path)
    assert sniff_format(path) == "torch-zip"
    _same(load_backbone("dino_vits16", weights=path, **SMALL16), Backbone(src, "ref"))


def test_dinov2_training_checkpoint_loads_the_teacher_backbone(tmp_path):
    teacher, student = tiny_vit(seed=9, patch_size=16), tiny_vit(seed=10, patch_size=16)
    flat = {}
    for branch, model in (("teacher", teacher), ("student", student)):
        for k, v in model.state_dict().items():
            # DINOv2 trains with block_chunks: block i of chunk c is stored as blocks.c.i
            k = k.replace("blocks.0.", "blocks.0.0.").replace("blocks.1.", "blocks.0.1.")
            flat[f"{branch}.backbone.{k}"] = v
        flat[f"{branch}.dino_head.mlp.0.weight"] = torch.randn(8, 48)
    path = tmp_path / "model_0012499.rank_0.pth"
    torch.save({"model": flat, "iteration": 12499}, path)
    _same(load_backbone("dino_vits16", weights=path, **SMALL16), Backbone(teacher, "ref"))


@pytest.mark.parametrize("name, write, reason", [
    ("random.pth", lambda p: p.write_bytes(bytes(range(256)) * 8),
     "not a weight file: neither a PyTorch checkpoint nor safetensors"),
    ("truncated.pth", lambda p: p.write_bytes(_torch_bytes(p)[:300]), "damaged or truncated"),
    ("whole_model.pth", lambda p: torch.save(torch.nn.Linear(2, 2), p),
     "pickled Python objects other than tensors (torch.nn.modules.linear.Linear)"),
    ("truncated.safetensors", lambda p: p.write_bytes(_safetensors_bytes(p)[:100]), "damaged safetensors file"),
])
def test_refusals_name_the_file_and_the_reason(tmp_path, name, write, reason):
    path = tmp_path / name
    write(path)
    with pytest.raises(WeightsError) as exc:
        load_backbone("dino_vits16", weights=path, **SMALL16)
    message = str(exc.value)
    assert message.startswith(str(path)) and reason in message
    assert "pickles" not in message or "pickled" in reason


def _torch_bytes(path):
    tmp = path.with_suffix(".full")
    torch.save(tiny_vit(patch_size=16).state_dict(), tmp)
    return tmp.read_bytes()


def _safetensors_bytes(path):
    tmp = path.with_suffix(".full")
    save_file({k: v.contiguous() for k, v in tiny_vit(patch_size=16).state_dict().items()}, str(tmp))
    return tmp.read_bytes()
