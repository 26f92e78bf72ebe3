"""Disk-backed cache of the frozen encoder's outputs.

The encoder f_e is frozen, so its outputs are computed once per image (and once more
for the horizontally flipped image: a ViT is not flip-equivariant, so flipping the token
grid would not be the same thing) and the heads train on the cache instead of running
the ViT every step. Entries are float16 ``.npy`` files keyed by the image's content hash,
read memory-mapped: RAM stays bounded by the OS page cache, not by the data set.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.atomic_io import atomic_write
from core.train.checkpoint import CheckpointError


@dataclass
class CachedFeatures:
    tokens: np.ndarray   # [C, gh, gw] float16 patch tokens of the last block
    cls: np.ndarray      # [n_blocks, C] float16 CLS tokens of the last blocks
    rgb: np.ndarray      # [3, R, R] uint8, the image at the training resolution (for the CRF loss)


class FeatureCache:
    def __init__(self, folder: Path, key: str):
        self.folder = Path(folder) / key.replace("/", "_").replace(":", "_")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.key = key

    def _path(self, content_hash: str, part: str, flipped: bool) -> Path:
        return self.folder / f"{content_hash}.{part}{'_flip' if flipped else ''}.npy"

    def has(self, content_hash: str, flipped: bool = False) -> bool:
        return all(self._path(content_hash, part, flipped).is_file() for part in ("tokens", "cls")) and \
            self._path(content_hash, "rgb", False).is_file()

    def put(self, content_hash: str, tokens: np.ndarray, cls: np.ndarray, rgb: np.ndarray | None = None,
            flipped: bool = False) -> None:
        self._save(self._path(content_hash, "tokens", flipped), np.asarray(tokens, dtype=np.float16))
        self._save(self._path(content_hash, "cls", flipped), np.asarray(cls, dtype=np.float16))
        if rgb is not None:
            self._save(self._path(content_hash, "rgb", False), np.asarray(rgb, dtype=np.uint8))

    def get(self, content_hash: str, flipped: bool = False) -> CachedFeatures:
        """The cached entry, memory-mapped. Raises ``CheckpointError`` naming the file when an entry is damaged
        or holds pickled objects (never unpickled: ``allow_pickle`` stays off); the entry is then removed,
        so the next run of the stage computes it again."""
        paths = [self._path(content_hash, "tokens", flipped), self._path(content_hash, "cls", flipped),
                 self._path(content_hash, "rgb", False)]
        arrays = []
        for path in paths:
            try:
                arrays.append(np.load(path, mmap_mode="r", allow_pickle=False))
            except (ValueError, OSError, EOFError) as exc:
                for p in paths:
                    p.unlink(missing_ok=True)
                raise CheckpointError(f"{path}: damaged cached features ({exc}); removed, run the stage again to "
                                      "compute them afresh") from None
        tokens, cls, rgb = arrays
        if flipped:
            rgb = rgb[:, :, ::-1]
        return CachedFeatures(tokens, cls, rgb)

    @staticmethod
    def _save(path: Path, array: np.ndarray) -> None:
        # write-then-rename: a killed process or a full disk never leaves a half-written entry behind
        with atomic_write(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, array)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.glob("*.npy"))
