"""Import an image folder into a project: folder-per-class or a flat folder with a CSV.

Every file is read once (hash + cheap decode, on a small thread pool), rows are written
in chunks, each chunk one transaction: a killed import leaves the project at its last
chunk and re-running it picks up where it stopped. Bad files are skipped and reported.
"""
from __future__ import annotations

import csv
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from core.data.images import ImageInfo, ImageReadError, inspect_image, is_image_name
from core.data.paths import PathOutsideRoot, relative_inside
from core.data.splits import SplitConfig, assign_splits
from core.errors import ImportError_
from core.progress import NULL_PROGRESS, Progress
from core.store.project import Project
from core.store.schema import ImageRow

CHUNK = 256


@dataclass
class ImportReport:
    added: int = 0
    unchanged: int = 0
    updated: int = 0          # same path, different content
    moved: int = 0            # a vanished file found again elsewhere (same content): its row and work followed it
    missing: list[str] = field(default_factory=list)    # in the project, no longer on disk
    restored: int = 0         # were missing, found again
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (path, reason)
    warnings: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # folders that could not be listed: their images kept
    classes: dict[str, int] = field(default_factory=dict)  # class -> images the project holds from this scan
    moves: list[tuple[str, str]] = field(default_factory=list)   # (old path, new path)

    def summary(self) -> str:
        lines = [f"added {self.added}, unchanged {self.unchanged}, updated {self.updated}, moved {self.moved}, "
                 f"skipped {len(self.skipped)}, missing {len(self.missing)}"]
        if self.classes:
            lines.append("classes: " + ", ".join(f"{k} ({v})" for k, v in sorted(self.classes.items())))
        lines += [f"cannot read folder {d}: its images are left as they were" for d in self.unreadable]
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"moved {a} -> {b}" for a, b in self.moves[:20]]
        if len(self.moves) > 20:
            lines.append(f"moved ... and {len(self.moves) - 20} more")
        lines += [f"skipped {p}: {r}" for p, r in self.skipped]
        lines += [f"missing {p}" for p in self.missing]
        return "\n".join(lines)


@dataclass(frozen=True)
class Candidate:
    rel_path: str
    class_name: str | None


def _list_dir(path: Path, rel: str, report: ImportReport) -> list[os.DirEntry] | None:
    """The entries of a folder, sorted by name; None (and the folder reported) when it cannot be read."""
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        if rel:
            report.unreadable.append(rel)
        return None


