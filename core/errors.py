"""The exception types that mean 'bad input' (the message is for the user), in one place
so the CLI and the GUI report them as one line instead of a traceback."""
from __future__ import annotations

import errno

from core.atomic_io import disk_error_message
from core.data.coco import CocoError
from core.data.images import ImageReadError
from core.data.importer import ImportError_
from core.dips.backbones.weights import WeightsError
from core.store.project import ProjectError
from core.train.checkpoint import CheckpointError

USER_ERRORS: tuple[type[BaseException], ...] = (ProjectError, ImportError_, CocoError, ImageReadError,
                                                 WeightsError, CheckpointError, FileNotFoundError, ValueError)

# OS errors a write meets that the user can act on (free space, permissions); others are bugs, shown as such.
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def user_message(exc: BaseException) -> str | None:
    """The one line to show for a failure that is the input's or the disk's fault, or None for a bug."""
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.errno in DISK_ERRNOS:
        return disk_error_message(exc)
    if isinstance(exc, USER_ERRORS):
        text = str(exc).strip()
        return text.splitlines()[0] if text else exc.__class__.__name__
    return None
