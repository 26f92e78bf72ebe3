"""Checkpoints: written atomically, read as tensors and plain data only.

A project's work folder travels on shares and in zips, so a checkpoint is data, never code:
``torch.load(weights_only=True)`` refuses any pickled object other than tensors, dicts,
lists, strings and numbers, so a crafted ``__reduce__`` in a ``.pt`` file never runs.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch

from core.atomic_io import atomic_write
from core.errors import CheckpointError


def save_checkpoint(state: dict, path: Path) -> None:
    """Write ``state`` (tensors, dicts, lists, numbers, strings) to ``path`` atomically."""
    with atomic_write(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    """Read a checkpoint written by ``save_checkpoint``.

    Raises ``CheckpointError`` (naming the file) when it is missing, truncated, not a torch file,
    or holds pickled Python objects other than tensors and plain data (not loaded, for safety).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise CheckpointError(f"{path}: holds Python objects other than tensors; not loaded, for safety"
                                  ) from None
        raise CheckpointError(f"{path}: damaged or not a checkpoint ({_first_line(exc)})") from None
    except Exception as exc:
        raise CheckpointError(f"{path}: damaged or not a checkpoint ({_first_line(exc)})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a checkpoint of this app (holds a {type(state).__name__})")
    return state


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
