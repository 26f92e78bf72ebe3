"""Image files that could not be decoded, remembered with the project so that they are not decoded again and again.

Each failure is kept with its reason and the file's size and modification time at that moment (project meta
``unreadable_files``, JSON: rel_path -> {"reason", "size", "mtime_ns"}). A file whose size and modification time
are still those is skipped by the importer's re-scan and by the attention stage (and so by the window's resume on
opening a project) with its recorded reason; saving the file again (a repaired copy, a fresh download) changes
them, and the next scan or stage reads it again. Asked for, unchanged files are read again: ``attention
--retry-unreadable`` forgets the failures of the project's images (the attention stage and the next proposals run
read them), ``import-images --retry-unreadable`` (or ``--rehash``) reads the files the importer refused; a file
that decodes is forgotten.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.data.file_stamp import file_stamp, unchanged_since

META_KEY = "unreadable_files"
# key of a training run's metrics and of a prediction run's config: {rel_path: reason} of the images left out
UNREADABLE_KEY = "skipped_unreadable"
RETRY_HINT = ("fix or replace the file (a new size or modification time retries it), or: attention --retry-unreadable "
              "(reads these images again)")
# what info, the stages and the window's image list say of such an image (one wording, so they read alike)
SKIPPED = "skipped, not decoded again until the file changes"
REFUSED_HINT = ("fix or replace the file (a new size or modification time retries it), or: import-images "
                "--retry-unreadable (reads these files again; --rehash also reads every other file)")


class _Meta(Protocol):
    def get_meta(self, key: str, default: str | None = None) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


@dataclass(frozen=True)
class Failure:
    rel_path: str
    reason: str


class UnreadableFiles:
    """The project's record of files that failed to decode. Read once, changed in memory, written by ``save``
    (one meta row, one transaction; nothing is written when nothing changed)."""

    def __init__(self, project: _Meta, root: Path):
        self.project, self.root = project, Path(root)
        try:
            self._rows: dict[str, dict] = json.loads(project.get_meta(META_KEY) or "{}")
        except ValueError:         # a damaged record only costs a retry
            self._rows = {}
        if not isinstance(self._rows, dict):
            self._rows = {}
        self._changed = False

    def still_unreadable(self, rel_path: str) -> Failure | None:
        """The recorded failure when the file is as it was when it failed (same size and modification time, or
        still not there), else None: unknown, or changed since, so worth reading again."""
        row = self._rows.get(rel_path)
        if row is None:
            return None
        then = None if row.get("size") is None else (row["size"], row["mtime_ns"])
        if not unchanged_since(self.root / rel_path, then):
            return None
        return Failure(rel_path, str(row.get("reason", "unreadable")))

    def record(self, rel_path: str, reason: str) -> None:
        """``rel_path`` (relative to the image folder) failed to decode for ``reason``, as the file is now."""
        now = file_stamp(self.root / rel_path)
        self._rows[rel_path] = {"reason": reason, "size": now[0] if now else None,
                                "mtime_ns": now[1] if now else None}
        self._changed = True

    def forget(self, rel_path: str) -> None:
        """``rel_path`` decoded: nothing to remember."""
        if self._rows.pop(rel_path, None) is not None:
            self._changed = True

    def failures(self) -> list[Failure]:
        """Every recorded failure, by path."""
        return [Failure(p, str(r.get("reason", "unreadable"))) for p, r in sorted(self._rows.items())]

    def save(self) -> None:
        if self._changed:
            self.project.set_meta(META_KEY, json.dumps(self._rows, sort_keys=True))
            self._changed = False


def unreadable_images(project) -> list[Failure]:
    """The images of ``project`` (a core.store.project.Project) that failed to decode and have not changed since
    (the stages leave them alone), each with its reason; files no longer in the project are left out."""
    from core.store.repos.images import ImageFilter
    unreadable = UnreadableFiles(project, project.image_root)
    known = {r.rel_path for r in project.images.list(ImageFilter(include_missing=False))}
    return [f for f in unreadable.failures() if f.rel_path in known and unreadable.still_unreadable(f.rel_path)]


def unreadable_reasons(project) -> dict[str, str]:
    """``{rel_path: reason}`` of the files of ``project``'s image folder recorded as failing to decode and unchanged
    since: what the window's image list marks. One meta read and one stat per recorded failure, never a read of
    every image row (the list calls it on each refresh of a 100,000-image project)."""
    unreadable = UnreadableFiles(project, project.image_root)
    return {f.rel_path: f.reason for f in unreadable.failures() if unreadable.still_unreadable(f.rel_path)}


def readable_again(project, left_out) -> list[str]:
    """The paths of ``left_out`` (a run's ``UNREADABLE_KEY`` record, or its keys) that are no longer recorded as
    failing to decode (their files changed since: repaired) and are still images of ``project``, sorted. Reads the
    recorded failures only (``unreadable_reasons``), never every image row."""
    still = unreadable_reasons(project)
    return sorted(r for r in left_out if r not in still and project.images.by_path(r) is not None)


# what the window offers for one image (app/actions.py "read_again", Image menu)
READ_AGAIN_MENU = "Image \u25b8 Read this image again"


def unreadable_words(name: str, reason: str) -> str:
    """One unreadable image said alone (the window's tooltip, its card on the canvas), named: the reason, that the
    stages skip it and its earlier suggestions are not offered until the file changes, and how to have it read
    again (the file, or the window's menu; ``info`` and the stages say the command-line way for all of them)."""
    return (f"unreadable: {reason}\n{SKIPPED}; its earlier maps and suggested boxes are not offered\n"
            f"to read {name} again: fix or replace the file (a new size or modification time retries it), "
            f"or {READ_AGAIN_MENU}")


def skipped_line(failure: Failure) -> str:
    """The one line training and prediction print for an image they leave out because it failed to decode."""
    return f"skipped {failure.rel_path}: unreadable ({failure.reason}); {SKIPPED.removeprefix('skipped, ')}"


def skipped_lines(recorded: dict | None) -> list[str]:
    """The lines for a run's ``UNREADABLE_KEY`` record ({rel_path: reason}), one per image left out."""
    return [skipped_line(Failure(p, str(r))) for p, r in sorted((recorded or {}).items())]


def left_out_words(recorded: dict | None) -> str | None:
    """How many images a run left out as unreadable, from its ``UNREADABLE_KEY`` record ({rel_path: reason}), e.g.
    '2 images left out as unreadable'; None when it left none out."""
    if not recorded:
        return None
    from core.result_checks import plural
    return f"{plural(len(recorded), 'image')} left out as unreadable"


def left_out_list(recorded: dict | None, limit: int | None = None) -> list[str]:
    """One 'rel_path: reason' per image of a run's ``UNREADABLE_KEY`` record, by path; with ``limit``, at most that
    many and then '... and N more'."""
    rows = [f"{p}: {r}" for p, r in sorted((recorded or {}).items())]
    if limit is not None and len(rows) > limit:
        return rows[:limit] + [f"\u2026 and {len(rows) - limit} more"]
    return rows


def without_unreadable(project, records: list) -> tuple[list, list[Failure]]:
    """``records`` (image records of ``project``) less those recorded as failing to decode and unchanged since,
    and the failures of those left out, in the order given. Their features may still be cached from before the
    file broke: training and prediction leave them out all the same (the file no longer says what they show)."""
    unreadable = UnreadableFiles(project, project.image_root)
    kept: list = []
    skipped: list[Failure] = []
    for r in records:
        if (failed := unreadable.still_unreadable(r.rel_path)) is None:
            kept.append(r)
        else:
            skipped.append(failed)
    return kept, skipped


def record_unreadable(project, rel_path: str, reason: str) -> None:
    """The window could not decode ``rel_path`` (its canvas reads the file as the stages do): recorded as the
    stages record it (one meta row, one transaction), so that the stages skip it too until the file changes."""
    unreadable = UnreadableFiles(project, project.image_root)
    if unreadable.still_unreadable(rel_path) is None:
        unreadable.record(rel_path, reason)
        unreadable.save()


def forget_unreadable(project, rel_path: str) -> bool:
    """Forget the recorded failure of one image (the window's "read again"): the canvas and the stages read it
    again, changed or not. Returns whether one was recorded."""
    unreadable = UnreadableFiles(project, project.image_root)
    was = unreadable.still_unreadable(rel_path) is not None
    unreadable.forget(rel_path)
    unreadable.save()
    return was


def refused_files(project) -> list[Failure]:
    """The files of ``project``'s image folder that the importer refused because they failed to decode and that have
    not changed since (re-scans skip them), each with its reason: the recorded failures that are not images of the
    project."""
    from core.store.repos.images import ImageFilter
    unreadable = UnreadableFiles(project, project.image_root)
    known = {r.rel_path for r in project.images.list(ImageFilter(include_missing=True))}
    return [f for f in unreadable.failures() if f.rel_path not in known and unreadable.still_unreadable(f.rel_path)]


def retry_unreadable_images(project) -> int:
    """Forget the recorded decoding failures of ``project``'s images (a core.store.project.Project), so that the
    stages read them again (attention, proposals), changed or not; the files the importer refused stay recorded
    (``import_images(retry_unreadable=True)`` reads those). Returns how many images the stages were skipping."""
    from core.store.repos.images import ImageFilter
    again = len(unreadable_images(project))
    unreadable = UnreadableFiles(project, project.image_root)
    for r in project.images.list(ImageFilter(include_missing=True)):
        unreadable.forget(r.rel_path)
    unreadable.save()
    return again
