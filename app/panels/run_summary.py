"""One-line summaries of training runs for the runs list: figures, start time, duration. No Qt."""
from __future__ import annotations

from datetime import UTC, datetime

from core.progress import format_eta
from core.result_checks import finite


def fmt_float(v) -> str:
    f = finite(v)
    if f is None:
        return str(v)
    return f"{f:.3g}" if abs(f) < 1000 else f"{f:.0f}"


def run_summary(r) -> str:
    """One line of a run's final figures (metrics of core.pipeline.train: final_loss, val_accuracy, n_train)."""
    if r.status == "failed" and r.error:
        return r.error.strip().splitlines()[0][:120]
    m = dict(r.metrics or {})
    last = r.history[-1] if r.history and isinstance(r.history[-1], dict) else {}
    parts = []
    epochs = (r.config or {}).get("epochs")
    if epochs:
        done = last.get("epoch")
        parts.append(f"{done}/{epochs} ep" if done and done != epochs else f"{epochs} ep")
    loss = m.pop("final_loss", None)
    loss = loss if loss is not None else last.get("loss")
    if finite(loss) is not None:
        parts.append(f"loss {float(loss):.4f}")
    acc = m.pop("val_accuracy", m.pop("val_acc", None))
    if finite(acc) is not None:
        parts.append(f"class val acc {float(acc) * 100 if float(acc) <= 1 else float(acc):.1f}%")
    n = m.pop("n_train", None)
    if n is not None:
        parts.append(f"{n} train images")
    for k, v in list(m.items())[:3]:
        if finite(v) is not None:
            parts.append(f"{k} {fmt_float(v)}")
    return " · ".join(parts)


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
    if finite(ex.get("val_acc")) is not None:
        acc = float(ex["val_acc"])
        parts.append(f"val acc {acc * 100 if acc <= 1 else acc:.1f}%")
    return " · ".join(parts) + (f"\n{ev.message}" if ev.message else "")
