"""Engine set-up and schema versions of the project file.

SQLite in WAL mode with foreign keys on and full fsync on commit: a transaction the UI
reports as done is on disk, and a killed writer leaves the file at its last commit.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, insert, inspect, text
from sqlalchemy.engine import Connection

from core.store.schema import SCHEMA_VERSION, Base, GtBoxRow, Meta


class SchemaError(Exception):
    pass


def make_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        # The driver's own implicit BEGIN is switched off, so that ours below decides the kind of transaction.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # IMMEDIATE for units of work that may write (Project.transaction): the write lock is taken before the
        # first read, so two processes editing one project never act on each other's stale rows.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def read_version(conn: Connection) -> int | None:
    has_meta = conn.execute(text("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'")).first()
    if not has_meta:
        return None
    row = conn.execute(text("SELECT value FROM meta WHERE key='schema_version'")).first()
    return int(row[0]) if row else None


def create_schema(engine: Engine) -> None:
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(Meta).values(key="schema_version", value=str(SCHEMA_VERSION)))


# --- upgrades: each takes a connection inside the upgrade transaction -----------------

def _v1_to_v2(conn: Connection) -> None:
    # v2 added review states, missing-file flags and ground truth kept apart from curated boxes.
    conn.exec_driver_sql("ALTER TABLE images ADD COLUMN review VARCHAR NOT NULL DEFAULT 'unreviewed'")
    conn.exec_driver_sql("ALTER TABLE images ADD COLUMN missing BOOLEAN NOT NULL DEFAULT 0")
    GtBoxRow.metadata.tables[GtBoxRow.__tablename__].create(conn, checkfirst=True)


def _v2_to_v3(conn: Connection) -> None:
    # v3 records the EXIF orientation, links accepted boxes to their proposal, and keeps
    # the raw class probability of a proposal beside its ranking score.
    conn.exec_driver_sql("ALTER TABLE images ADD COLUMN orientation INTEGER NOT NULL DEFAULT 1")
    conn.exec_driver_sql(
        "ALTER TABLE boxes ADD COLUMN proposal_id INTEGER REFERENCES proposals(id) ON DELETE SET NULL")
    conn.exec_driver_sql("ALTER TABLE boxes ADD COLUMN updated_at DATETIME")
    conn.exec_driver_sql("UPDATE boxes SET updated_at = created_at")
    conn.exec_driver_sql("ALTER TABLE proposals ADD COLUMN class_prob FLOAT NOT NULL DEFAULT 0")


def _v3_to_v4(conn: Connection) -> None:
    # v4 remembers each file's modification time, so re-scanning a large folder reads only changed files.
    # 0 = unknown: the next re-scan hashes the file once and records it.
    conn.exec_driver_sql("ALTER TABLE images ADD COLUMN file_mtime_ns BIGINT NOT NULL DEFAULT 0")


def _v4_to_v5(conn: Connection) -> None:
    # v5 keeps the flag apart from the review state: flagging no longer un-reviews an image.
    # A flagged image of v4 was not reviewed (the flag replaced the mark), so it stays unreviewed.
    conn.exec_driver_sql("ALTER TABLE images ADD COLUMN flagged BOOLEAN NOT NULL DEFAULT 0")
    conn.exec_driver_sql("UPDATE images SET flagged = 1, review = 'unreviewed' WHERE review = 'flagged'")


def _v5_to_v6(conn: Connection) -> None:
    # v6 lets predicted boxes be reviewed like proposals: a status per predicted box (every stored one starts
    # pending) and, on a curated box, the predicted box it was accepted from.
    # (a column already there is left as it is: SQLite cannot drop a foreign-key column to fake an old file)
    if "status" not in _columns(conn, "predicted_boxes"):
        conn.exec_driver_sql("ALTER TABLE predicted_boxes ADD COLUMN status VARCHAR NOT NULL DEFAULT 'pending' "
                             "CHECK (status IN ('pending', 'accepted', 'rejected'))")
    if "predicted_box_id" not in _columns(conn, "boxes"):
        conn.exec_driver_sql("ALTER TABLE boxes ADD COLUMN predicted_box_id INTEGER "
                             "REFERENCES predicted_boxes(id) ON DELETE SET NULL")


def _columns(conn: Connection, table: str) -> set[str]:
    return {row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({table})").all()}


UPGRADES: dict[int, Callable[[Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5,
                                                     5: _v5_to_v6}


def upgrade(engine: Engine, path: Path) -> int:
    """Bring an older project file to SCHEMA_VERSION. Returns the version found.

    A copy of the file is kept beside it (``name.vN.bak``) before anything changes.
    """
    with engine.connect() as conn:
        version = read_version(conn)
    if version is None:
        raise SchemaError(f"{path}: not a DiPS Studio project (no schema version)")
    if version > SCHEMA_VERSION:
        raise SchemaError(f"{path}: written by a newer DiPS Studio (schema {version} > {SCHEMA_VERSION})")
    if version == SCHEMA_VERSION:
        return version
    engine.dispose()
    backup = path.with_name(f"{path.name}.v{version}.bak")
    # sqlite3's backup API copies a consistent snapshot, WAL content included.
    src = sqlite3.connect(path)
    dst = sqlite3.connect(backup)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    with engine.begin() as conn:
        v = version
        while v < SCHEMA_VERSION:
            UPGRADES[v](conn)
            v += 1
        conn.execute(text("UPDATE meta SET value=:v WHERE key='schema_version'"), {"v": str(SCHEMA_VERSION)})
    return version



def check_schema(engine: Engine, path: Path) -> None:
    """Raise SchemaError when a table or column this version reads is missing (a damaged or hand-edited file),
    so the project is refused when it opens instead of failing later in the middle of an edit."""
    insp = inspect(engine)
    tables = set(insp.get_table_names())
    for table in Base.metadata.sorted_tables:
        if table.name not in tables:
            raise SchemaError(f"{path}: damaged project file: table '{table.name}' is missing")
        have = {c["name"] for c in insp.get_columns(table.name)}
        missing = [c.name for c in table.columns if c.name not in have]
        if missing:
            raise SchemaError(f"{path}: damaged project file: table '{table.name}' lacks "
                              f"{'column' if len(missing) == 1 else 'columns'} {', '.join(missing)}")
