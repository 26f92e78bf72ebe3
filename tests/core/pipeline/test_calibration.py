"""The operating threshold of a prediction run is chosen on the training images' pseudo boxes, never on
ground truth, and it is the threshold the boxes are drawn and evaluated at."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import numpy as np
import torch

from core.pipeline.config import PipelineConfig
from core.pipeline.predict_stage import (
    OPERATING_THRESHOLD,
    RunLearned,
    calibrate_threshold,
    choose_operating_point,
    fit_drawing,
)
from core.settings import BoxDrawConfig

CURATED_AT = datetime(2026, 5, 1, 12, 0)       # when the stub's boxes were drawn (naive UTC, as stored)
BEFORE = datetime(2026, 5, 1, 11, 0)           # a run that started before them could not learn them
AFTER = datetime(2026, 5, 1, 13, 0)            # one that started after them trained on those of the train split


def run_at(started: datetime) -> RunLearned:
    """A run from before runs recorded their curated images: only its start says what it learned from."""
    return RunLearned(started=started)


def _halo_map() -> np.ndarray:
    m = np.full((50, 50), 0.05, dtype=np.float32)
    m[10:40, 10:40] = 0.6        # a halo of middling confidence around ...
    m[20:30, 20:30] = 0.9        # ... the object itself, where the pseudo box is
    return m


def _stub_project(n_images: int, curated: dict | None = None, at: dict | None = None):
    """Stub project of ``n_images`` train images whose proposal is the object; ``curated`` {image: boxes}, drawn at
    CURATED_AT unless ``at`` {image: time} says otherwise."""
    recs = [SimpleNamespace(id=i, split="train", content_hash=f"h{i}", width=100, height=100) for i in range(n_images)]
    prop = SimpleNamespace(xyxy=(40.0, 40.0, 60.0, 60.0))
    curated = curated or {}
    at = at or {}
    mine = [SimpleNamespace(image_id=i, xyxy=b, created_at=at.get(i, CURATED_AT), updated_at=at.get(i, CURATED_AT))
            for i, bs in curated.items() for b in bs]
    project = SimpleNamespace(boxes=SimpleNamespace(list=lambda i: [b for b in mine if b.image_id == i],
                                                    all=lambda: mine),
                              proposals=SimpleNamespace(list=lambda _id, include_rejected=False: [prop]))
    feats = SimpleNamespace(tokens=np.zeros(1), cls=np.zeros(1), rgb=np.zeros((3, 50, 50), np.uint8))
    cache = SimpleNamespace(has=lambda _h: True, get=lambda _h: feats)

    def model(tokens, cls, rgb):
        b = tokens.shape[0]
        return np.full((b, 2), 0.5), torch.from_numpy(np.stack([_halo_map()] * b)).numpy()
    return project, model, cache, recs


def test_threshold_where_boxes_match_the_pseudo_boxes_is_chosen():
    project, model, cache, recs = _stub_project(8)
    tau, n = calibrate_threshold(project, model, cache, recs)
    # below 0.6 the box is the whole halo (IoU 0.11 with the pseudo box); from 0.6 on it is the object;
    # of the equally good ones the nearest to 0.5 wins
    assert n == 8 and tau == 0.6


def test_too_few_pseudo_boxes_fall_back_to_one_half():
    project, model, cache, recs = _stub_project(3)
    assert calibrate_threshold(project, model, cache, recs) == (OPERATING_THRESHOLD, 0)


def test_once_enough_images_are_curated_their_boxes_alone_choose_the_threshold():
    """The proposals are specks inside the object; the inspector boxed the whole halo on 5 images (any split)."""
    project, model, cache, recs = _stub_project(8, {i: [(20.0, 20.0, 80.0, 80.0)] for i in range(5)})
    recs[0].split = "val"
    tau, n = calibrate_threshold(project, model, cache, recs, run_at(BEFORE))
    assert n == 5 and tau == 0.5          # 0.3 .. 0.55 all draw the halo box; 0.5 is nearest the fallback
    # four curated images are too few: the training images' pseudo boxes choose as before
    project, model, cache, recs = _stub_project(8, {i: [(20.0, 20.0, 80.0, 80.0)] for i in range(4)})
    # curated where there, proposals elsewhere
    assert calibrate_threshold(project, model, cache, recs, run_at(BEFORE))[1] == 8


def test_drawing_is_fitted_to_what_the_inspector_boxed():
    """Inspector boxed the bright core on 5 images: the threshold that draws the core (0.6 and above; nearest 0.5
    wins) is chosen; had they boxed the halo, one below 0.6. The drawing as set wins the ties."""
    draw = BoxDrawConfig()
    core = {i: [(40.0, 40.0, 60.0, 60.0)] for i in range(5)}
    project, model, cache, recs = _stub_project(8, core)
    tau, chosen, n = fit_drawing(project, model, cache, recs, draw, run_at(BEFORE))
    assert (tau, n) == (0.6, 5) and chosen == draw
    halo = {i: [(20.0, 20.0, 80.0, 80.0)] for i in range(5)}
    project, model, cache, recs = _stub_project(8, halo)
    assert fit_drawing(project, model, cache, recs, draw, run_at(BEFORE))[:2] == (0.5, draw)
    project, model, cache, recs = _stub_project(8, {0: [(20.0, 20.0, 80.0, 80.0)]})
    assert fit_drawing(project, model, cache, recs, draw, run_at(BEFORE)) == (OPERATING_THRESHOLD, draw, 0)   # too few


def test_curated_boxes_of_test_images_choose_neither_threshold_nor_drawing():
    """Evaluation reports on the test split: boxes curated there are held out like its ground truth."""
    halo = {i: [(20.0, 20.0, 80.0, 80.0)] for i in range(5)}
    project, model, cache, recs = _stub_project(8, halo)
    recs[0].split = "test"
    # four curated images left: the training images' pseudo boxes choose, the test image's among none of them
    assert calibrate_threshold(project, model, cache, recs, run_at(BEFORE)) == (0.6, 7)
    fitted = fit_drawing(project, model, cache, recs, BoxDrawConfig(), run_at(BEFORE))
    assert fitted == (OPERATING_THRESHOLD, BoxDrawConfig(), 0)


def test_curated_images_the_run_trained_on_are_left_out_once_enough_are_held_out():
    """Five images curated after the run started (the halo) and three it trained on (the core, curated before): the
    held-out five alone choose; the core boxes would have pulled the threshold to 0.6."""
    halo, core = (20.0, 20.0, 80.0, 80.0), (40.0, 40.0, 60.0, 60.0)
    curated = {**{i: [halo] for i in range(5)}, **{i: [core] for i in range(5, 8)}}
    project, model, cache, recs = _stub_project(8, curated, at={i: BEFORE for i in range(5, 8)})
    run_started = datetime(2026, 5, 1, 11, 30)       # between the two
    assert fit_drawing(project, model, cache, recs, BoxDrawConfig(), run_at(run_started))[::2] == (0.5, 5)
    assert calibrate_threshold(project, model, cache, recs, run_at(run_started)) == (0.5, 5)


def test_validation_images_are_held_out_whenever_they_were_curated():
    """The localizer trains on the train split only: a val image's curated boxes are held out even when they were
    there before the run started; the same boxes on train images are not."""
    core = {i: [(40.0, 40.0, 60.0, 60.0)] for i in range(5)}
    project, model, cache, recs = _stub_project(8, core)
    for r in recs[:5]:
        r.split = "val"
    assert fit_drawing(project, model, cache, recs, BoxDrawConfig(), run_at(AFTER))[::2] == (0.6, 5)
    project, model, cache, recs = _stub_project(8, core)
    assert fit_drawing(project, model, cache, recs, BoxDrawConfig(), run_at(AFTER))[2] == 0


def test_with_too_few_held_out_images_the_drawing_is_not_fitted_and_pseudo_boxes_choose_the_threshold():
    """All 8 images curated (the halo) before the run started: it trained on them. Nothing is fitted; the threshold
    comes from the training images' pseudo boxes, as a run without curated boxes chooses it (curated where there)."""
    project, model, cache, recs = _stub_project(8, {i: [(20.0, 20.0, 80.0, 80.0)] for i in range(8)})
    fitted = fit_drawing(project, model, cache, recs, BoxDrawConfig(), run_at(AFTER))
    assert fitted == (OPERATING_THRESHOLD, BoxDrawConfig(), 0)
    assert calibrate_threshold(project, model, cache, recs, run_at(AFTER)) == (0.5, 8)
    # the same with an unknown run: nothing of the train split counts as held out
    assert fit_drawing(project, model, cache, recs, BoxDrawConfig(), None)[2] == 0


