"""The exception types that mean 'bad input' (the message is for the user), in one place
so the CLI and the GUI report them as one line instead of a traceback."""
from __future__ import annotations

from core.data.coco import CocoError
from core.data.images import ImageReadError
from core.data.importer import ImportError_
from core.dips.backbones.weights import WeightsError
from core.store.project import ProjectError
from core.train.checkpoint import CheckpointError

USER_ERRORS: tuple[type[BaseException], ...] = (ProjectError, ImportError_, CocoError, ImageReadError,
                                                 WeightsError, CheckpointError, FileNotFoundError, ValueError)