class _Walk:
    """Folder-per-class scan that follows folder links with loop protection and de-duplication by real path.

    Plain folders and files are walked first, links afterwards, so a file reachable both ways keeps its plain
    path. A link
    that leads back into a folder already scanned (``ln -s . images/loop``) is reported, not followed: it never
    becomes a class of its own.
    """

    def __init__(self, root: Path, report: ImportReport):
        self.root, self.report = root, report
        self.seen_dirs: dict[str, str] = {}     # real path -> rel path it was scanned as
        self.seen_files: dict[str, str] = {}    # real path -> rel path kept
        self.later: list[tuple] = []            # links, followed once every plain folder is scanned
        self.out: list[Candidate] = []
        self.found: dict[str, int] = {}         # top-level class folder -> image files

    def run(self) -> list[Candidate]:
        self._dir(self.root, "", None)
        while self.later:
            kind, *args = self.later.pop(0)
            if kind == "dir":
                self._link(*args)
            else:
                self._file(*args)
        return self.out

    def _dir(self, path: Path, rel: str, cls: str | None) -> None:
        try:
            real = os.path.realpath(path)
        except OSError:
            real = str(path)
        self.seen_dirs[real] = rel
        entries = _list_dir(path, rel, self.report)
        if entries is None:
            if not rel:
                raise ImportError_(f"{path}: cannot read the image folder (permission denied)")
            return
        for e in entries:
            if e.name.startswith("."):
                continue
            child = f"{rel}/{e.name}" if rel else e.name
            sub_cls = cls if rel else e.name
            try:
                is_link = e.is_symlink()
                is_dir = e.is_dir()          # follows a link
            except OSError:
                is_link, is_dir = False, False
            if is_dir:
                if not rel:
                    self.found.setdefault(e.name, 0)
                if is_link:
                    self.later.append(("dir", Path(e.path), child, sub_cls))
                else:
                    self._dir(Path(e.path), child, sub_cls)
            elif is_link:
                self.later.append(("file", e, child, cls if rel else None, True, real))
            else:
                self._file(e, child, cls if rel else None, False, real)

    def _file(self, e: os.DirEntry, rel: str, cls: str | None, is_link: bool, real_dir: str) -> None:
        if not is_image_name(e.name):
            try:
                if is_link and not os.path.exists(e.path):
                    self.report.skipped.append((rel, "broken link"))
                    return
                if e.is_file():
                    self.report.skipped.append((rel, "not an image file (extension)"))
            except OSError:
                pass
            return
        if is_link and not os.path.exists(e.path):
            self.report.skipped.append((rel, "broken link"))
            return
        # a plain file's real path is its folder's plus its name: no system call per file on a big folder
        real = os.path.realpath(e.path) if is_link else os.path.join(real_dir, e.name)
        if real in self.seen_files:
            self.report.skipped.append((rel, f"same file as {self.seen_files[real]} (a link); imported once"))
            return
        self.seen_files[real] = rel
        self.out.append(Candidate(rel, cls))
        if cls is not None:
            top = rel.split("/", 1)[0]
            self.found[top] = self.found.get(top, 0) + 1

    def _link(self, path: Path, rel: str, cls: str | None) -> None:
        real = os.path.realpath(path)
        if real in self.seen_dirs:      # every folder below the root scanned so far is there: loops end here
            target = os.readlink(path) if path.is_symlink() else real
            where = self.seen_dirs[real] or "the image folder itself"
            self.report.warnings.append(f"link {rel} -> {target}: leads to {where}, already scanned; not followed")
            if "/" not in rel:
                self.found.pop(rel, None)    # never a class of its own
            return
        self._dir(path, rel, cls)


def scan_class_folders(root: Path, report: ImportReport) -> list[Candidate]:
    """root/<class>/... (recursive, folder links followed once). Files directly under root have no class.

    Raises ``ImportError_`` when ``root`` itself cannot be read; an unreadable sub-folder is listed in
    ``report.unreadable`` and the images the project holds below it are left as they are (never flagged missing).
    """
    walk = _Walk(Path(root), report)
    out = walk.run()
    unreadable_tops = {p.split("/", 1)[0] for p in report.unreadable}
    for name, n in sorted(walk.found.items()):
        if n == 0 and name not in unreadable_tops:
            report.warnings.append(f"class folder '{name}' has no images; class not created")
    return out


def read_label_csv(csv_path: Path, root: Path, report: ImportReport) -> list[Candidate]:
    """A CSV with rows ``path,class`` (header optional), paths relative to ``root`` (or absolute inside it).

    Names are kept as written except for separators and ``.``/``..``, which are resolved; a path that leaves
    ``root`` is skipped with the reason."""
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportError_(f"{csv_path}: cannot be read ({exc})") from None
    out: list[Candidate] = []
    seen: set[str] = set()
    for lineno, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or all(not c.strip() for c in row):
            continue
        if lineno == 1 and [c.strip().lower() for c in row[:2]] == ["path", "class"]:
            continue
        if len(row) < 2 or not row[0].strip():
            report.skipped.append((f"{csv_path.name}:{lineno}", "expected 'path,class'"))
            continue
        try:
            rel = relative_inside(row[0], root)
        except PathOutsideRoot:
            report.skipped.append((row[0].strip(), f"{csv_path.name}:{lineno}: path is outside the image folder"))
            continue
        cls = row[1].strip() or None
        if cls is None:
            report.warnings.append(f"{csv_path.name}:{lineno}: no class for {rel}; imported unlabelled")
        if rel in seen:
            report.warnings.append(f"{csv_path.name}:{lineno}: {rel} listed twice; first row kept")
            continue
        seen.add(rel)
        if not (root / rel).is_file():
            report.skipped.append((rel, "listed in the CSV but not found"))
            continue
        if not is_image_name(rel):
            report.skipped.append((rel, "not an image file (extension)"))
            continue
        out.append(Candidate(rel, cls))
    return out


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


