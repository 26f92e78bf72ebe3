"""How training and prediction runs are named to users, the same way in the CLI and the window.

A prediction run has its own number (the one ``evaluate --prediction-run`` takes and ``info`` prints) and comes
from a training run (the training panel's "Training run" column, ``predict --run``). Both used to be shown as
"run #N", so a user could not tell which number to type: every place now leads with the prediction run's own number
and names the training run as where it came from. A training run is always "training run #N" (``training_run_name``),
never a bare "run #N". Machine-readable keys ("train_run", "run" in exports) keep their names.
"""
from __future__ import annotations


def training_run_name(run: int | None, capital: bool = False) -> str:
    """'training run #3' ('Training run #3' with ``capital``, to start a sentence); 'training run ?' for a number
    that is unknown (e.g. a deleted run)."""
    name = f"training run #{run}" if run is not None else "training run ?"
    return name[0].upper() + name[1:] if capital else name


def prediction_run_name(pred_run: int | None, training_run: int | None) -> str:
    """'prediction run #5 (from training run #3)'; '?' for a number that is unknown (e.g. a deleted training run)."""
    if pred_run is None:
        return "prediction run ?"
    return f"prediction run #{pred_run} (from {training_run_name(training_run)})"


def prediction_run_short(pred_run: int | None) -> str:
    """The name in a narrow table cell: 'pred. run #5' (the prediction run's own number, as above)."""
    return f"pred. run #{pred_run}" if pred_run is not None else "pred. run ?"
