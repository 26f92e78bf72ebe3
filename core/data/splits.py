"""Deterministic, stratified train/val/test splits.

Each class's images are ordered by a seeded hash of their relative path, then cut at the
ratios. New images added later fill each class's splits towards the same ratios, so
re-importing never moves an image that was already assigned.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class SplitConfig:
    train: float = 0.7
    val: float = 0.15
    test: float = 0.15
    seed: int = 0

    def __post_init__(self):
        total = self.train + self.val + self.test
        if min(self.train, self.val, self.test) < 0 or abs(total - 1.0) > 1e-6:
            raise ValueError(f"split ratios must be >= 0 and sum to 1, got {self.train}, {self.val}, {self.test}")

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> SplitConfig:
        parts = [float(x) for x in text.split(",")]
        if len(parts) != 3:
            raise ValueError(f"split ratios must be three numbers 'train,val,test', got {text!r}")
        train, val, test = parts
        return cls(train, val, test, seed=seed)

    def ratios(self) -> tuple[float, float, float]:
        return (self.train, self.val, self.test)


def _key(seed: int, rel_path: str) -> str:
    return hashlib.sha1(f"{seed}:{rel_path}".encode()).hexdigest()


def assign_splits(existing: list[tuple[str, int | None, str]], new: list[tuple[str, int | None]],
                  cfg: SplitConfig) -> dict[str, str]:
    """Split assignment for ``new`` images given the ``existing`` (rel_path, class, split) ones.

    Returns {rel_path: split} for the new images only. Per class, each new image goes to the
    split with the largest shortfall against the target ratios (ties: train, val, test).
    """
    counts: dict[int | None, list[int]] = defaultdict(lambda: [0, 0, 0])
    for _, cls, split in existing:
        counts[cls][SPLIT_NAMES.index(split)] += 1
    by_class: dict[int | None, list[str]] = defaultdict(list)
    for rel, cls in new:
        by_class[cls].append(rel)
    out: dict[str, str] = {}
    ratios = cfg.ratios()
    for cls, paths in by_class.items():
        c = counts[cls]
        for rel in sorted(paths, key=lambda p: _key(cfg.seed, p)):
            n = sum(c) + 1
            deficits = [ratios[i] * n - c[i] for i in range(3)]
            best = max(range(3), key=lambda i: (deficits[i], -i))
            c[best] += 1
            out[rel] = SPLIT_NAMES[best]
    return out
