"""The attention stage on Ray (local mode) writes what the local stage writes: the same maps, the same cache."""
from __future__ import annotations

import numpy as np
import pytest

from core.pipeline import compute_attention
from core.pipeline.config import PipelineConfig, save_config
from core.store.project import Project
from tests.core.dips.backbones.helpers import hf_config, timm_to_hf, tiny_vit, write_hf_snapshot

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _tiny_project(tmp_path, image_folder, name: str) -> Project:
    """A project whose backbone is a tiny ViT from a Hugging Face folder: real weight loading, in any process."""
    from core.data.importer import import_images
    weights = tmp_path / "tiny-vit"
    if not weights.exists():
        model = tiny_vit(seed=2, patch_size=8, img_size=32)
        write_hf_snapshot(weights, timm_to_hf(model.state_dict()), hf_config(model))
    p = Project.create(tmp_path / f"{name}.dips", image_folder)
    import_images(p)
    cfg = PipelineConfig()
    cfg.attention.backbone, cfg.attention.weights, cfg.attention.input_size = "hf", str(weights), 32
    cfg.attention.batch_size = 3
    save_config(p, cfg)
    return p


def test_attention_on_ray_matches_the_local_stage(tmp_path, image_folder, local_ray):
    from core.pipeline.cluster import RayOptions, compute_attention_on_ray
    from core.pipeline.config import load_config

    local, remote = _tiny_project(tmp_path, image_folder, "local"), _tiny_project(tmp_path, image_folder, "ray")
    n_local = compute_attention(local)
    n_ray = compute_attention_on_ray(remote, opts=RayOptions(batch_size=2, actors=2))
    assert n_ray == n_local == 7                       # the 7 readable images of the fixture folder
    key = load_config(remote).backbone_key
    for rec in local.images.list():
        a, b = local.maps.attention(rec.id, key), remote.maps.attention(rec.id, key)
        assert sorted(a) == sorted(b)
        for head in a:
            np.testing.assert_allclose(a[head], b[head], atol=1e-3)
    assert remote.get_meta("last_attention_problems") == local.get_meta("last_attention_problems")
    cached = sorted(p.name for p in (remote.work_dir / "features").rglob("*.npy"))
    assert cached == sorted(p.name for p in (local.work_dir / "features").rglob("*.npy"))
    # resumable: a second run finds nothing missing
    assert compute_attention_on_ray(remote, opts=RayOptions(batch_size=2, actors=1)) == 0
