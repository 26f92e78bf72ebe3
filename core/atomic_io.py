"""One way to write a file so that readers see the old file or the whole new one, never a part.

Every file the app writes beside a project (checkpoints, cached features, COCO exports, converted
weights) goes through ``atomic_write``: the bytes go to a temporary file in the same folder, are
fsynced, get the mode an ordinary file would get under the user's umask, and are renamed over the
target. On any failure (a full disk, a cancelled stage, a killed write) the temporary file is removed
and the target is untouched. ``disk_error_message`` turns the OS errors of such failures into words.
"""
from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def current_umask() -> int:
    """The process umask (read by setting and restoring it: POSIX has no read-only call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    The file ends up with mode ``0o666 & ~umask`` (0644 under umask 022), as ``open(path, "w")``
    would give it; ``mkstemp`` alone would leave it 0600.

    Raises whatever the writer raises (``OSError`` with ``errno.ENOSPC`` on a full disk, ...), after
    removing the temporary file.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:   # a file stands where a folder of the path should be
        raise NotADirectoryError(errno.ENOTDIR, f"{exc.filename} is a file, not a folder", str(path)) from exc
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        exc.filename = str(path)   # the file the user asked for, not the temporary name never made
        raise
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:  # the writer may have closed it; flush its bytes to the disk
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except OSError as exc:
        if exc.filename in (None, str(tmp)):
            exc.filename = str(path)   # the user knows the file they asked for, not our temporary name
        raise
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))

