"""The runs list's cells for a training run: its figures, start time, duration. No Qt.

The figures' words are core.run_figures's, the same the command line prints (``train``, ``run``, ``info``): this
module only lays its phrases out on one line.
"""
from __future__ import annotations

from datetime import UTC, datetime

from core.data.unreadable import UNREADABLE_KEY, left_out_words
from core.progress import format_eta
from core.result_checks import finite
from core.run_figures import accuracy_words, training_run_figures

SEPARATOR = " \u00b7 "   # between a run's figures on its row
MAX_ERROR = 300          # characters of a failed run's error shown on its row (the full text: its tooltip)


def run_summary(r) -> str:
    """One line of a run's figures (core.run_figures.training_run_figures), then how many images it left out as
    unreadable ('2 images left out as unreadable'; the runs list names them); a failed run: its error's first
    line."""
    if r.status == "failed" and r.error:
        first = r.error.strip().splitlines()[0]
        # the row wraps, so a long first line fits; a very long one is cut visibly, never mid-word without a mark
        return first if len(first) <= MAX_ERROR else first[: MAX_ERROR - 1].rstrip() + "\u2026"
    left_out = left_out_words((r.metrics or {}).get(UNREADABLE_KEY))
    return SEPARATOR.join(training_run_figures(r) + ([left_out] if left_out else []))


def when(t: datetime | None) -> str:
    if t is None:
        return ""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone().strftime("%Y-%m-%d %H:%M")


def duration(a: datetime | None, b: datetime | None) -> str:
    if a is None or b is None:
        return ""
    return format_eta(max(0.0, (b - a).total_seconds()))


def progress_text(ev, phase: str, epochs: int) -> str:
    """The training panel's status line for a progress event: stage, epoch or count, loss, validation
    accuracy, and the event's message below."""
    ex = ev.extra or {}
    parts = [ev.stage or phase]
    if ex.get("epoch") is not None:
        parts.append(f"epoch {ex['epoch']}/{epochs}")
    elif ev.total:
        parts.append(f"{ev.done}/{ev.total}")
    if finite(ex.get("loss")) is not None:
        parts.append(f"loss {float(ex['loss']):.4f}")
    if finite(ex.get("val_acc")) is not None:      # the runs list's words for the same figure (core.run_figures)
        parts.append(accuracy_words(fraction=float(ex["val_acc"])))
    return " · ".join(parts) + (f"\n{ev.message}" if ev.message else "")
