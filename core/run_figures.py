"""A training run's figures in words, written once for every place that shows them: the command line (``train``,
``run``, ``info``) and the window's list of past runs. The window only lays the phrases out (one per column or
separated by dots); it never words a figure itself, so the two cannot drift apart. Torch-free: the window imports
it as it opens.
"""
from __future__ import annotations

from core.result_checks import finite, plural
from core.run_names import training_run_name

# the short name of the same figure, where a phrase does not fit (the loss plot's legend and right axis)
ACCURACY_SHORT = "validation accuracy"


def accuracy_words(*, fraction: float) -> str:
    """The classifier's validation accuracy as every place words it: 'classifier right on 87.5 % of the validation
    images'. ``fraction``: of the validation images, 0-1 (0.875), the unit the training stage records and its
    progress events carry; named at every call, as guessing the unit from the value read 1 % (1.0) as 100 %.
    Raises ValueError for a value outside 0-1 (a percentage passed by mistake)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"accuracy {fraction!r} is not a fraction between 0 and 1")
    return f"classifier right on {100 * fraction:.1f} % of the validation images"


def training_run_figures(run) -> list[str]:
    """The figures of a training run (a core.store.records.TrainingRunRecord), one phrase each, in this order:
    the schedule ('3 of 12 epochs on 40 training images', or '12 epochs ...' once all ran), the loss ('final loss
    0.4123' of a finished run; a run that stopped early or is still running: 'last epoch's loss 0.5100'), and the
    classifier's validation accuracy ('classifier right on 87.5 % of the validation images'). A figure the run does
    not have is left out; [] when it has none. Metrics as core.pipeline.train_stage records them (``final_loss``,
    ``val_accuracy`` a fraction, ``n_train``); ``history`` one entry per epoch (``epoch``, ``loss``)."""
    m, cfg = run.metrics or {}, run.config or {}
    history = [h for h in (run.history or []) if isinstance(h, dict)]
    parts: list[str] = []
    epochs = cfg.get("epochs")
    done = history[-1].get("epoch", len(history)) if history else 0
    schedule = (f"{done} of {plural(epochs, 'epoch')}" if done and done != epochs else plural(epochs, "epoch")) \
        if epochs else ""
    if m.get("n_train") is not None:
        schedule = f"{schedule} on {plural(int(m['n_train']), 'training image')}".strip()
    if schedule:
        parts.append(schedule)
    if (loss := finite(m.get("final_loss"))) is not None:
        parts.append(f"final loss {loss:.4f}")
    elif history and (loss := finite(history[-1].get("loss"))) is not None:
        parts.append(f"last epoch's loss {loss:.4f}")
    if (acc := finite(m.get("val_accuracy"))) is not None:
        parts.append(accuracy_words(fraction=acc))
    return parts


def describe_training_run(run) -> str:
    """One line on a training run as users name it, with its figures, e.g. 'training run #3 finished: 12 epochs on 40
    training images, final loss 0.4123, classifier right on 87.5 % of the validation images'; a failed run gives
    its error's first line instead."""
    if run is None:
        return f"{training_run_name(None)} gone (deleted meanwhile)"
    text = f"{training_run_name(run.id)} {run.status}"
    if run.status == "failed" and run.error:
        return f"{text}: {run.error.strip().splitlines()[0]}"
    parts = training_run_figures(run)
    return f"{text}: {', '.join(parts)}" if parts else text


def _drawing_words(boxes: dict) -> str:
    if boxes.get("grabcut"):
        return "drawing (GrabCut)"
    if boxes.get("split_touching"):
        return f"drawing (touching objects split, {boxes['split_touching']:g})"
    return "drawing (as set)"


def threshold_words(config: dict) -> str:
    """How a prediction run chose its operating threshold tau and box drawing, in words, from the record
    core.pipeline.predict_stage.choose_operating_point keeps in its config, e.g. 'τ 0.80 and drawing (GrabCut)
    fitted to 7 curated images the run did not train on' or 'τ 0.70 chosen on 60 training images' pseudo boxes;
    not fitted to curated boxes: 2 curated images the run did not train on, 5 needed (the 54 it trained on do not
    count)'; a fit whose boxes were wrong on every one of its images says so (``fit_kept`` 0) with what to do.
    Runs stored before the record was kept are worded from ``calibrated_on`` / ``fitted_to_curated``."""
    tau = finite(config.get("operating_threshold"))
    head = f"τ {tau:.2f}" if tau is not None else "τ ?"
    source = config.get("threshold_source")
    fitted, n_cal = int(config.get("fitted_to_curated") or 0), int(config.get("calibrated_on") or 0)
    if source is None:   # an older run
        if fitted:
            return f"{head} and {_drawing_words(config.get('boxes') or {})} fitted to {plural(fitted, 'curated image')}"
        return f"{head} chosen on {plural(n_cal, 'image')}" if n_cal else head
    if source == "project":
        return f"{head} set in the project"
    if source == "fit":
        text = (f"{head} and {_drawing_words(config.get('boxes') or {})} fitted to "
                f"{plural(fitted, 'curated image')} the run did not train on")
        if config.get("fit_kept") == 0:   # no threshold drew a box there that the inspector would keep
            text += ("; on none of them did its best box overlap a curated box (IoU >= 0.5), so it draws few boxes "
                     "or none: train longer, or check the labels")
        return text
    if source == "curated":
        return f"{head} chosen on {plural(n_cal, 'curated image')} the run did not train on"
    text = (f"{head} chosen on {plural(n_cal, 'training image')}' pseudo boxes" if source == "pseudo"
            else f"{head}: too few images to choose it on")
    held, trained = int(config.get("curated_held_out") or 0), int(config.get("curated_trained_on") or 0)
    if (held or trained) and (config.get("boxes") or {}).get("fit_to_curated", True):
        needed = int(config.get("curated_needed") or 5)   # runs recorded before it was stored needed 5
        text += (f"; not fitted to curated boxes: {plural(held, 'curated image')} the run did not train on, "
                 f"{needed} needed" + (f" (the {trained} it trained on do not count)" if trained else ""))
    return text


def unpredicted_training_run(project) -> tuple[int, int | None, int | None] | None:
    """(latest finished training run, latest prediction run or None, the training run that one came from) when the
    latest finished training run has not predicted yet (trained by ``train`` since the latest prediction, or never
    predicted): the boxes shown are then an older model's, or none. None when it has predicted, or none finished."""
    trained = project.runs.latest_finished()
    if trained is None:
        return None
    predicted = project.maps.latest_run_id()
    with_run = next((r.training_run_id for r in project.maps.prediction_runs() if r.id == predicted), None)
    return None if with_run == trained.id else (trained.id, predicted, with_run)
