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
from core.errors import ImportError_  # noqa: F401 - raised here; importable from here as before
from core.data.splits import SplitConfig, assign_splits
from core.progress import NULL_PROGRESS, Progress
from core.store.project import Project
from core.store.schema import ImageRow

CHUNK = 256


@dataclass
class ImportReport:
    added: int = 0
    unchanged: int = 0
    updated: int = 0          # same path, different content
    missing: list[str] = field(default_factory=list)    # in the project, no longer on disk
    restored: int = 0         # were missing, found again
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (path, reason)
    warnings: list[str] = field(default_factory=list)
    classes: dict[str, int] = field(default_factory=dict)  # class -> images found now

    def summary(self) -> str:
        lines = [f"added {self.added}, unchanged {self.unchanged}, updated {self.updated}, "
                 f"skipped {len(self.skipped)}, missing {len(self.missing)}"]
        if self.classes:
            lines.append("classes: " + ", ".join(f"{k} ({v})" for k, v in sorted(self.classes.items())))
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"skipped {p}: {r}" for p, r in self.skipped]
        lines += [f"missing {p}" for p in self.missing]
        return "\n".join(lines)


@dataclass(frozen=True)
class Candidate:
    rel_path: str
    class_name: str | None


def scan_class_folders(root: Path, report: ImportReport) -> list[Candidate]:
    """root/<class>/... (recursive). Files directly under root have no class."""
    out: list[Candidate] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            found = 0
            for dirpath, dirnames, filenames in os.walk(entry):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    full = Path(dirpath) / name
                    if name.startswith("."):
                        continue
                    rel = full.relative_to(root).as_posix()
                    if is_image_name(name):
                        out.append(Candidate(rel, entry.name))
                        found += 1
                    else:
                        report.skipped.append((rel, "not an image file (extension)"))
            if found == 0:
                report.warnings.append(f"class folder '{entry.name}' has no images; class not created")
        elif entry.is_file():
            rel = entry.name
            if is_image_name(rel):
                out.append(Candidate(rel, None))
    return out


def read_label_csv(csv_path: Path, root: Path, report: ImportReport) -> list[Candidate]:
    """A CSV with rows ``path,class`` (header optional), paths relative to ``root``."""
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
        rel = Path(row[0].strip()).as_posix().lstrip("./") if not Path(row[0].strip()).is_absolute() else row[0].strip()
        if Path(rel).is_absolute():
            try:
                rel = Path(rel).resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                report.skipped.append((row[0], "path is outside the image folder"))
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
    for c in cands:
        if c.class_name:
            report.classes[c.class_name] = report.classes.get(c.class_name, 0) + 1

    known = _KnownRows.read(project)
    todo = [c for c in cands if c.rel_path not in known.by_path]
    recheck = [c for c in cands if c.rel_path in known.by_path]
    if not rehash:
        same = {c.rel_path for c in recheck if known.unchanged_on_disk(root, c.rel_path)}
        report.unchanged += len(same)
        recheck = [c for c in recheck if c.rel_path not in same]

    total = len(todo) + len(recheck)
    progress.start("import", total, f"{len(cands)} files")
    class_ids = {name: project.class_id(name) for name in sorted(report.classes)}
    added = _NewRows(project, class_ids, known.assigned, splits, report)
    rechecked = _RecheckedRows(project, known, report)
    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for writer, batch in ((added, todo), (rechecked, recheck)):
            for result in pool.map(lambda c: _inspect(root, c), batch):
                done += 1
                writer.add(result)
                progress.update(done, total, result[0].rel_path)
            writer.flush()
    _flag_vanished(project, known, {c.rel_path for c in cands}, report)
    return report


_Inspected = tuple[Candidate, ImageInfo | None, str | None, int]   # what _inspect returns


@dataclass
class _KnownRows:
    """What the project holds before the import: the state the new rows are checked against."""
    by_path: dict[str, tuple[int, str, bool]]       # rel_path -> (row id, content hash, missing)
    stats: dict[str, tuple[int, int]]               # rel_path -> (size, mtime_ns) when last hashed
    assigned: list[tuple[str, int | None, str]]     # (path, class, split): splits fill towards the ratios

    @classmethod
    def read(cls, project: Project) -> "_KnownRows":
        with project.transaction() as s:
            rows = s.scalars(select(ImageRow)).all()
            return cls({r.rel_path: (r.id, r.content_hash, r.missing) for r in rows},
                       {r.rel_path: (r.file_size, r.file_mtime_ns) for r in rows if not r.missing},
                       [(r.rel_path, r.class_id, r.split) for r in rows])

    def unchanged_on_disk(self, root: Path, rel_path: str) -> bool:
        return rel_path in self.stats and _unchanged_on_disk(root, rel_path, *self.stats[rel_path])


class _NewRows:
    """New files: a row each, written CHUNK at a time (one transaction per chunk), splits assigned per chunk."""

    def __init__(self, project: Project, class_ids: dict[str, int], assigned: list, splits: SplitConfig,
                 report: ImportReport):
        self.project, self.class_ids, self.assigned = project, class_ids, assigned
        self.splits, self.report = splits, report
        self.pending: list[tuple[Candidate, ImageInfo, int]] = []

    def add(self, result: _Inspected) -> None:
        cand, info, err, mtime_ns = result
        if err is not None:
            self.report.skipped.append((cand.rel_path, err))
            return
        self.pending.append((cand, info, mtime_ns))
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        new = [(c.rel_path, self.class_ids.get(c.class_name)) for c, _, _ in self.pending]
        assignment = assign_splits(self.assigned, new, self.splits)
        with self.project.transaction() as s:
            for c, info, mtime_ns in self.pending:
                s.add(ImageRow(rel_path=c.rel_path, width=info.width, height=info.height,
                               orientation=info.orientation, class_id=self.class_ids.get(c.class_name),
                               split=assignment[c.rel_path], content_hash=info.content_hash,
                               file_size=info.file_size, file_mtime_ns=mtime_ns))
        self.assigned.extend((rel, cls, assignment[rel]) for rel, cls in new)
        self.report.added += len(self.pending)
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
                else:
                    row.file_size, row.file_mtime_ns = info.file_size, mtime_ns
                    report.unchanged += 1
        self.pending.clear()


def _flag_vanished(project: Project, known: _KnownRows, found: set[str], report: ImportReport) -> None:
    """Rows whose file is gone are flagged missing, never deleted: their boxes stay."""
    vanished = sorted(p for p in known.by_path if p not in found)
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
