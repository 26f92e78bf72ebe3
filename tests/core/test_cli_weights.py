"""A user's --weights file through the real command line: a refused file is one 'error:' line (exit 2) and is
never remembered; an accepted one is saved as an absolute path, so a run from another folder still finds it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.pipeline.config import load_config
from core.store.project import Project
from tests.core.dips.backbones.helpers import hf_config, timm_to_hf, tiny_vit, write_hf_snapshot

REPO = Path(__file__).resolve().parents[2]


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def _saved_weights(path: Path):
    with Project.open(path) as p:
        return load_config(p).attention.weights


def test_refused_weights_are_one_line_and_not_saved(tmp_path, image_folder):
    proj = tmp_path / "p.dips"
    assert _cli(tmp_path, "new", str(proj), "--images", str(image_folder)).returncode == 0
    (tmp_path / "noise.pth").write_bytes(bytes(range(256)) * 4)
    r = _cli(tmp_path, "attention", str(proj), "--backbone", "dino_vits16", "--weights", "noise.pth")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {tmp_path / 'noise.pth'}: not a weight file: neither a PyTorch checkpoint nor "
                      "safetensors (it starts with bytes 00 01 02 03 04 05 06 07)"]
    assert _saved_weights(proj) is None


def test_accepted_weights_are_saved_as_an_absolute_path(tmp_path, image_folder):
    proj = tmp_path / "p.dips"
    assert _cli(tmp_path, "new", str(proj), "--images", str(image_folder)).returncode == 0
    model = tiny_vit(seed=2, patch_size=8, img_size=32)
    write_hf_snapshot(tmp_path / "weights" / "tiny-vit", timm_to_hf(model.state_dict()), hf_config(model))
    r = _cli(tmp_path, "attention", str(proj), "--backbone", "hf", "--weights", "weights/tiny-vit", "--size", "32")
    assert r.returncode == 0, r.stderr
    assert _saved_weights(proj) == str(tmp_path / "weights" / "tiny-vit")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = _cli(elsewhere, "attention", str(proj), "--force")   # the saved path, from another folder
    assert r.returncode == 0, r.stderr