def _unchanged_on_disk(root: Path, rel_path: str, size: int, mtime_ns: int) -> bool:
    """Same size and modification time as when the file was last hashed (never true for an unknown time)."""
    if not mtime_ns:
        return False
    try:
        st = (root / rel_path).stat()
    except OSError:
        return False
    return st.st_size == size and st.st_mtime_ns == mtime_ns


def import_images(project: Project, csv_path: Path | None = None, splits: SplitConfig | None = None,
                  progress: Progress = NULL_PROGRESS, workers: int = 4, rehash: bool = False) -> ImportReport:
    """Add new files, re-check known ones, flag vanished ones. A known file whose size and modification time
    are as recorded is not read again unless ``rehash``."""
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

    total = len(todo) + len(recheck)
    progress.start("import", total, f"{len(cands)} files")
    added = _NewRows(project, known, vanished, splits, report)
    rechecked = _RecheckedRows(project, known, report)
    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for writer, batch in ((added, todo), (rechecked, recheck)):
            for result in pool.map(lambda c: _inspect(root, c), batch):
                done += 1
                writer.add(result)
                progress.update(done, total, result[0].rel_path)
            writer.flush()
    _flag_vanished(project, [p for p in vanished if p not in added.moved_from], report)
    for c in cands:       # what the project holds from this scan: files refused now are not counted
        if c.class_name and c.rel_path not in added.refused:
            report.classes[c.class_name] = report.classes.get(c.class_name, 0) + 1
    return report


_Inspected = tuple[Candidate, ImageInfo | None, str | None, int]   # what _inspect returns


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
        return rel_path in self.stats and _unchanged_on_disk(root, rel_path, *self.stats[rel_path])


class _NewRows:
    """New files: a row each, written CHUNK at a time (one transaction per chunk), splits assigned per chunk.

    A new file with the content of a vanished one is that image, moved or renamed: its row (boxes, review state,
    flag, split, maps, proposals) takes the new path instead of a new row being made. A class is created with its
    first imported image, never for files that were all refused."""

    def __init__(self, project: Project, known: _KnownRows, vanished: list[str], splits: SplitConfig,
                 report: ImportReport):
        self.project, self.assigned = project, known.assigned
        self.splits, self.report = splits, report
        self.class_ids: dict[str, int] = {}
        self.by_hash: dict[str, list[tuple[int, str]]] = {}      # content hash -> vanished (row id, old path)
        for path in vanished:
            row_id, content_hash, _ = known.by_path[path]
            self.by_hash.setdefault(content_hash, []).append((row_id, path))
        self.moved_from: set[str] = set()
        self.refused: set[str] = set()
        self.pending: list[tuple[Candidate, ImageInfo, int]] = []

    def add(self, result: _Inspected) -> None:
        cand, info, err, mtime_ns = result
        if err is not None:
            self.report.skipped.append((cand.rel_path, err))
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
            for (row_id, old_path), c, info, mtime_ns in moves:
                row = s.get(ImageRow, row_id)
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
                row = s.get(ImageRow, row_id)
                if was_missing:
                    row.missing = False
                    report.restored += 1
                if err is not None:
                    report.skipped.append((cand.rel_path, err + " (kept its earlier record)"))
                elif info.content_hash != old_hash:
                    row.width, row.height, row.orientation = info.width, info.height, info.orientation
                    row.content_hash, row.file_size = info.content_hash, info.file_size
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
