"""How predicted boxes are drawn is a project setting, given to the predict stage and recorded per run."""
import numpy as np

from core.pipeline.predict_stage import boxes_for_map


def _apply_cli(project, stage: str, *options: str):
    from core.cli import build_parser
    from core.cli_stages import _cfg
    return _cfg(project, build_parser().parse_args([stage, str(project.path), *options]))


def test_predict_options_for_box_drawing_are_saved_with_the_project(tiny_pipeline):
    from core.pipeline.config import load_config
    project, _ = tiny_pipeline
    _apply_cli(project, "predict", "--merge-gap", "0.75", "--box-score", "mean", "--min-rel-area", "0.2",
               "--grabcut")
    saved = load_config(project).boxes
    assert (saved.merge_gap, saved.score, saved.min_rel_area, saved.grabcut) == (0.75, "mean", 0.2, True)
    _apply_cli(project, "predict", "--no-grabcut")
    assert load_config(project).boxes.grabcut is False and load_config(project).boxes.merge_gap == 0.75
    _apply_cli(project, "predict", "--threshold", "0.7")
    assert load_config(project).boxes.threshold == 0.7
    _apply_cli(project, "predict", "--threshold", "default")
    assert load_config(project).boxes.threshold is None


def test_proposal_minimum_size_is_a_project_setting(tiny_pipeline):
    from core.pipeline.config import load_config
    project, _ = tiny_pipeline
    assert _apply_cli(project, "proposals", "--min-area", "0.06").proposals.min_area_frac == 0.06
    assert load_config(project).proposals.min_area_frac == 0.06


def test_prediction_run_records_how_its_boxes_were_drawn(tiny_prepared):
    from core.pipeline import predict, train
    project, cfg = tiny_prepared
    cfg.boxes.merge_gap = 0.25
    trained = train(project, cfg)
    run = predict(project, trained, cfg=cfg)
    assert project.maps.prediction_run_config(run)["boxes"]["merge_gap"] == 0.25
    cfg.boxes.threshold = 0.65                        # the project's own operating threshold is used as is
    fixed = project.maps.prediction_run_config(predict(project, trained, cfg=cfg))
    assert (fixed["operating_threshold"], fixed["calibrated_on"]) == (0.65, 0)


def test_boxes_in_image_pixels_carry_the_object_probability():
    fg = np.zeros((20, 20), np.float32)
    fg[2:6, 2:6] = 0.8
    fg[2:6, 8:12] = 0.8           # a second fragment 2 px away
    from core.dips.map_boxes import BoxDrawConfig
    [(x0, y0, x1, y1, score)] = boxes_for_map(fg, 200, 100, p_object=0.5, threshold=0.5,
                                              draw=BoxDrawConfig(merge_gap=0.5))
    assert (x0, y0, x1, y1) == (20.0, 10.0, 120.0, 30.0) and abs(score - 0.5 * 0.8 * 32 / 40) < 1e-6


def test_issue_14_settings_are_project_settings(tiny_pipeline):
    from core.pipeline.config import load_config
    project, _ = tiny_pipeline
    _apply_cli(project, "predict", "--split-touching", "0.15", "--fit-to-curated")
    boxes = load_config(project).boxes
    assert (boxes.split_touching, boxes.fit_to_curated) == (0.15, True)
    train = _apply_cli(project, "train", "--curated-weight", "4", "--bg-hard-frac", "0").train
    assert (train.curated_weight, train.bg_hard_frac) == (4.0, 0.0)
    assert (load_config(project).train.curated_weight, load_config(project).train.bg_hard_frac) == (4.0, 0.0)


def test_by_default_runs_fit_their_drawing_to_curated_boxes_once_there_are_enough(tiny_prepared):
    from core.pipeline import predict, train
    from core.settings import BoxDrawConfig
    assert BoxDrawConfig().fit_to_curated is True
    project, cfg = tiny_prepared
    rec = project.images.list()[0]
    project.boxes.add(rec.id, (2.0, 2.0, 20.0, 20.0), rec.class_id)   # one curated image: too few to fit on
    run = project.maps.prediction_run_config(predict(project, train(project, cfg), cfg=cfg))
    assert run["fitted_to_curated"] == 0 and run["boxes"]["fit_to_curated"] is True


def test_prediction_run_records_the_curated_images_held_out_for_its_training_run(tiny_prepared):
    """Boxes curated before training, on train images, trained the run (it records those images): it is not fitted
    to them and says so, even after a box of one of them is moved; images curated after it drew its samples are held
    out, and once 5 have boxes the run is fitted to them alone."""
    from core.pipeline import predict, train
    from core.run_figures import threshold_words
    project, cfg = tiny_prepared
    recs = [r for r in project.images.list() if r.class_id is not None][:7]
    assert len(recs) == 7
    project.images.set_splits({r.id: "train" for r in recs})
    for r in recs[:2]:
        project.boxes.add(r.id, (2.0, 2.0, 20.0, 20.0), r.class_id)
    trained = train(project, cfg)
    assert project.runs.get(trained).metrics["curated_images"] == sorted(r.id for r in recs[:2])
    before = project.maps.prediction_run_config(predict(project, trained, cfg=cfg))
    assert (before["curated_trained_on"], before["curated_held_out"], before["fitted_to_curated"]) == (2, 0, 0)
    assert before["threshold_source"] in ("pseudo", "default")
    assert "not fitted to curated boxes" in threshold_words(before)
    [box] = project.boxes.list(recs[0].id)               # moving a box the run learned does not make it new to it
    project.boxes.update(box.id, (3.0, 3.0, 22.0, 22.0))
    for r in recs[2:]:                                   # the inspector boxes five more images after the run
        project.boxes.add(r.id, (3.0, 3.0, 22.0, 22.0), r.class_id)
    after = project.maps.prediction_run_config(predict(project, trained, cfg=cfg))
    assert (after["curated_trained_on"], after["curated_held_out"], after["fitted_to_curated"]) == (2, 5, 5)
    assert after["threshold_source"] == "fit" and after["calibrated_on"] == 5
    assert "fitted to 5 curated images the run did not train on" in threshold_words(after)
