"""How a prediction run is named to users, the same way in the CLI and the window.

A prediction run has its own number (the one ``evaluate --prediction-run`` takes and ``info`` prints) and comes
from a training run (the training panel's "Run #N", ``predict --run``). Both used to be shown as "run #N", so a
user could not tell which number to type: every place now leads with the prediction run's own number and names
the training run as where it came from.
"""
from __future__ import annotations


def prediction_run_name(pred_run: int | None, training_run: int | None) -> str:
    """'prediction run #5 (from training run #3)'; '?' for a number that is unknown (e.g. a deleted training run)."""
    if pred_run is None:
        return "prediction run ?"
    trained = f"#{training_run}" if training_run is not None else "?"
    return f"prediction run #{pred_run} (from training run {trained})"


def prediction_run_short(pred_run: int | None) -> str:
    """The name in a narrow table cell: 'pred. run #5' (the prediction run's own number, as above)."""
    return f"pred. run #{pred_run}" if pred_run is not None else "pred. run ?"
