"""Precision choices for the frozen networks' forward, torch-free so configs and the CLI can check them."""
from __future__ import annotations

PRECISIONS = ("auto", "float32", "bfloat16")   # auto = bfloat16 where the device runs it fast (core.dips.device)


def check_precision(value: str, where: str) -> None:
    if value not in PRECISIONS:
        raise ValueError(f"{where} must be one of {PRECISIONS}, got {value!r}")
