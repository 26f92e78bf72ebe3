"""The stages of the product and their order, written once: the CLI's ``run``, the GUI's background queue
(attention -> proposals) and the training panel (train -> predict) all take the order from here.

Torch-free and store-free: the GUI reads it on its own thread.
"""
from __future__ import annotations

ORDER = ("attention", "proposals", "train", "predict")

TITLES = {"attention": "Attention maps", "proposals": "Proposals", "train": "Training", "predict": "Prediction"}


def next_stage(stage: str) -> str | None:
    """The stage that uses ``stage``'s output, or None after the last."""
    i = ORDER.index(stage)
    return ORDER[i + 1] if i + 1 < len(ORDER) else None


def chain(first: str, last: str) -> list[str]:
    """``first`` and the stages after it, up to and including ``last``."""
    i, j = ORDER.index(first), ORDER.index(last)
    if j < i:
        raise ValueError(f"stage {last!r} comes before {first!r} (order: {', '.join(ORDER)})")
    return list(ORDER[i:j + 1])
