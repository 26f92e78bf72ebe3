"""The store's failures in plain words: a refused write names the project file and why; nothing is saved."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from core.store.project import ProjectWriteError


@pytest.mark.parametrize("sqlite_error, said", [
    ("database or disk is full", "not saved: the disk is full"),
    ("attempt to write a readonly database", "not saved: the project file is read-only"),
])
def test_store_errors_in_plain_words(project, monkeypatch, sqlite_error, said):
    def refuse(*_a, **_k):
        raise OperationalError("INSERT ...", {}, sqlite3.OperationalError(sqlite_error))

    a = project.images.by_path("site/a.jpg")
    monkeypatch.setattr("sqlalchemy.orm.Session.flush", refuse)
    with pytest.raises(ProjectWriteError) as exc:
        project.boxes.add(a.id, (1, 1, 10, 10), a.class_id)
    assert str(exc.value) == f"{project.path}: {said}"


def test_a_project_missing_a_table_is_refused_when_it_opens(project):
    import sqlite3 as sq

    from core.store.project import Project, ProjectError

    path = project.path
    project.close()
    con = sq.connect(path)
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute("DROP TABLE proposals")
    con.commit()
    con.close()
    with pytest.raises(ProjectError) as exc:
        Project.open(path)
    assert str(exc.value) == f"{path}: damaged project file: table 'proposals' is missing"



def test_a_write_transaction_inside_another_is_refused_at_once(project):
    with (project.transaction(),
          pytest.raises(RuntimeError, match="inside another on the same thread"),
          project.transaction()):
        pass
    with project.transaction():   # and the project writes normally afterwards
        pass