def test_a_run_that_recorded_its_curated_images_is_judged_by_them_not_by_box_times():
    """The run's own list decides, whatever the box times say: images 0-4 (the halo) it trained on, although their
    boxes are newer than its start (drawn before it drew its samples); images 5-9 (the core) are not on the list,
    so they are held out even with older boxes. By time alone the halo would be chosen instead."""
    halo, core = (20.0, 20.0, 80.0, 80.0), (40.0, 40.0, 60.0, 60.0)
    curated = {**{i: [halo] for i in range(5)}, **{i: [core] for i in range(5, 10)}}
    project, model, cache, recs = _stub_project(10, curated, at={**{i: AFTER for i in range(5)},
                                                                 **{i: BEFORE for i in range(5, 10)}})
    learned = RunLearned(started=datetime(2026, 5, 1, 12, 30), curated_images=frozenset(range(5)))
    assert fit_drawing(project, model, cache, recs, BoxDrawConfig(), learned)[::2] == (0.6, 5)   # the core's
    assert fit_drawing(project, model, cache, recs, BoxDrawConfig(), run_at(learned.started))[::2] == (0.5, 5)


def test_run_learned_reads_the_runs_recorded_images_and_start():
    started = datetime(2026, 5, 1, 9, 0)
    run = SimpleNamespace(started_at=started, metrics={"curated_images": [3, 1]})
    assert RunLearned.of(run) == RunLearned(started, frozenset({1, 3}))
    assert RunLearned.of(SimpleNamespace(started_at=started, metrics={})) == RunLearned(started, None)


def test_a_fit_records_on_how_many_images_its_best_box_would_have_been_kept():
    """The core boxed on 5 held-out images: at the fitted threshold the best box is the core on all 5. Boxes in a
    corner the map never lights: no threshold draws a box kept there, and the record says 0 (run_figures words it)."""
    cfg = PipelineConfig()
    project, model, cache, recs = _stub_project(8, {i: [(40.0, 40.0, 60.0, 60.0)] for i in range(5)})
    tau, _, chosen = choose_operating_point(project, model, cache, recs, cfg, run_at(BEFORE))
    assert (tau, chosen["threshold_source"], chosen["fitted_to_curated"], chosen["fit_kept"]) == (0.6, "fit", 5, 5)
    project, model, cache, recs = _stub_project(8, {i: [(85.0, 85.0, 99.0, 99.0)] for i in range(5)})
    _, _, chosen = choose_operating_point(project, model, cache, recs, cfg, run_at(BEFORE))
    assert (chosen["threshold_source"], chosen["fitted_to_curated"], chosen["fit_kept"]) == ("fit", 5, 0)
