"""The exception types that mean 'bad input' (the message is for the user), in one place so the CLI and the
GUI report them as one line instead of a traceback.

The bottom layer: it imports nothing of core. The modules that raise these re-export them under their old
names (``core.store.project.ProjectError`` and so on), so callers may import them from either place.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path


class ProjectError(Exception):
    """A project file cannot be created or opened; the message names the file and why."""


class ProjectWriteError(ProjectError):
    """The project file refused a write (read-only, disk full, held by another program); nothing was saved."""


class ChangedMeanwhile(ProjectError):
    """Another program changed or removed what an edit was made on; the edit was not saved."""


class WeightsError(Exception):
    """A weight file that is missing, unreadable, or does not fit the asked-for architecture."""


class CheckpointError(Exception):
    """A checkpoint is missing, damaged or holds more than tensors and plain data; names the file."""


class ImportError_(Exception):
    """The import cannot start at all (no folder, unreadable CSV); names the file and why."""


class CocoError(Exception):
    """The COCO file cannot be used at all; names the file and the reason."""


class ImageReadError(Exception):
    """An image file cannot be used; ``str()`` names the file and the reason."""

    def __init__(self, path: Path | str, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class NoMapsError(ValueError):
    """None of the split's images with ground truth has maps of the asked type yet (nothing is computed)."""

    def __init__(self, message: str, maps: str, split: str):
        super().__init__(message)
        self.maps, self.split = maps, split


class CliError(Exception):
    """Bad input on the command line: printed as one line, exit code 2."""


USER_ERRORS: tuple[type[BaseException], ...] = (ProjectError, ImportError_, CocoError, ImageReadError, CliError,
                                                 WeightsError, CheckpointError, FileNotFoundError, ValueError)

# OS errors a write meets that the user can act on (free space, permissions); others are bugs, shown as such.
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)
# ... and a path that cannot be (a folder that is a file, a name too long): the user's to fix, said in words.
PATH_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.ENAMETOOLONG)


def disk_error_message(exc: OSError, path: str | os.PathLike | None = None) -> str:
    """Plain words for the OS errors a write meets; ``path`` defaults to the error's own file name."""
    where = path if path is not None else (exc.filename or "")
    prefix = f"{where}: " if where else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{prefix}not saved: the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{prefix}not saved: no permission to write there (read-only file, folder or disk)"
    return f"{prefix}not saved: {exc.strerror or exc}"


def user_message(exc: BaseException) -> str | None:
    """The one line to show for a failure that is the input's or the disk's fault, or None for a bug."""
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.errno in DISK_ERRNOS:
        return disk_error_message(exc)
    if isinstance(exc, OSError) and exc.errno in PATH_ERRNOS and exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    if isinstance(exc, USER_ERRORS):
        text = str(exc).strip()
        return text.splitlines()[0] if text else exc.__class__.__name__
    return None
