"""User weight files, offline: DINO / timm / safetensors / Hugging Face layouts load back identically;
broken or mismatched files fail with a message naming the file and the reason."""
from __future__ import annotations

import argparse
import re

import pytest
import torch
from safetensors.torch import save_file

from core.dips.backbones import Backbone, WeightsError, load_backbone, load_weights
from core.dips.backbones.weights import read_vit_weights

from .helpers import hf_config, images, timm_to_hf, tiny_vit, write_hf_snapshot

# load_backbone("dino_vits16", ...) builds timm's vit_small_patch16_224; these shrink it to test size.
SMALL16 = dict(img_size=32, embed_dim=48, depth=2, num_heads=3)


def _same_features(a: Backbone, b: Backbone, h: int = 32, w: int = 32, atol: float = 1e-6) -> None:
    x = images(b=2, h=h, w=w)
    fa, fb = a.features(x), b.features(x)
    torch.testing.assert_close(fa.attn, fb.attn, atol=atol, rtol=1e-5)
    torch.testing.assert_close(fa.patch_tokens, fb.patch_tokens, atol=atol * 10, rtol=1e-5)
    torch.testing.assert_close(fa.cls_tokens, fb.cls_tokens, atol=atol * 10, rtol=1e-5)


def _dino_head(prefix: str) -> dict[str, torch.Tensor]:
    return {
        f"{prefix}head.mlp.0.weight": torch.randn(64, 48),
        f"{prefix}head.last_layer.weight_g": torch.randn(100, 1),
        f"{prefix}head.last_layer.weight_v": torch.randn(100, 16),
    }


def test_dino_plain_state_dict(tmp_path):
    src = tiny_vit(seed=3, patch_size=16)
    path = tmp_path / "dino_deitsmall16_pretrain.pth"
    torch.save(src.state_dict(), path)  # DINO's key names are timm's
    bb = load_backbone("dino_vits16", weights=path, **SMALL16)
    assert bb.key == "dino_vits16" and bb.patch_size == 16
    _same_features(bb, Backbone(src, "ref"), h=48, w=64)


def test_dino_full_checkpoint_uses_teacher(tmp_path):
    teacher, student = tiny_vit(seed=4, patch_size=16), tiny_vit(seed=5, patch_size=16)
    ckpt = {
        "teacher": {**{f"backbone.{k}": v for k, v in teacher.state_dict().items()}, **_dino_head("")},
        "student": {**{f"module.backbone.{k}": v for k, v in student.state_dict().items()}, **_dino_head("module.")},
        "optimizer": {"state": {}, "param_groups": []},
        "epoch": 100,
        "args": argparse.Namespace(arch="vit_small", patch_size=16),  # DINO pickles its arguments
        "dino_loss": {"center": torch.zeros(1, 100)},
    }
    path = tmp_path / "checkpoint.pth"
    torch.save(ckpt, path)
    bb = load_backbone("dino_vits16", weights=path, **SMALL16)
    _same_features(bb, Backbone(teacher, "ref"))


def test_student_only_checkpoint_strips_prefixes(tmp_path):
    student = tiny_vit(seed=6)
    path = tmp_path / "student.pth"
    torch.save({"student": {f"module.backbone.{k}": v for k, v in student.state_dict().items()}}, path)
    fresh = tiny_vit(seed=99)
    load_weights(fresh, path)
    _same_features(Backbone(fresh, "a"), Backbone(student, "b"))


def test_timm_state_dict_with_classifier_head(tmp_path):
    src = tiny_vit(seed=7, num_classes=10)  # a fine-tuned timm ViT: its head is not part of the backbone
    path = tmp_path / "timm_vit.pth"
    torch.save(src.state_dict(), path)
    fresh = tiny_vit(seed=98)
    load_weights(fresh, path)
    src.reset_classifier(0)
    _same_features(Backbone(fresh, "a"), Backbone(src, "b"))


