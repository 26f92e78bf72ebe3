"""The proposals stage: which images get proposals, inspectors' decisions kept, redone when its settings change."""
from __future__ import annotations

import json

import pytest
import torch

from core.pipeline import compute_attention, compute_proposals
from core.progress import Cancelled, Progress
from core.store.repos.images import ImageFilter


def test_proposals_only_for_object_classes_and_decisions_survive(tiny_pipeline):
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    assert compute_proposals(project, cfg) == 4                     # the 4 'site' images, not 'no_site'
    no_site = project.class_id("no_site", create=False)
    for rec in project.images.list(ImageFilter(class_id=no_site)):
        assert project.proposals.list(rec.id) == []
    site_img = project.images.by_path("site/a.jpg")
    props = project.proposals.list(site_img.id)
    assert [p.rank for p in props] == list(range(1, len(props) + 1))
    assert all(0 <= p.x0 < p.x1 <= site_img.width and 0 <= p.y0 < p.y1 <= site_img.height for p in props)
    project.proposals.set_status(props[0].id, "rejected")
    assert compute_proposals(project, cfg) == 0
    compute_proposals(project, cfg, force=True)
    again = project.proposals.list(site_img.id)
    assert any(p.status == "rejected" and p.xyxy == props[0].xyxy for p in again)


def test_efficientnet_scorer_option(tiny_pipeline):
    project, cfg = tiny_pipeline
    cfg.proposals.scorer = "efficientnet"
    compute_attention(project, cfg)
    assert compute_proposals(project, cfg) == 4
    assert list(project.work_dir.glob("scorer_*.pt"))
    probs = [p.class_prob for p in project.proposals.list(project.images.by_path("site/a.jpg").id)]
    assert probs and all(0.0 <= p <= 1.0 for p in probs)


def test_bf16_scoring_gives_the_float32_probabilities_within_bf16_rounding(tiny_pipeline):
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    site = project.images.by_path("site/a.jpg")
    probs = {}
    for precision in ("float32", "bfloat16"):
        cfg.proposals.scoring_precision = precision
        compute_proposals(project, cfg, force=True)
        probs[precision] = {p.xyxy: p.class_prob for p in project.proposals.list(site.id)}
    assert probs["float32"].keys() == probs["bfloat16"].keys() and probs["float32"]
    assert max(abs(probs["float32"][k] - probs["bfloat16"][k]) for k in probs["float32"]) < 0.03


def test_changed_proposal_settings_redo_every_image_once_and_a_cancelled_redo_resumes(tiny_pipeline):
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    assert compute_proposals(project, cfg) == 4
    cfg.proposals.scoring_precision = "bfloat16"           # scores move by rounding only: nothing to redo
    cfg.proposals.K = 2
    assert compute_proposals(project, cfg) == 0
    cfg.proposals.max_area_frac = 0.2                       # ranks can change: every image again
    seen = []

    def stop_after_two(ev):
        if ev.stage == "proposals" and ev.done >= 1:
            seen.append(ev.done)
            if ev.done == 2:
                raise Cancelled("user")
    with pytest.raises(Cancelled):
        compute_proposals(project, cfg, Progress(stop_after_two))
    assert compute_proposals(project, cfg) == 2             # the two not redone yet
    assert compute_proposals(project, cfg) == 0


def test_proposals_made_before_settings_were_recorded_are_redone_once(tiny_pipeline):
    from core.pipeline.proposal_stage import META_SETTINGS
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    compute_proposals(project, cfg)
    with project.transaction() as s:                      # a project from the first release
        from core.store.schema import Meta
        s.delete(s.get(Meta, META_SETTINGS))
    assert compute_proposals(project, cfg) == 4
    assert compute_proposals(project, cfg) == 0


def test_zoom_context_is_saved_and_redoes_the_proposals(tiny_pipeline):

    from core.pipeline.config import load_config
    from core.pipeline.proposal_stage import META_SETTINGS
    from main import main
    project, cfg = tiny_pipeline
    cfg.proposals.zoom_context = 0.0
    compute_attention(project, cfg)
    assert compute_proposals(project, cfg) == 4
    assert "zoom_context" not in json.loads(project.get_meta(META_SETTINGS))   # off: keys from before still match
    before = {r.rel_path: [p.score for p in project.proposals.list(r.id)]
              for r in project.images.list() if r.rel_path.startswith("site/a")}
    assert main(["proposals", str(project.path), "--zoom-context", "1.0"]) == 0
    assert load_config(project).proposals.zoom_context == 1.0
    assert json.loads(project.get_meta(META_SETTINGS))["zoom_context"] == 1.0
    assert project.get_meta("proposals_pending") == "[]"                     # all four redone
    after = {r.rel_path: [p.score for p in project.proposals.list(r.id)]
             for r in project.images.list() if r.rel_path.startswith("site/a")}
    assert after != before                                                  # scores now include the crop's


def test_deletion_scoring_redoes_proposals_but_its_arrival_did_not(tiny_pipeline):

    from core.pipeline.proposal_stage import META_SETTINGS
    project, cfg = tiny_pipeline
    compute_attention(project, cfg)
    assert compute_proposals(project, cfg) == 4
    assert "deletion" not in json.loads(project.get_meta(META_SETTINGS))   # keys written before it existed still match
    from core.pipeline.config import load_config
    from main import main
    assert main(["proposals", str(project.path), "--deletion"]) == 0
    assert load_config(project).proposals.deletion is True
    assert json.loads(project.get_meta(META_SETTINGS))["deletion"] is True
    assert project.get_meta("proposals_pending") == "[]"                 # all four redone
    assert main(["proposals", str(project.path), "--no-deletion"]) == 0
    assert load_config(project).proposals.deletion is False


def test_the_proposal_scorer_does_not_depend_on_the_training_seed(tiny_pipeline):
    """f_x is trained once per project and cached: which training seed happens to run first must not change it."""
    import shutil

    from core.pipeline.scorer import get_scorer
    project, cfg = tiny_pipeline
    s = cfg.proposals.scoring_size
    x = torch.rand(3, 3, s, s, generator=torch.Generator().manual_seed(1))
    probs = []
    for seed in (0, 7):
        cfg.train.seed = seed
        shutil.rmtree(project.work_dir, ignore_errors=True)     # no cached scorer: train it afresh
        probs.append(get_scorer(project, cfg, Progress())(x))
    assert torch.allclose(probs[0], probs[1])


def test_proposals_before_attention_says_which_stage_comes_first(tiny_pipeline, capsys):
    from core.cli import run_cli

    project, cfg = tiny_pipeline
    assert run_cli(["proposals", str(project.path)]) == 0
    err = capsys.readouterr().err
    assert "proposals for 0 images\nnote: 4 images of object classes have no attention maps yet, so no proposals: " \
           "run 'attention' first (or 'run' for every stage)" in err
    compute_attention(project, cfg)
    assert run_cli(["proposals", str(project.path)]) == 0
    err = capsys.readouterr().err
    assert "proposals for 4 images" in err and "note:" not in err
