"""A project file written by schema version 1 opens, upgrades in place, keeps its data and a backup."""
from __future__ import annotations

import sqlite3

import pytest

from core.store.project import Project, ProjectError
from core.store.schema import SCHEMA_VERSION

V1_DDL = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE classes (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, position INTEGER NOT NULL);
CREATE TABLE images (id INTEGER PRIMARY KEY, rel_path VARCHAR NOT NULL UNIQUE, width INTEGER NOT NULL,
  height INTEGER NOT NULL, class_id INTEGER REFERENCES classes(id) ON DELETE SET NULL, split VARCHAR NOT NULL,
  content_hash VARCHAR NOT NULL, file_size INTEGER NOT NULL, added_at DATETIME NOT NULL);
CREATE TABLE attention_maps (id INTEGER PRIMARY KEY, image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  backbone VARCHAR NOT NULL, head INTEGER NOT NULL, grid_h INTEGER NOT NULL, grid_w INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE proposals (id INTEGER PRIMARY KEY, image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  x0 FLOAT NOT NULL, y0 FLOAT NOT NULL, x1 FLOAT NOT NULL, y1 FLOAT NOT NULL, source_map INTEGER NOT NULL,
  score FLOAT NOT NULL, rank INTEGER NOT NULL, status VARCHAR NOT NULL, created_at DATETIME NOT NULL);
CREATE TABLE boxes (id INTEGER PRIMARY KEY, image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  class_id INTEGER REFERENCES classes(id) ON DELETE SET NULL, x0 FLOAT NOT NULL, y0 FLOAT NOT NULL, x1 FLOAT NOT NULL,
  y1 FLOAT NOT NULL, source VARCHAR NOT NULL, score FLOAT, created_at DATETIME NOT NULL);
CREATE TABLE training_runs (id INTEGER PRIMARY KEY, status VARCHAR NOT NULL, config JSON NOT NULL, history JSON NOT NULL,
  metrics JSON NOT NULL, checkpoint_path VARCHAR, error TEXT, started_at DATETIME NOT NULL, finished_at DATETIME);
CREATE TABLE prediction_runs (id INTEGER PRIMARY KEY, training_run_id INTEGER REFERENCES training_runs(id),
  config JSON NOT NULL, created_at DATETIME NOT NULL);
CREATE TABLE predictions (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES prediction_runs(id) ON DELETE CASCADE,
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE, class_probs JSON NOT NULL, map_h INTEGER NOT NULL,
  map_w INTEGER NOT NULL, map_data BLOB NOT NULL);
CREATE TABLE predicted_boxes (id INTEGER PRIMARY KEY, prediction_id INTEGER NOT NULL REFERENCES predictions(id) ON DELETE CASCADE,
  x0 FLOAT NOT NULL, y0 FLOAT NOT NULL, x1 FLOAT NOT NULL, y1 FLOAT NOT NULL, score FLOAT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1'), ('image_root', 'images');
INSERT INTO classes VALUES (1, 'site', 0), (2, 'no_site', 1);
INSERT INTO images VALUES (1, 'site/a.jpg', 64, 48, 1, 'train', 'abc', 10, '2025-01-01 00:00:00');
INSERT INTO boxes VALUES (1, 1, 1, 2.0, 3.0, 20.0, 30.0, 'manual', NULL, '2025-01-01 00:00:00');
INSERT INTO proposals VALUES (1, 1, 1.0, 1.0, 9.0, 9.0, -1, 0.7, 1, 'rejected', '2025-01-01 00:00:00');
"""


def write_v1(path):
    con = sqlite3.connect(path)
    con.executescript(V1_DDL)
    con.commit()
    con.close()


def test_v1_file_upgrades_and_keeps_data(tmp_path, image_folder):
    path = tmp_path / "old.dips"
    write_v1(path)
    p = Project.open(path)
    assert p.upgraded_from == 1
    assert (tmp_path / "old.dips.v1.bak").is_file()
    img = p.images.get(1)
    assert img.review == "unreviewed" and img.orientation == 1 and not img.missing
    box = p.boxes.list(1)[0]
    assert box.xyxy == (2.0, 3.0, 20.0, 30.0) and box.updated_at is not None
    assert p.proposals.list(1)[0].status == "rejected"
    p.boxes.add_gt(1, (1, 1, 5, 5), 1)  # the table v2 added works
    assert [c.name for c in p.classes()] == ["site", "no_site"]
    p.close()
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    # a second open does nothing more
    p = Project.open(path)
    assert p.upgraded_from is None
    p.close()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.dips"
    write_v1(path)
    with sqlite3.connect(path) as con:
        con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(ProjectError, match="newer DiPS Studio"):
        Project.open(path)


def test_v4_flagged_images_keep_their_flag_in_its_own_column(tmp_path, image_folder):
    from core.data.importer import import_images
    path = tmp_path / "v4.dips"
    p = Project.create(path, image_folder)
    import_images(p)
    a, b = p.images.ids()[:2]
    p.close()
    with sqlite3.connect(path) as con:   # schema 4: the flag was a review state
        con.execute("ALTER TABLE images DROP COLUMN flagged")
        con.execute("UPDATE images SET review='flagged' WHERE id=?", (a,))
        con.execute("UPDATE images SET review='verified' WHERE id=?", (b,))
        con.execute("UPDATE meta SET value='4' WHERE key='schema_version'")
    p = Project.open(path)
    assert p.upgraded_from == 4
    assert (p.images.get(a).review, p.images.get(a).flagged) == ("unreviewed", True)
    assert (p.images.get(b).review, p.images.get(b).flagged) == ("verified", False)
    assert p.images.counts()["review"]["flagged"] == 1
    p.images.set_flagged(b, True)
    assert (p.images.get(b).review, p.images.get(b).flagged) == ("verified", True)
    p.close()


def test_v3_file_gains_file_times_and_the_next_rescan_records_them(tmp_path, image_folder):
    from core.data.importer import import_images
    path = tmp_path / "v3.dips"
    p = Project.create(path, image_folder)
    import_images(p)
    n = p.images.count()
    p.close()
    with sqlite3.connect(path) as con:   # what schema 3 looked like: no file_mtime_ns (nor flagged) column
        con.execute("ALTER TABLE images DROP COLUMN file_mtime_ns")
        con.execute("ALTER TABLE images DROP COLUMN flagged")
        con.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    p = Project.open(path)
    assert p.upgraded_from == 3 and (tmp_path / "v3.dips.v3.bak").is_file()
    assert import_images(p).unchanged == n          # first re-scan hashes once and records the times
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT COUNT(*) FROM images WHERE file_mtime_ns = 0").fetchone()[0] == 0
    p.close()
