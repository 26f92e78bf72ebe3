"""The Project: one SQLite file over an image folder.

``Project`` owns the engine, the image root and the class list; the per-table queries
live in small repositories (``project.images``, ``project.boxes``, ...) that share its
``transaction()``. Every public write is one transaction.
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ChangedMeanwhile, ProjectError, ProjectWriteError
from core.store import db
from core.store.records import ClassRecord
from core.store.schema import ClassRow, Meta

PROJECT_SUFFIX = ".dips"


def _write_error(path: Path, exc: BaseException) -> ProjectError | None:
    """The plain-words error for a database failure, or None when it is not one of the known kinds."""
    from sqlalchemy.exc import IntegrityError, OperationalError
    from sqlalchemy.orm.exc import StaleDataError

    if isinstance(exc, (StaleDataError, IntegrityError)):
        # a row this edit refers to was removed or replaced by another writer (e.g. proposals recomputed)
        return ChangedMeanwhile(f"{path}: not saved: changed meanwhile by another program; refreshed")
    if not isinstance(exc, OperationalError):
        return None
    text = str(exc.orig if exc.orig is not None else exc).lower()
    if "readonly" in text or "read-only" in text:
        return ProjectWriteError(f"{path}: not saved: the project file is read-only")
    if "disk is full" in text or "database or disk is full" in text:
        return ProjectWriteError(f"{path}: not saved: the disk is full")
    if "locked" in text or "busy" in text:
        return ProjectWriteError(f"{path}: not saved: another program is writing the project; try again")
    if "unable to open" in text:
        return ProjectWriteError(f"{path}: not saved: cannot write beside the project file (read-only folder?)")
    if "disk i/o error" in text:
        return ProjectWriteError(f"{path}: not saved: the disk reported an I/O error")
    return None


def resolve_project_path(path: str | os.PathLike) -> Path:
    """A directory stands for ``<dir>/project.dips``; a bare name gets the suffix."""
    p = Path(path).expanduser()
    if p.is_dir():
        return p / f"project{PROJECT_SUFFIX}"
    if p.suffix == "":
        return p.with_suffix(PROJECT_SUFFIX)
    return p


class Project:
    def __init__(self, path: Path, engine, upgraded_from: int | None = None):
        self.path = path
        self.engine = engine
        self.upgraded_from = upgraded_from
        # Writes begin IMMEDIATE, reads DEFERRED (see db.make_engine's "begin" hook).
        self._sessions = sessionmaker(engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False)
        self._read_sessions = sessionmaker(engine, expire_on_commit=False)
        self._writing = threading.local()   # per thread: inside a write transaction?
        from core.store.repos import BoxRepo, ImageRepo, MapRepo, PredictedBoxRepo, ProposalRepo, RunRepo
        self.images = ImageRepo(self)
        self.boxes = BoxRepo(self)
        self.proposals = ProposalRepo(self)
        self.maps = MapRepo(self)
        self.predicted = PredictedBoxRepo(self)   # reviewing predicted boxes
        self.runs = RunRepo(self)

    # -- lifecycle -------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, image_root: str | os.PathLike) -> Project:
        path = resolve_project_path(path)
        if path.exists():
            raise ProjectError(f"{path}: a file already exists there")
        root = Path(image_root).expanduser().resolve()
        if not root.is_dir():
            raise ProjectError(f"{root}: image folder does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = db.make_engine(path)
        try:
            db.create_schema(engine)
            project = cls(path, engine)
            project.set_meta("image_root", _relative_or_absolute(root, path.parent))
        except BaseException:    # a half-made file would block the retry ("a file already exists there")
            engine.dispose()
            remove_project_files(path)
            raise
        return project

    def discard(self) -> None:
        """Close and delete this project's file (with its SQLite side files): for a creation that failed."""
        self.close()
        remove_project_files(self.path)

    @classmethod
    def open(cls, path: str | os.PathLike) -> Project:
        path = resolve_project_path(path)
        if not path.is_file():
            raise ProjectError(f"{path}: no such project file")
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise ProjectError(f"{path}: not a DiPS Studio project (not an SQLite file)")
        engine = db.make_engine(path)
        try:
            found = db.upgrade(engine, path)
            db.check_schema(engine, path)
        except db.SchemaError as exc:
            engine.dispose()
            raise ProjectError(str(exc)) from exc
        except Exception as exc:  # sqlite3.DatabaseError on a damaged file
            engine.dispose()
            cause = getattr(exc, "orig", None) or exc
            if "unable to open" in str(cause):
                raise ProjectError(f"{path}: cannot be opened: SQLite cannot write its journal beside it (read-only "
                                   "folder or disk); copy the project folder somewhere writable") from exc
            raise ProjectError(f"{path}: cannot be read ({cause.__class__.__name__}: {cause})") from exc
        project = cls(path, engine, upgraded_from=found if found != db.SCHEMA_VERSION else None)
        with contextlib.suppress(ProjectWriteError):   # a read-only project is still worth opening
            project.runs.mark_interrupted()   # whoever opens next (CLI or window) ends a killed run's 'running'
        return project

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work that may write: committed (and fsynced) on normal exit, rolled back on error.

        It starts with SQLite's ``BEGIN IMMEDIATE``: the write lock is taken before anything is read, so a
        read-modify-write never acts on rows another process changed in between (WAL readers are not blocked).
        Raises ``ProjectWriteError`` (read-only file, full disk, locked) or ``ChangedMeanwhile`` in plain words,
        and RuntimeError at once for a write transaction opened inside another on the same thread (it would
        wait for the outer one's lock until the busy timeout).
        """
        if getattr(self._writing, "active", False):
            raise RuntimeError(f"{self.path}: a write transaction was opened inside another on the same thread; "
                               "pass the outer session down instead")
        self._writing.active = True
        try:
            with self._mapped_errors(), self._sessions.begin() as session:
                yield session
        finally:
            self._writing.active = False

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work: a consistent snapshot that never waits for a writer."""
        with self._mapped_errors(), self._read_sessions.begin() as session:
            yield session

    @contextmanager
    def _mapped_errors(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            mapped = _write_error(self.path, exc)
            if mapped is None:
                raise
            raise mapped from exc

    # -- meta --------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.read() as s:
            row = s.get(Meta, key)
            return row.value if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as s:
            s.merge(Meta(key=key, value=value))

    @property
    def image_root(self) -> Path:
        stored = self.get_meta("image_root") or "."
        p = Path(stored)
        return p if p.is_absolute() else (self.path.parent / p).resolve()

    @property
    def work_dir(self) -> Path:
        """Folder beside the project file for checkpoints and feature caches."""
        d = self.path.with_name(self.path.stem + "_work")
        d.mkdir(exist_ok=True)
        return d

    # -- classes ----------------------------------------------------------------
    def classes(self) -> list[ClassRecord]:
        with self.read() as s:
            rows = s.scalars(select(ClassRow).order_by(ClassRow.position, ClassRow.id)).all()
            return [ClassRecord(r.id, r.name, r.position) for r in rows]

    def class_id(self, name: str, create: bool = True) -> int | None:
        with self.transaction() as s:
            return self._class_id(s, name, create)

    @staticmethod
    def _class_id(s: Session, name: str, create: bool) -> int | None:
        row = s.scalars(select(ClassRow).where(ClassRow.name == name)).first()
        if row is not None:
            return row.id
        if not create:
            return None
        n = len(s.scalars(select(ClassRow.id)).all())
        row = ClassRow(name=name, position=n)
        s.add(row)
        s.flush()
        return row.id

    def class_names(self) -> dict[int, str]:
        return {c.id: c.name for c in self.classes()}


def remove_project_files(path: Path) -> None:
    """The project file and the journal / WAL files SQLite keeps beside it."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")


def _relative_or_absolute(target: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(target, base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return target.as_posix()
