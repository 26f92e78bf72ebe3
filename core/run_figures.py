"""A training run's figures in words, written once for every place that shows them: the command line (``train``,
``run``, ``info``) and the window's list of past runs. The window only lays the phrases out (one per column or
separated by dots); it never words a figure itself, so the two cannot drift apart. Torch-free: the window imports
it as it opens.
"""
from __future__ import annotations

from core.result_checks import finite, plural

# the short name of the same figure, where a phrase does not fit (the loss plot's legend and right axis)
ACCURACY_SHORT = "validation accuracy"


def accuracy_words(acc: float) -> str:
    """The classifier's validation accuracy as every place words it: 'classifier right on 87.5 % of the validation
    images'. ``acc``: a fraction (0.875), or a percentage above 1 (87.5) as some progress events carry it."""
    return f"classifier right on {100 * acc if acc <= 1 else acc:.1f} % of the validation images"


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
        parts.append(accuracy_words(acc))
    return parts


def describe_training_run(run) -> str:
    """One line on a training run as users name it, with its figures, e.g. 'run #3 finished: 12 epochs on 40
    training images, final loss 0.4123, classifier right on 87.5 % of the validation images'; a failed run gives
    its error's first line instead."""
    if run is None:
        return "run gone (deleted meanwhile)"
    text = f"run #{run.id} {run.status}"
    if run.status == "failed" and run.error:
        return f"{text}: {run.error.strip().splitlines()[0]}"
    parts = training_run_figures(run)
    return f"{text}: {', '.join(parts)}" if parts else text
