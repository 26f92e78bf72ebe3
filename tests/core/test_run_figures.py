"""A training run's figures in words (core.run_figures): the one wording the command line and the window's runs list
both show."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.run_figures import accuracy_words, describe_training_run, threshold_words, training_run_figures


def run(**kw):
    base = {"id": 3, "status": "finished", "config": {"epochs": 12}, "metrics": {}, "history": [], "error": None}
    return SimpleNamespace(**{**base, **kw})


def test_a_finished_run_says_its_schedule_final_loss_and_validation_accuracy():
    r = run(history=[{"epoch": e, "loss": 1.0 / e} for e in range(1, 13)],
            metrics={"final_loss": 0.41234, "val_accuracy": 0.875, "n_train": 40})
    assert training_run_figures(r) == ["12 epochs on 40 training images", "final loss 0.4123",
                                       "classifier right on 87.5 % of the validation images"]
    assert describe_training_run(r) == ("training run #3 finished: 12 epochs on 40 training images, final loss 0.4123, "
                                        "classifier right on 87.5 % of the validation images")


def test_the_accuracy_is_a_fraction_whatever_its_value_so_one_percent_is_not_read_as_a_hundred():
    assert accuracy_words(fraction=0.01) == "classifier right on 1.0 % of the validation images"
    assert accuracy_words(fraction=1.0) == "classifier right on 100.0 % of the validation images"
    assert accuracy_words(fraction=0.0) == "classifier right on 0.0 % of the validation images"
    with pytest.raises(TypeError):
        accuracy_words(0.5)               # the unit is named at every call
    with pytest.raises(ValueError, match="not a fraction"):
        accuracy_words(fraction=87.5)     # a percentage passed by mistake is refused, not shown as 8750 %
    low = run(metrics={"val_accuracy": 0.01, "n_train": 40, "final_loss": 0.5})
    assert "classifier right on 1.0 % of the validation images" in describe_training_run(low)


def test_a_run_that_stopped_early_says_how_far_it_got_and_its_last_epochs_loss():
    r = run(status="cancelled", history=[{"epoch": 1, "loss": 0.9}, {"epoch": 2, "loss": 0.51}])
    assert training_run_figures(r) == ["2 of 12 epochs", "last epoch's loss 0.5100"]
    assert describe_training_run(r) == "training run #3 cancelled: 2 of 12 epochs, last epoch's loss 0.5100"


def test_one_epoch_and_one_image_are_singular_and_figures_it_lacks_are_left_out():
    r = run(config={"epochs": 1}, metrics={"n_train": 1, "final_loss": float("nan"), "val_accuracy": None},
            history=[{"epoch": 1, "loss": float("nan")}])
    assert training_run_figures(r) == ["1 epoch on 1 training image"]
    assert training_run_figures(run(config={}, status="running")) == []
    assert describe_training_run(run(config={}, status="running")) == "training run #3 running"


def test_a_failed_run_gives_its_errors_first_line():
    r = run(status="failed", error="CUDA out of memory\nTraceback ...")
    assert describe_training_run(r) == "training run #3 failed: CUDA out of memory"
    assert describe_training_run(None) == "training run ? gone (deleted meanwhile)"


def test_a_prediction_run_says_how_it_chose_its_threshold_and_on_how_many_held_out_curated_images():
    fit = {"operating_threshold": 0.8, "threshold_source": "fit", "calibrated_on": 7, "fitted_to_curated": 7,
           "curated_held_out": 7, "curated_trained_on": 40, "boxes": {"split_touching": 0.15}}
    assert threshold_words(fit) == ("τ 0.80 and drawing (touching objects split, 0.15) fitted to 7 curated images "
                                    "the run did not train on")
    few = {"operating_threshold": 0.85, "threshold_source": "pseudo", "calibrated_on": 118, "fitted_to_curated": 0,
           "curated_held_out": 2, "curated_trained_on": 59, "boxes": {"fit_to_curated": True}}
    assert threshold_words(few) == ("τ 0.85 chosen on 118 training images' pseudo boxes; not fitted to curated "
                                    "boxes: 2 curated images the run did not train on, 5 needed (the 59 it trained "
                                    "on do not count)")
    assert threshold_words({**few, "boxes": {"fit_to_curated": False}}).endswith("pseudo boxes")   # not asked to fit
    assert "did not train on, 8 needed" in threshold_words({**few, "curated_needed": 8})   # as the run recorded it
    assert threshold_words({"operating_threshold": 0.65, "threshold_source": "project"}) == "τ 0.65 set in the project"
    assert threshold_words({"operating_threshold": 0.7, "calibrated_on": 60}) == "τ 0.70 chosen on 60 images"  # older


def test_a_fit_whose_boxes_were_wrong_on_every_image_says_so_and_what_to_do():
    """A model that learned little: at every threshold its best box missed the curated ones, so the fit chose one
    that draws next to nothing; without a word the user sees 'fitted to 10 curated images' and then 0 boxes."""
    fit = {"operating_threshold": 0.6, "threshold_source": "fit", "calibrated_on": 10, "fitted_to_curated": 10,
           "curated_held_out": 10, "curated_trained_on": 0, "boxes": {}}
    assert threshold_words({**fit, "fit_kept": 0}) == (
        "τ 0.60 and drawing (as set) fitted to 10 curated images the run did not train on; on none of them did its "
        "best box overlap a curated box (IoU >= 0.5), so it draws few boxes or none: train longer, or check the labels")
    assert threshold_words({**fit, "fit_kept": 4}).endswith("the run did not train on")
    assert threshold_words(fit).endswith("the run did not train on")   # a run recorded before fit_kept was
