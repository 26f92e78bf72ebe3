"""The attention stage on Ray (local mode) writes what the local stage writes: the same maps, the same cache."""
from __future__ import annotations

import shutil

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
    from core.data.unreadable import unreadable_images
    from core.pipeline.cluster import RayOptions, compute_attention_on_ray
    from core.pipeline.config import load_config

    local, remote = _tiny_project(tmp_path, image_folder, "local"), _tiny_project(tmp_path, image_folder, "ray")
    broken = image_folder / "site" / "a.jpg"            # imported whole, broken on disk since
    broken.write_bytes(broken.read_bytes()[:200])
    n_local = compute_attention(local)
    n_ray = compute_attention_on_ray(remote, opts=RayOptions(batch_size=2, actors=2))
    assert n_ray == n_local == 6                       # the 7 readable images of the fixture folder, less a.jpg
    assert unreadable_images(remote) == unreadable_images(local) and len(unreadable_images(local)) == 1
    key = load_config(remote).backbone_key
    for rec in local.images.list():
        a, b = local.maps.attention(rec.id, key), remote.maps.attention(rec.id, key)
        assert sorted(a) == sorted(b)
        for head in a:
            np.testing.assert_allclose(a[head], b[head], atol=1e-3)
    cached = sorted(p.name for p in (remote.work_dir / "features").rglob("*.npy"))
    assert cached == sorted(p.name for p in (local.work_dir / "features").rglob("*.npy"))
    # resumable: a second run finds nothing missing
    assert compute_attention_on_ray(remote, opts=RayOptions(batch_size=2, actors=1)) == 0


def test_predict_on_ray_matches_the_local_stage(tiny_prepared, local_ray):
    """Prediction reads only cached encoder outputs and a checkpoint, so the tiny in-process backbone can make
    them; the Ray actors then load the heads from the checkpoint file."""
    from core.pipeline import predict, train
    from core.pipeline.cluster import RayOptions, predict_on_ray

    project, cfg = tiny_prepared
    run_id = train(project, cfg)
    local = predict(project, run_id, cfg=cfg)
    remote = predict_on_ray(project, run_id, opts=RayOptions(batch_size=2, actors=2), cfg=cfg)
    assert remote != local
    for rec in project.images.list():
        a, b = project.maps.prediction(rec.id, local), project.maps.prediction(rec.id, remote)
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.class_probs, b.class_probs, atol=1e-5)
            np.testing.assert_allclose(a.fg_map, b.fg_map, atol=1e-3)
            assert [bx.xyxy for bx in a.boxes] == [bx.xyxy for bx in b.boxes]


def test_run_with_ray_from_the_command_line(tmp_path, image_folder, local_ray, capsys):
    """`main.py attention PROJECT --ray` (Ray already started in this process, as `ray start` would be)."""
    from core.pipeline.config import load_config
    from main import main

    project = _tiny_project(tmp_path, image_folder, "cli")
    key = load_config(project).backbone_key
    project.close()
    assert main(["attention", str(project.path), "--ray", "--ray-batch-size", "3", "--ray-actors", "1"]) == 0
    with Project.open(project.path) as p:
        assert len(p.maps.image_ids_with_attention(key)) == 7


def test_proposals_on_ray_match_the_local_stage(tmp_path, image_folder, local_ray):
    from core.data.unreadable import unreadable_images
    from core.pipeline import compute_proposals
    from core.pipeline.cluster import RayOptions, compute_attention_on_ray, compute_proposals_on_ray
    from core.pipeline.config import load_config
    from core.progress import Progress

    local = _tiny_project(tmp_path, image_folder, "local")
    cfg = load_config(local)
    cfg.proposals.scoring_size, cfg.proposals.map_size, cfg.train.cls_epochs = 32, 32, 3
    save_config(local, cfg)
    compute_attention_on_ray(local, opts=RayOptions(actors=1))
    local.close()                                       # both projects start from the same maps: copied, not redone
    shutil.copy(local.path, tmp_path / "ray.dips")
    shutil.copytree(local.work_dir, tmp_path / "ray_work")
    local, remote = Project.open(local.path), Project.open(tmp_path / "ray.dips")
    broken = image_folder / "site" / "a.jpg"            # broken on disk after its maps were made
    broken.write_bytes(broken.read_bytes()[:200])
    seen: dict[str, list[str]] = {"local": [], "ray": []}
    n_local = compute_proposals(local, progress=Progress(lambda e: seen["local"].append(e.message)))
    n_ray = compute_proposals_on_ray(remote, progress=Progress(lambda e: seen["ray"].append(e.message)),
                                     opts=RayOptions(batch_size=2, actors=2))
    assert n_ray == n_local > 0
    # the broken image is recorded alike (not read again while unchanged), with its reason: its file changed since it
    # was read, so both stages' check of changed files (core/data/changed_files.py) read it before proposing
    assert unreadable_images(remote) == unreadable_images(local) and len(unreadable_images(local)) == 1
    failed = unreadable_images(local)[0]
    assert failed.rel_path == "site/a.jpg" and failed.reason == "truncated or corrupt image data"
    assert remote.proposals.list(remote.images.by_path("site/a.jpg").id) == []
    assert compute_proposals_on_ray(remote, opts=RayOptions(actors=1)) == 0     # not read again
    assert "on Ray: 2 actors" in seen["ray"]                                      # counted in words
    for rec in local.images.list():
        a = [(p.rank, p.source_map) + tuple(round(v, 3) for v in p.xyxy) for p in local.proposals.list(rec.id)]
        b = [(p.rank, p.source_map) + tuple(round(v, 3) for v in p.xyxy) for p in remote.proposals.list(rec.id)]
        assert a == b
        np.testing.assert_allclose([p.score for p in local.proposals.list(rec.id)],
                                   [p.score for p in remote.proposals.list(rec.id)], atol=1e-4)


def test_predict_on_ray_draws_boxes_with_the_project_box_settings(tiny_prepared, local_ray):
    """The box settings (merging, score, fixed threshold, GrabCut) reach the Ray path: its boxes are the local
    stage's and its run records the same settings."""
    from core.pipeline import predict, train
    from core.pipeline.cluster import RayOptions, predict_on_ray

    project, cfg = tiny_prepared
    run_id = train(project, cfg)
    cfg.boxes.merge_gap, cfg.boxes.score, cfg.boxes.threshold = 0.5, "mass", 0.4
    local = predict(project, run_id, cfg=cfg)
    remote = predict_on_ray(project, run_id, opts=RayOptions(batch_size=2, actors=1), cfg=cfg)
    for run in (local, remote):
        recorded = project.maps.prediction_run_config(run)
        assert (recorded["operating_threshold"], recorded["calibrated_on"]) == (0.4, 0)
        assert (recorded["boxes"]["merge_gap"], recorded["boxes"]["score"]) == (0.5, "mass")
    for rec in project.images.list():
        a, b = project.maps.prediction(rec.id, local), project.maps.prediction(rec.id, remote)
        if a is not None:
            assert [bx.xyxy for bx in a.boxes] == [bx.xyxy for bx in b.boxes]
    cfg.boxes.grabcut = True                            # GrabCut reads the cached image on this side
    cut = predict_on_ray(project, run_id, opts=RayOptions(batch_size=2, actors=1), cfg=cfg)
    assert project.maps.prediction_run_config(cut)["boxes"]["grabcut"] is True
    for rec in project.images.list():
        a, b = project.maps.prediction(rec.id, local), project.maps.prediction(rec.id, cut)
        if a is not None:
            assert len(b.boxes) == len(a.boxes)         # one box per region, tightened