def test_safetensors_via_timm_name(tmp_path):
    src = tiny_vit(seed=8, patch_size=16, embed_dim=192, depth=1, num_heads=3, img_size=32)
    path = tmp_path / "vit_tiny.safetensors"
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    bb = load_backbone("timm:vit_tiny_patch16_224", weights=path, depth=1, img_size=32)
    assert bb.key == "timm:vit_tiny_patch16_224"
    assert bb.mean == bb.std == (0.5, 0.5, 0.5)  # normalisation from timm's pretrained config
    _same_features(bb, Backbone(src, "ref", mean=bb.mean, std=bb.std))


def test_hf_vit_snapshot_in_hub_cache_layout(tmp_path):
    src = tiny_vit(seed=9)
    sd = timm_to_hf(src.state_dict(), "vit")
    sd["pooler.dense.weight"] = torch.randn(48, 48)  # ViTModel's pooler is not used
    repo = tmp_path / "hub" / "models--facebook--dino-tiny"
    write_hf_snapshot(repo / "snapshots" / "abc123", sd, hf_config(src, "vit"))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    bb = load_backbone("hf", weights=repo)
    assert bb.key == "hf:facebook/dino-tiny"
    _same_features(bb, Backbone(src, "ref"), h=40, w=24)
    # the snapshot folder itself works too, and fits a timm-named architecture of the same shape
    fresh = tiny_vit(seed=97)
    load_weights(fresh, repo / "snapshots" / "abc123")
    _same_features(Backbone(fresh, "a"), Backbone(src, "b"))


def test_hf_dinov2_snapshot_with_layerscale_bin(tmp_path):
    src = tiny_vit(seed=10, init_values=1e-2, patch_size=14, img_size=28)
    sd = timm_to_hf(src.state_dict(), "dinov2")
    sd["embeddings.mask_token"] = torch.zeros(1, 48)
    folder = write_hf_snapshot(tmp_path / "dinov2", sd, hf_config(src, "dinov2"), fmt="bin")
    bb = load_backbone("hf", weights=folder)
    assert bb.patch_size == 14
    _same_features(bb, Backbone(src, "ref"), h=42, w=56)


def test_hf_dinov2_with_registers_folds_cls_position(tmp_path):
    src = tiny_vit(seed=11, init_values=1e-2, reg_tokens=2, no_embed_class=True)
    sd = timm_to_hf(src.state_dict(), "dinov2")
    cls_pos = torch.randn(1, 1, 48)  # HF adds a CLS position; timm's model has none: fold it in
    sd["embeddings.position_embeddings"] = torch.cat([cls_pos, sd["embeddings.position_embeddings"]], dim=1)
    sd["embeddings.cls_token"] = sd["embeddings.cls_token"] - cls_pos
    cfg = hf_config(src, "dinov2_with_registers", num_register_tokens=2)
    folder = write_hf_snapshot(tmp_path / "reg", sd, cfg)
    bb = load_backbone("hf", weights=folder)
    _same_features(bb, Backbone(src, "ref"), atol=1e-5)


# ------------------------------------------------------------------------------------------- errors


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(WeightsError, match=r"nope\.pth: weight file not found"):
        load_backbone("dino_vits16", weights=tmp_path / "nope.pth", **SMALL16)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_truncated_file(tmp_path, suffix):
    src = tiny_vit(seed=12, patch_size=16)
    path = tmp_path / f"weights{suffix}"
    if suffix == ".pth":
        torch.save(src.state_dict(), path)
    else:
        save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=rf"weights\{suffix}: .*(truncated|corrupt)"):
        load_backbone("dino_vits16", weights=path, **SMALL16)


def test_garbage_and_empty_files(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"this is not a checkpoint" * 10)
    with pytest.raises(WeightsError, match="bad.pth"):
        read_vit_weights(bad)
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(WeightsError, match="empty.bin: file is empty"):
        read_vit_weights(empty)


