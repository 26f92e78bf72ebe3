"""Import an image folder into a project: folder-per-class or a flat folder with a CSV.

Every file is read once (hash + cheap decode, on a small thread pool), rows are written
in chunks, each chunk one transaction: a killed import leaves the project at its last
chunk and re-running it picks up where it stopped. Bad files are skipped and reported.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from core.data.changed_files import apply_new_content
from core.data.file_stamp import unchanged_since
from core.data.images import ImageInfo, ImageReadError, inspect_image
from core.data.import_scan import Candidate, ImportReport, read_label_csv, scan_class_folders
from core.data.splits import SplitConfig, assign_splits
from core.data.unreadable import UnreadableFiles
from core.errors import ImportError_
from core.progress import NULL_PROGRESS, Progress
from core.store.project import Project
from core.store.schema import ImageRow

# ImportReport, read_label_csv and scan_class_folders live in core.data.import_scan; the dialogs use them from here
__all__ = ["CHUNK", "Candidate", "ImportReport", "import_images", "project_split_config", "read_label_csv",
           "scan_class_folders"]

CHUNK = 256


def _inspect(root: Path, cand: Candidate) -> tuple[Candidate, ImageInfo | None, str | None, int]:
    """(candidate, info or None, reason or None, st_mtime_ns taken before reading; 0 if unknown)."""
    path = root / cand.rel_path
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError:
        mtime_ns = 0
    try:
        return cand, inspect_image(path), None, mtime_ns
    except ImageReadError as exc:
        return cand, None, exc.reason, mtime_ns


def import_images(project: Project, csv_path: Path | None = None, splits: SplitConfig | None = None,
                  progress: Progress = NULL_PROGRESS, workers: int = 4, rehash: bool = False,
                  retry_unreadable: bool = False) -> ImportReport:
    """Add new files, re-check known ones, flag vanished ones. A known file whose size and modification time
    are as recorded is not read again unless ``rehash``. A file that failed to decode and has not changed since
    (core/data/unreadable.py) is not read again unless ``rehash`` or ``retry_unreadable``."""
    root = project.image_root
    report = ImportReport()
    if not root.is_dir():
        raise ImportError_(f"{root}: image folder does not exist")
    cands = read_label_csv(Path(csv_path), root, report) if csv_path else scan_class_folders(root, report)
    if splits is None:
        splits = SplitConfig(**project_split_config(project))
    else:
        project.set_meta("split_config", f"{splits.train},{splits.val},{splits.test},{splits.seed}")
    known = _KnownRows.read(project)
    found = {c.rel_path for c in cands}
    kept_below = tuple(d + "/" for d in report.unreadable)     # unreadable folders: their rows stay as they are
    vanished = [p for p in known.by_path if p not in found and not p.startswith(kept_below)]
    todo = [c for c in cands if c.rel_path not in known.by_path]
    recheck = [c for c in cands if c.rel_path in known.by_path]
    if not rehash:
        same = {c.rel_path for c in recheck if known.unchanged_on_disk(root, c.rel_path)}
        report.unchanged += len(same)
        recheck = [c for c in recheck if c.rel_path not in same]

    unreadable = UnreadableFiles(project, root)
    added = _NewRows(project, known, vanished, splits, report)
    if not (rehash or retry_unreadable):   # a file that failed to decode, unchanged since, fails again: not read
        todo = _skip_known_failures(todo, unreadable, report, added.refused)
        recheck = _skip_known_failures(recheck, unreadable, report, set())
    total = len(todo) + len(recheck)
    progress.start("import", total, f"{len(cands)} files")
    rechecked = _RecheckedRows(project, known, report)
    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for writer, batch in ((added, todo), (rechecked, recheck)):
            for result in pool.map(lambda c: _inspect(root, c), batch):
                done += 1
                if result[2] is not None:
                    unreadable.record(result[0].rel_path, result[2])
                else:
                    unreadable.forget(result[0].rel_path)
                writer.add(result)
                progress.update(done, total, result[0].rel_path)
            writer.flush()
    unreadable.save()
    _flag_vanished(project, [p for p in vanished if p not in added.moved_from], report)
    for c in cands:       # what the project holds from this scan: files refused now are not counted
        if c.class_name and c.rel_path not in added.refused:
            report.classes[c.class_name] = report.classes.get(c.class_name, 0) + 1
    return report


_Inspected = tuple[Candidate, ImageInfo | None, str | None, int]   # what _inspect returns


def _skip_known_failures(cands: list[Candidate], unreadable: UnreadableFiles, report: ImportReport,
                         refused: set[str]) -> list[Candidate]:
    """``cands`` less the files recorded as undecodable and unchanged since (core/data/unreadable.py): each is
    reported skipped with its recorded reason and added to ``refused``."""
    out = []
    for c in cands:
        failed = unreadable.still_unreadable(c.rel_path)
        if failed is None:
            out.append(c)
            continue
        report.skipped.append((c.rel_path, f"{failed.reason} (unchanged since it last failed: not read again; "
                                           "--retry-unreadable reads it)"))
        refused.add(c.rel_path)
    return out


@dataclass
class _KnownRows:
    """What the project holds before the import: the state the new rows are checked against."""
    by_path: dict[str, tuple[int, str, bool]]       # rel_path -> (row id, content hash, missing)
    stats: dict[str, tuple[int, int]]               # rel_path -> (size, mtime_ns) when last hashed
    assigned: list[tuple[str, int | None, str]]     # (path, class, split): splits fill towards the ratios

    @classmethod
    def read(cls, project: Project) -> _KnownRows:
        with project.transaction() as s:
            rows = s.scalars(select(ImageRow)).all()
            # rotated TIFFs were recorded with their size swapped twice before the fix: read them again, once
            stats = {r.rel_path: (r.file_size, r.file_mtime_ns) for r in rows
                     if not r.missing and not (r.orientation in (5, 6, 7, 8) and r.width > r.height
                                               and r.rel_path.lower().endswith((".tif", ".tiff")))}
            return cls({r.rel_path: (r.id, r.content_hash, r.missing) for r in rows}, stats,
                       [(r.rel_path, r.class_id, r.split) for r in rows])

    def unchanged_on_disk(self, root: Path, rel_path: str) -> bool:
        """Same size and modification time as when the file was last hashed (core/data/file_stamp.py)."""
        return rel_path in self.stats and unchanged_since(root / rel_path, self.stats[rel_path])


class _NewRows:
    """New files: a row each, written CHUNK at a time (one transaction per chunk), splits assigned per chunk.

    A new file with the content of a vanished one is that image, moved or renamed: its row (boxes, review state,
    flag, split, maps, proposals) takes the new path instead of a new row being made. A class is created with its
    first imported image, never for files that were all refused."""

    def __init__(self, project: Project, known: _KnownRows, vanished: list[str], splits: SplitConfig,
                 report: ImportReport):
        self.project, self.assigned = project, known.assigned
        self.splits, self.report = splits, report
        self.class_ids: dict[str, int | None] = {}
        self.by_hash: dict[str, list[tuple[int, str]]] = {}      # content hash -> vanished (row id, old path)
        for path in vanished:
            row_id, content_hash, _ = known.by_path[path]
            self.by_hash.setdefault(content_hash, []).append((row_id, path))
        self.moved_from: set[str] = set()
        self.refused: set[str] = set()
        self.pending: list[tuple[Candidate, ImageInfo, int]] = []

    def add(self, result: _Inspected) -> None:
        cand, info, err, mtime_ns = result
        if err is not None or info is None:     # _inspect gives either the info or the reason
            self.report.skipped.append((cand.rel_path, err or "unreadable"))
            self.refused.add(cand.rel_path)
            return
        self.pending.append((cand, info, mtime_ns))
        if len(self.pending) >= CHUNK:
            self.flush()

    def _class_id(self, name: str | None) -> int | None:
        if name is None:
            return None
        if name not in self.class_ids:
            self.class_ids[name] = self.project.class_id(name)
        return self.class_ids[name]

    def flush(self) -> None:
        if not self.pending:
            return
        moves, fresh = [], []
        for c, info, mtime_ns in self.pending:
            rows = self.by_hash.get(info.content_hash)
            if rows:
                moves.append((rows.pop(0), c, info, mtime_ns))
            else:
                fresh.append((c, info, mtime_ns))
        new = [(c.rel_path, self._class_id(c.class_name)) for c, _, _ in fresh]
        for _, c, _, _ in moves:    # classes are created before the chunk's transaction: never one inside another
            self._class_id(c.class_name)
        assignment = assign_splits(self.assigned, new, self.splits)
        with self.project.transaction() as s:
            for (row_id, _old_path), c, info, mtime_ns in moves:
                row = s.get_one(ImageRow, row_id)
                row.rel_path, row.missing = c.rel_path, False
                row.width, row.height, row.orientation = info.width, info.height, info.orientation
                row.file_size, row.file_mtime_ns = info.file_size, mtime_ns
                if c.class_name is not None:      # moved into another class folder: the folder is the label
                    row.class_id = self._class_id(c.class_name)
            for c, info, mtime_ns in fresh:
                s.add(ImageRow(rel_path=c.rel_path, width=info.width, height=info.height,
                               orientation=info.orientation, class_id=self._class_id(c.class_name),
                               split=assignment[c.rel_path], content_hash=info.content_hash,
                               file_size=info.file_size, file_mtime_ns=mtime_ns))
        self.assigned.extend((rel, cls, assignment[rel]) for rel, cls in new)
        for (_, old_path), c, _, _ in moves:
            self.moved_from.add(old_path)
            self.report.moves.append((old_path, c.rel_path))
        self.report.moved += len(moves)
        self.report.added += len(fresh)
        self.pending.clear()


class _RecheckedRows:
    """Known files that may have changed: re-hashed (the hash is the truth) and written back CHUNK at a time.
    An unreadable known file keeps its earlier record."""

    def __init__(self, project: Project, known: _KnownRows, report: ImportReport):
        self.project, self.known, self.report = project, known, report
        self.pending: list[_Inspected] = []

    def add(self, result: _Inspected) -> None:
        self.pending.append(result)
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        report = self.report
        with self.project.transaction() as s:
            for cand, info, err, mtime_ns in self.pending:
                row_id, old_hash, was_missing = self.known.by_path[cand.rel_path]
                row = s.get_one(ImageRow, row_id)
                if was_missing:
                    row.missing = False
                    report.restored += 1
                if err is not None or info is None:     # _inspect gives either the info or the reason
                    report.skipped.append((cand.rel_path, (err or "unreadable")
                                           + " (changed since it was imported: the project keeps the image as it was)"))
                elif info.content_hash != old_hash:   # what the old pixels gave goes, the boxes stay (as the stages do)
                    report.rereads.append((cand.rel_path, apply_new_content(s, row, info)))
                    row.file_mtime_ns = mtime_ns
                    report.updated += 1
                elif (row.width, row.height) != (info.width, info.height):   # recorded in the wrong frame
                    row.width, row.height, row.orientation = info.width, info.height, info.orientation
                    row.file_size, row.file_mtime_ns = info.file_size, mtime_ns
                    report.updated += 1
                else:
                    row.file_size, row.file_mtime_ns = info.file_size, mtime_ns
                    report.unchanged += 1
        self.pending.clear()


def _flag_vanished(project: Project, vanished: list[str], report: ImportReport) -> None:
    """Rows whose file is gone are flagged missing, never deleted: their boxes stay."""
    vanished = sorted(vanished)
    if vanished:
        with project.transaction() as s:
            for row in s.scalars(select(ImageRow).where(ImageRow.rel_path.in_(vanished))).all():
                row.missing = True
        report.missing = vanished


def project_split_config(project: Project) -> dict:
    text = project.get_meta("split_config")
    if not text:
        return {}
    tr, va, te, seed = text.split(",")
    return {"train": float(tr), "val": float(va), "test": float(te), "seed": int(seed)}
