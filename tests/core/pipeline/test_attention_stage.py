"""The attention stage: maps stored per image and backbone, skipped when done, unreadable files reported."""
from __future__ import annotations

import os

import numpy as np

from core.pipeline import compute_attention


def test_attention_stage_stores_maps_and_skips_what_is_done(tiny_pipeline):
    project, cfg = tiny_pipeline
    assert compute_attention(project, cfg) == 7
    maps = project.maps.attention(project.images.ids()[0])
    assert sorted(maps) == [-1, 0, 1, 2] and maps[0].shape == (4, 4)   # 3 heads + mean on a 4x4 grid
    assert compute_attention(project, cfg) == 0
    assert compute_attention(project, cfg, force=True) == 7


def test_unreadable_image_is_reported_and_the_stage_goes_on(tiny_pipeline, capsys):
    from core.cli import run_cli
    from core.data.unreadable import unreadable_images
    project, cfg = tiny_pipeline
    victim = project.images.by_path("no_site/n1.png")
    os.remove(project.images.path(victim))
    assert compute_attention(project, cfg) == 6
    # named with its reason where `info` and the `attention` command look (core/data/unreadable.py)
    [failed] = unreadable_images(project)
    assert failed.rel_path == "no_site/n1.png" and "No such file" in failed.reason
    assert run_cli(["info", str(project.path)]) == 0
    assert f"  no_site/n1.png: {failed.reason}" in capsys.readouterr().out.splitlines()


def test_bf16_encoding_gives_nearly_the_float32_attention_maps(tiny_pipeline):
    project, cfg = tiny_pipeline
    img = project.images.ids()[0]
    maps = {}
    for precision in ("float32", "bfloat16"):
        cfg.attention.precision = precision
        compute_attention(project, cfg, force=True)
        maps[precision] = project.maps.attention(img)
    for head in maps["float32"]:
        a, b = maps["float32"][head].astype(float), maps["bfloat16"][head].astype(float)
        assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.98


def test_other_weights_under_the_same_backbone_name_are_computed_afresh(tiny_pipeline, tmp_path):
    project, cfg = tiny_pipeline
    teacher, student = tmp_path / "teacher.pth", tmp_path / "student.pth"
    teacher.write_bytes(b"teacher weights")
    student.write_bytes(b"student weights")
    cfg.attention.weights = str(teacher)
    assert compute_attention(project, cfg) == 7
    cfg.attention.weights = str(student)
    key_student = cfg.backbone_key
    assert compute_attention(project, cfg) == 7            # not the teacher's maps under the same name
    cfg.attention.weights = str(teacher)
    assert compute_attention(project, cfg) == 0            # back to the teacher: its maps are still there
    assert key_student != cfg.backbone_key and cfg.backbone_key.startswith("tiny#")
    assert sorted(p.name for p in (project.work_dir / "features").iterdir()) == sorted(
        k.replace("/", "_").replace(":", "_") for k in (cfg.backbone_key, key_student))
