"""Which training runs are alive: a running run holds an OS lock on a file in its run folder.

A run left 'running' in the project by a killed process must not stay 'running' forever, and one that is
really running in another process must not be marked failed by whoever opens the project meanwhile. The
operating system drops a process's locks when it dies, however it dies (SIGKILL included), so "the lock can be
taken" means "its process has ended". POSIX ``flock``; ``msvcrt.locking`` on Windows.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = "running.lock"


def lock_path(work_dir: Path, run_id: int) -> Path:
    return Path(work_dir) / "runs" / str(run_id) / LOCK_NAME


def _try_lock(fd: int) -> bool:
    try:
        if sys.platform == "win32":
            import msvcrt
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


@contextmanager
def holding_run_lock(work_dir: Path, run_id: int) -> Iterator[None]:
    """Hold the run's lock while the block runs (the training itself)."""
    path = lock_path(work_dir, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        _try_lock(fd)   # a second trainer of the same run (a resume racing) still trains; the lock only tells life
        yield
    finally:
        os.close(fd)    # closing drops the lock


def run_is_alive(work_dir: Path, run_id: int) -> bool:
    """True while some process holds the run's lock. A run without a lock file (older versions) is not alive."""
    path = lock_path(work_dir, run_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        return not _try_lock(fd)
    finally:
        os.close(fd)
