"""What an import brings in: the image files of a folder-per-class tree, or the rows of a label CSV.

Nothing here reads an image or touches the project: it lists candidates (relative path, class name) and notes
in an ``ImportReport`` what it skipped and why. ``core.data.importer`` then reads and stores them.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.data.images import is_image_name
from core.data.paths import PathOutsideRoot, relative_inside
from core.errors import ImportError_


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
    # updated files whose content is new: (path, ((w, h) before, (w, h) now) when the size changed, else None)
    rereads: list[tuple[str, tuple[tuple[int, int], tuple[int, int]] | None]] = field(default_factory=list)

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
        from core.data.changed_files import reread_words  # the stages' words for such a file
        lines += [f"re-read {p}: {reread_words(resized)}" for p, resized in self.rereads[:20]]
        if len(self.rereads) > 20:
            lines.append(f"re-read ... and {len(self.rereads) - 20} more")
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
            if not e.name.startswith("."):
                self._entry(e, rel, cls, real)

    def _entry(self, e: os.DirEntry, rel: str, cls: str | None, real: str) -> None:
        """One entry of the folder ``rel`` (real path ``real``): scanned now, or later when it is a link."""
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
        parsed = _csv_row(row, lineno, csv_path.name, root, report)
        if parsed is None:
            continue
        rel, cls = parsed
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


def _csv_row(row: list[str], lineno: int, csv_name: str, root: Path, report: ImportReport
             ) -> tuple[str, str | None] | None:
    """(relative path, class or None) of one CSV row; None for a blank row, the header, or a refused row
    (reported with the reason)."""
    if not row or all(not c.strip() for c in row):
        return None
    if lineno == 1 and [c.strip().lower() for c in row[:2]] == ["path", "class"]:
        return None
    if len(row) < 2 or not row[0].strip():
        report.skipped.append((f"{csv_name}:{lineno}", "expected 'path,class'"))
        return None
    try:
        rel = relative_inside(row[0], root)
    except PathOutsideRoot:
        report.skipped.append((row[0].strip(), f"{csv_name}:{lineno}: path is outside the image folder"))
        return None
    return rel, row[1].strip() or None
