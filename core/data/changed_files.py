"""Image files changed on disk since they were read (replaced by a re-export, edited): read again before a stage
uses what was computed from them.

The stages find an image's cached features by its stored content hash and its maps and proposals by its row, so a
file replaced after import would otherwise be trained and predicted on with the old file's features, silently. Each
stage first calls ``reread_changed_images``: a stat per image against the stamp kept with its row (size and
modification time, core/data/file_stamp.py), a read only where the stamp moved. A file with new content gets its new
hash, size and orientation, and loses what was computed from the old pixels (attention maps, proposals, predicted
boxes), so the stages make them again; its curated and ground-truth boxes are kept (scaled with the image when its
size changed). A file that no longer decodes is recorded as unreadable (core/data/unreadable.py) and skipped by the
stages, which say so. The importer's re-scan applies the same change (``apply_new_content``).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select, update

from core.data.file_stamp import unchanged_since
from core.data.images import ImageInfo, ImageReadError, inspect_image
from core.data.unreadable import Failure, UnreadableFiles, skipped_line
from core.store.schema import AttentionMapRow, BoxRow, GtBoxRow, ImageRow, PredictionRow, ProposalRow

# what every stage prints for such a file, and why (one wording: the CLI, run's summary and the README read alike)
REREAD = ("the file changed since it was read (new content): the old file's maps, features, proposals and predicted "
          "boxes are dropped, to be made again from the new one; its curated boxes are kept")


Resize = tuple[tuple[int, int], tuple[int, int]]   # ((w, h) before, (w, h) now), image pixels


@dataclass(frozen=True)
class Reread:
    """One image file read again because its stamp moved: ``changed`` when its content differs (what was computed
    from it was dropped), ``reason`` when it no longer decodes (recorded unreadable; nothing dropped)."""
    rel_path: str
    changed: bool
    reason: str | None = None
    resized: Resize | None = None   # when its boxes were scaled to a new size


def reread_words(resized: Sequence[Sequence[int]] | None = None) -> str:
    """What happened to such a file, after its path: REREAD, and when its width or height changed how its boxes were
    scaled (``resized``: ((w, h) before, (w, h) now), in pixels, as ``run --json`` keeps it), so the inspector knows
    the boxes were moved with the picture, not left where they were."""
    if not resized:
        return REREAD
    (w0, h0), (w1, h1) = resized
    return f"{REREAD}, scaled with the image from {w0} x {h0} to {w1} x {h1} px"


def reread_line(r: Reread) -> str:
    """The line a stage prints for an image whose file has new content."""
    return f"re-read {r.rel_path}: {reread_words(r.resized)}"


def reread_lines(rereads: Iterable[Reread], unreadable: bool = False) -> list[str]:
    """One line per image read again with new content, and with ``unreadable`` one per image that no longer decodes
    (core/data/unreadable.py skipped_line: the words training and prediction print for it)."""
    lines = []
    for r in rereads:
        if r.changed:
            lines.append(reread_line(r))
        elif unreadable and r.reason is not None:
            lines.append(skipped_line(Failure(r.rel_path, r.reason)))
    return lines


def _inspect(path: Path) -> tuple[ImageInfo | None, str | None, int]:
    """(info, None, mtime_ns) or (None, reason, mtime_ns); the time is taken before reading, as the importer does,
    so a file saved again while it is read is read once more next time."""
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError:
        mtime_ns = 0
    try:
        return inspect_image(path), None, mtime_ns
    except ImageReadError as exc:
        return None, exc.reason, mtime_ns


def reread_changed_images(project, image_ids: Iterable[int] | None = None) -> list[Reread]:
    """Read again the images of ``project`` (on disk, among ``image_ids`` when given) whose file's size or
    modification time differ from those recorded with the row: one stat per image, a read (hash and cheap decode)
    only for those. New content: ``apply_new_content`` (one transaction per image). Same content: the new stamp is
    kept, nothing else changes. Undecodable: recorded with its reason (core/data/unreadable.py), the row is left as
    it was, and it is not read again until the file changes once more. Returns what was read again, by path."""
    wanted = None if image_ids is None else set(image_ids)
    with project.read() as s:
        rows = s.execute(select(ImageRow.id, ImageRow.rel_path, ImageRow.file_size, ImageRow.file_mtime_ns)
                         .where(ImageRow.missing.is_(False))).all()
    root = project.image_root
    unreadable = UnreadableFiles(project, root)
    out: list[Reread] = []
    for image_id, rel_path, size, mtime_ns in rows:
        if wanted is not None and image_id not in wanted:
            continue
        path = root / rel_path
        if unchanged_since(path, (size, mtime_ns)) or not path.is_file():   # gone: the re-scan flags it missing
            continue
        if unreadable.still_unreadable(rel_path) is not None:   # failed as it is now: the stages skip it already
            continue
        info, reason, new_mtime = _inspect(path)
        if info is None:
            unreadable.record(rel_path, reason or "unreadable")
            out.append(Reread(rel_path, False, reason))
            continue
        unreadable.forget(rel_path)
        with project.transaction() as s:
            row = s.get_one(ImageRow, image_id)
            changed = info.content_hash != row.content_hash
            resized = None
            if changed or (row.width, row.height) != (info.width, info.height):
                resized = apply_new_content(s, row, info)
            row.file_size, row.file_mtime_ns = info.file_size, new_mtime
        if changed:
            out.append(Reread(rel_path, True, resized=resized))
    unreadable.save()
    return out


def apply_new_content(s, row: ImageRow, info: ImageInfo) -> Resize | None:
    """In session ``s``: ``row``'s file now holds ``info``'s image. What was computed from the old pixels goes
    (attention maps of every backbone, proposals, predicted maps and boxes of every prediction run; cached features
    are keyed by content, so the new hash finds none), curated and ground-truth boxes stay, scaled by the change of
    width and height (a re-export at another size keeps them on the same part of the picture). The caller sets the
    file's stamp. Returns ((w, h) before, (w, h) now) when the boxes were scaled, else None."""
    resized = None
    if row.width and row.height and (row.width, row.height) != (info.width, info.height):
        resized = (row.width, row.height), (info.width, info.height)
        sx, sy = info.width / row.width, info.height / row.height
        for table in (BoxRow, GtBoxRow):
            s.execute(update(table).where(table.image_id == row.id)
                      .values(x0=table.x0 * sx, x1=table.x1 * sx, y0=table.y0 * sy, y1=table.y1 * sy))
    if info.content_hash != row.content_hash:
        # the boxes stay; their links to suggestions made from the old pixels go with those suggestions
        s.execute(update(BoxRow).where(BoxRow.image_id == row.id).values(proposal_id=None, predicted_box_id=None))
        s.execute(delete(ProposalRow).where(ProposalRow.image_id == row.id))
        s.execute(delete(AttentionMapRow).where(AttentionMapRow.image_id == row.id))
        s.execute(delete(PredictionRow).where(PredictionRow.image_id == row.id))   # its predicted boxes cascade
    row.width, row.height, row.orientation = info.width, info.height, info.orientation
    row.content_hash, row.file_size = info.content_hash, info.file_size
    return resized
