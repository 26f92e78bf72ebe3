"""The exception types that mean 'bad input' (the message is for the user), in one place so the CLI and the
GUI report them as one line instead of a traceback.

The bottom layer: it imports nothing of core. The modules that raise these re-export them under their old
names (``core.store.project.ProjectError`` and so on), so callers may import them from either place.
"""
from __future__ import annotations

from pathlib import Path


class ProjectError(Exception):
    """A project file cannot be created or opened; the message names the file and why."""


class ImportError_(Exception):  # noqa: N801 - avoid shadowing the builtin ImportError
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
                                                 FileNotFoundError, ValueError)
