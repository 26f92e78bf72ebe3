"""When the project file refuses a write (read-only, full disk), the window says so, shows nothing as done, and
keeps the undo stack in step with the file."""
from __future__ import annotations

from PySide6.QtCore import Qt
from sqlalchemy import event

from tests.app.test_curation import boxes, drag, key


def _query_only(con, _record) -> None:
    con.execute("PRAGMA query_only=ON")


def set_read_only(project, on: bool) -> None:
    """SQLite's query_only: every write fails with SQLITE_READONLY, as on a read-only file (tests run as root,
    whom file permissions do not stop)."""
    (event.listen if on else event.remove)(project.engine, "connect", _query_only)
    project.engine.dispose()   # pooled connections re-open with (or without) it


def test_read_only_project_a_drawn_box_is_refused_visibly(qtbot, main_window, db):
    w = main_window
    set_read_only(w.session.project, True)
    key(qtbot, w, Qt.Key.Key_R)
    drag(w, (20, 20), (60, 50))
    assert boxes(db) == []
    assert w.canvas.items_of("curated") == {}                 # not shown as if it were saved
    assert w.status.currentMessage() == "Draw box: not saved: the project file is read-only"
    assert w.session.undo_stack.count() == 0


def test_undo_refused_by_the_file_leaves_stack_and_file_in_step(qtbot, main_window, db):
    w = main_window
    key(qtbot, w, Qt.Key.Key_R)
    drag(w, (20, 20), (60, 50))
    assert len(boxes(db)) == 1 and w.session.undo_stack.index() == 1
    set_read_only(w.session.project, True)
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.status.currentMessage() == "Undo Draw box: not saved: the project file is read-only"
    qtbot.waitUntil(lambda: w.session.undo_stack.index() == 1)   # back where the file is: the box stands
    assert len(boxes(db)) == 1 and len(w.canvas.items_of("curated")) == 1
    # writable again: the same undo now works, once
    set_read_only(w.session.project, False)
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(db) == [] and w.session.undo_stack.index() == 0