def test_deeper_checkpoint_lists_unexpected_keys(tmp_path):
    path = tmp_path / "deep.pth"
    torch.save(tiny_vit(depth=3).state_dict(), path)
    with pytest.raises(WeightsError) as err:
        load_weights(tiny_vit(), path, arch="tiny")
    msg = str(err.value)
    assert "deep.pth" in msg and "'tiny'" in msg
    assert re.search(r"\b\d+ unexpected keys: blocks\.2\.", msg)       # counted in words, never 'key(s)'
    assert "missing" not in msg


def test_wider_checkpoint_lists_shape_mismatches(tmp_path):
    path = tmp_path / "wide.pth"
    torch.save(tiny_vit(embed_dim=96).state_dict(), path)
    expected = r"wide\.pth.*\d+ shape mismatch(es)?: .*cls_token: file \(1, 1, 96\) vs model \(1, 1, 48\)"
    with pytest.raises(WeightsError, match=expected):
        load_weights(tiny_vit(), path)


def test_shallower_checkpoint_lists_missing_keys(tmp_path):
    path = tmp_path / "shallow.pth"
    torch.save(tiny_vit(depth=1).state_dict(), path)
    with pytest.raises(WeightsError, match=r"\d+ missing keys: blocks\.1\."):
        load_weights(tiny_vit(), path)


def test_hf_folder_problems(tmp_path):
    (tmp_path / "noconfig").mkdir()
    with pytest.raises(WeightsError, match="noconfig: no config.json"):
        read_vit_weights(tmp_path / "noconfig")
    folder = tmp_path / "noweights"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(WeightsError, match="model.safetensors nor pytorch_model.bin"):
        load_backbone("hf", weights=folder)
    with pytest.raises(WeightsError, match="needs weights"):
        load_backbone("hf")


def test_non_tensor_pickle_is_refused(tmp_path):
    path = tmp_path / "pickled.pth"
    torch.save({"model": tiny_vit().state_dict(), "extra": _Custom()}, path)
    with pytest.raises(WeightsError, match=r"pickled\.pth: .*other than tensors"):
        read_vit_weights(path)


class _Custom:
    pass


def test_weights_fingerprint_follows_the_content_not_the_path(tmp_path):
    import os
    import shutil

    from core.dips.backbones.weights import weights_fingerprint

    a = tmp_path / "dino_deitsmall16_pretrain.pth"
    torch.save(tiny_vit(seed=1).state_dict(), a)
    copy = tmp_path / "copy ü.pth"
    shutil.copy(a, copy)
    assert weights_fingerprint(a) == weights_fingerprint(copy)
    torch.save(tiny_vit(seed=2).state_dict(), copy)
    os.utime(copy, ns=(1, 2))                      # a rewrite is seen even with an odd mtime
    assert weights_fingerprint(copy) != weights_fingerprint(a)
    assert weights_fingerprint(tmp_path / "gone.pth") == "unreadable"
    # a Hugging Face folder is known by its weight file
    src = tiny_vit(seed=3)
    write_hf_snapshot(tmp_path / "snap", timm_to_hf(src.state_dict(), "vit"), hf_config(src, "vit"))
    weight_file = next(p for p in (tmp_path / "snap").iterdir() if p.name != "config.json")
    assert weights_fingerprint(tmp_path / "snap") == weights_fingerprint(weight_file) != "unreadable"


def test_timm_weights_found_in_the_hub_cache_are_part_of_the_backbone_key(tmp_path, monkeypatch):
    from core.pipeline.config import PipelineConfig
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    cfg = PipelineConfig()
    cfg.attention.backbone = "timm:vit_tiny_test.tag"
    assert cfg.backbone_key == "timm:vit_tiny_test.tag@448"            # nothing cached: plain name
    snap = tmp_path / "hub" / "models--timm--vit_tiny_test.tag" / "snapshots" / "abc"
    write_hf_snapshot(snap, tiny_vit(seed=1).state_dict(), {"architecture": "vit_tiny_test"})
    first = cfg.backbone_key
    assert first.startswith("timm:vit_tiny_test.tag#") and first.endswith("@448")
    write_hf_snapshot(snap, tiny_vit(seed=2).state_dict(), {"architecture": "vit_tiny_test"})
    assert cfg.backbone_key != first                                    # other weights, other key
