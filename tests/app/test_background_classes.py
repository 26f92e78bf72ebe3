"""Which classes show no object, chosen by the user: ticked in the new-project wizard (pre-filled by the names),
changed later from File > Background classes, with what it makes out of date shown where the user looks.
Driven in the real window with clicks; checked against the database."""
from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialogButtonBox

from app import dialogs as pickers
from app.dialogs import new_project as np_dlg
from app.workers import TaskRunner
from core.store.repos.proposals import NewProposal
from tests.app.window_helpers import open_window
from tests.conftest import make_image


@pytest.fixture
def tower_field(tmp_path: Path) -> Path:
    """tower (2 images) and field (2 images): the field shows no object, but its name does not say so."""
    root = tmp_path / "survey" / "images"
    for cls in ("tower", "field"):
        for i in range(2):
            make_image(root / cls / f"{cls}{i}.png", size=(160, 120), color=(40 * i, 90, 60))
    make_image(root / "no_site" / "n0.png", size=(160, 120))
    return root


def test_the_wizard_ticks_classes_by_name_and_saves_what_the_user_ticks(qtbot, tower_field, tmp_path, monkeypatch):
    monkeypatch.setattr(pickers, "pick_folder", lambda *a: tower_field)
    wiz = np_dlg.NewProjectWizard(None, TaskRunner())
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.source_page.folder_btn.click()
    wiz.next()
    page = wiz.classes_page
    assert {n: b.isChecked() for n, b in page.table.boxes.items()} == {"field": False, "no_site": True,
                                                                        "tower": False}
    qtbot.mouseClick(page.table.boxes["field"], Qt.MouseButton.LeftButton)      # the user: fields show nothing
    assert page.background_classes() == ["field", "no_site"]
    assert "No object in: field, no_site" in page.summary.text()
    wiz.next()
    wiz.project_page.path_edit.setText(str(tmp_path / "towers.dips"))
    wiz.next()
    qtbot.waitUntil(lambda: wiz.import_page.done, timeout=15000)
    import sqlite3
    con = sqlite3.connect(tmp_path / "towers.dips")
    saved = json.loads(con.execute("SELECT value FROM meta WHERE key='pipeline_config'").fetchone()[0])
    con.close()
    assert saved["background_classes"] == ["field", "no_site"]


@pytest.fixture
def roles_window(qtbot, tower_field, tmp_path, monkeypatch):
    """The window on tower/field/no_site with maps and proposals everywhere the name rule allows, and a run
    trained while 'field' counted as an object class."""
    from core.data.importer import import_images
    from core.store.project import Project

    p = Project.create(tmp_path / "roles.dips", tower_field)
    import_images(p)
    field = p.class_id("field", create=False)
    for img in p.images.list():
        p.maps.save_attention(img.id, "dinov2_s14@448", np.ones((2, 4, 4)))
        if img.rel_path.startswith(("tower", "field")):
            p.proposals.replace(img.id, [NewProposal((1, 1, 30, 30), -1, 0.8, 0.9)])
    run = p.runs.start({"epochs": 1, "background_classes": ["no_site"]})
    p.runs.update(run, status="finished")

    def proposals(project, progress=None, **kw):   # what the proposals stage does, without a model
        from core.pipeline.config import load_config
        from core.pipeline.proposal_stage import proposal_todo, store_proposals
        records, stale = proposal_todo(project, load_config(project))
        for k, rec in enumerate(records):
            store_proposals(project, rec, [((0.1, 0.1, 0.5, 0.5), -1, 0.7, 0.8)], stale, k + 1)
        project.set_meta("proposals_pending", json.dumps(sorted(stale)))
        return len(records)
    monkeypatch.setattr("app.jobs._pipeline", lambda: types.SimpleNamespace(compute_proposals=proposals))
    with open_window(qtbot, p) as w:
        w.actions_by_key["show_training"].trigger()
        qtbot.waitUntil(lambda: w.training_panel is not None, timeout=5000)
        yield w, p, field
    p.close()


def _edit_roles(qtbot, w, click: list[str], compute: bool = True) -> dict:
    """File > Background classes...: click the named ticks, then OK; returns what the dialog said."""
    seen = {}

    def fill():
        d = w.class_roles.dialog
        if d is None or not d.isVisible():
            QTimer.singleShot(10, fill)
            return
        for name in click:
            qtbot.mouseClick(d.table.boxes[name], Qt.MouseButton.LeftButton)
        seen["effect"] = d.effect.text()
        seen["compute_shown"] = d.compute.isVisibleTo(d)
        d.compute.setChecked(compute)
        d.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    QTimer.singleShot(0, fill)
    w.actions_by_key["background_classes"].trigger()
    return seen


def _image(p, rel):
    return next(i for i in p.images.list() if i.rel_path == rel)


def test_a_class_declared_background_loses_its_proposals_and_marks_the_model_out_of_date(qtbot, roles_window):
    w, p, field = roles_window
    import sqlite3
    con = sqlite3.connect(p.path)

    def field_proposals():
        return con.execute("SELECT count(*) FROM proposals JOIN images ON images.id = proposals.image_id "
                           "WHERE images.class_id = ?", (field,)).fetchone()[0]
    assert field_proposals() == 2 and not w.training_panel.notice.isVisibleTo(w.training_panel)
    w.session.set_image(_image(p, "field/field0.png").id)
    assert not w.proposals.notice.isVisibleTo(w.proposals)
    said = _edit_roles(qtbot, w, ["field"])
    assert "'field' will count as showing no object" in said["effect"] and "2 proposals on 2" in said["effect"]
    assert not said["compute_shown"]
    # the store: saved, the field's proposals gone, the others kept
    saved = json.loads(con.execute("SELECT value FROM meta WHERE key='pipeline_config'").fetchone()[0])
    assert sorted(saved["background_classes"]) == ["field", "no_site"]
    assert field_proposals() == 0
    assert con.execute("SELECT count(*) FROM proposals").fetchone()[0] == 2
    # the window: the class list, the proposals list, the training panel
    assert w.session.is_background(field)
    assert "field" in w.actions_by_key["class_2"].text() or "field" in w.actions_by_key["class_1"].text()
    assert "'field' is a background class" in w.proposals.notice.text() and w.proposals.notice.isVisibleTo(w.proposals)
    assert "Out of date: background classes changed since training run #1" in w.training_panel.notice.text()
    assert w.training_panel.options().background_classes == ["field", "no_site"]   # what the next run trains with
    assert "'field' now shows no object (2 proposals removed)" in w.status.currentMessage()
    con.close()


@pytest.mark.parametrize("compute_now", [False, True])
def test_a_class_declared_an_object_gets_proposals_by_the_next_run(qtbot, roles_window, compute_now):
    w, p, _ = roles_window
    no_site = _image(p, "no_site/n0.png")
    w.session.set_image(no_site.id)
    assert "'no_site' is a background class" in w.proposals.notice.text()
    said = _edit_roles(qtbot, w, ["no_site"], compute=compute_now)
    assert "'no_site' will count as showing the object" in said["effect"] and said["compute_shown"]
    if not compute_now:
        assert "Out of date: background classes changed" in w.proposals.notice.text()
        assert not p.proposals.list(no_site.id)
        w.actions_by_key["compute_proposals"].trigger()       # the next proposals run
    qtbot.waitUntil(lambda: not w.runner.active(), timeout=10000)
    qtbot.waitUntil(lambda: not w.proposals.notice.isVisibleTo(w.proposals), timeout=5000)
    assert len(p.proposals.list(no_site.id)) == 1
    assert [r for r in w.proposals.shown()]                    # and it shows


def test_computing_is_paused_for_the_change_and_resumes_after(qtbot, roles_window, monkeypatch):
    import threading

    from PySide6.QtWidgets import QApplication, QMessageBox

    from core.progress import Cancelled
    w, p, field = roles_window
    calls, release = [], threading.Event()

    def attention(project, progress=None, **kw):
        calls.append("attention")
        progress.start("attention", 1)
        while not release.wait(0.02):
            if progress.cancelled:
                raise Cancelled()
        return 0
    proposals = __import__("app.jobs", fromlist=["_pipeline"])._pipeline().compute_proposals
    monkeypatch.setattr("app.jobs._pipeline",
                        lambda: types.SimpleNamespace(compute_attention=attention, compute_proposals=proposals))
    w.background.compute_attention(then_proposals=True)
    qtbot.waitUntil(lambda: calls == ["attention"], timeout=5000)
    asked = {}

    def yes():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, yes)
            return
        asked["text"] = box.text()
        box.button(QMessageBox.StandardButton.Yes).click()
    QTimer.singleShot(0, yes)
    _edit_roles(qtbot, w, ["field"])
    assert "Attention maps are being computed" in asked["text"]
    assert p.proposals.list(_image(p, "field/field0.png").id) == []          # the change was made
    qtbot.waitUntil(lambda: calls == ["attention", "attention"], timeout=5000)   # and the computing resumed
    release.set()
    qtbot.waitUntil(lambda: not w.runner.active(), timeout=10000)


def test_every_class_ticked_is_refused_before_ok(qtbot, tower_field, tmp_path):
    from app.dialogs.background_classes import BackgroundClassesDialog
    from core.data.importer import import_images
    from core.store.project import Project

    p = Project.create(tmp_path / "all.dips", tower_field)
    import_images(p)
    d = BackgroundClassesDialog(p)
    qtbot.addWidget(d)
    ok = d.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled()
    for box in d.table.boxes.values():
        if not box.isChecked():
            qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert not ok.isEnabled() and "nothing to learn to find" in d.effect.text()
    qtbot.mouseClick(d.table.boxes["tower"], Qt.MouseButton.LeftButton)     # tower shows the object again
    assert ok.isEnabled()
    p.close()


def test_the_boxes_column_says_an_object_class_keeps_its_boxes_instead_of_offering_a_choice(qtbot, tower_field,
                                                                                             tmp_path):
    from app.dialogs.background_classes import BackgroundClassesDialog
    from core.data.importer import import_images
    from core.store.project import Project

    p = Project.create(tmp_path / "boxes.dips", tower_field)
    import_images(p)
    d = BackgroundClassesDialog(p)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    t = d.table
    # an object class: its boxes are kept, said in words with the reason in the tooltip; no greyed "ask first"
    assert t.boxes_cell_text("tower") == "kept (object class)"
    assert t.object_notes["tower"].isVisible() and not t.answers["tower"].isVisible()
    assert "always kept" in t.object_notes["tower"].toolTip()
    # a background class: the choice
    assert t.boxes_cell_text("no_site") == "ask first" and t.answers["no_site"].isVisible()
    assert not t.object_notes["no_site"].isVisible()
    # ticking a class as showing no object turns its cell into the choice, unticking back into the words
    qtbot.mouseClick(t.boxes["field"], Qt.MouseButton.LeftButton)
    assert t.answers["field"].isVisible() and t.boxes_cell_text("field") == "ask first"
    qtbot.mouseClick(t.boxes["field"], Qt.MouseButton.LeftButton)
    assert t.boxes_cell_text("field") == "kept (object class)" and not t.answers["field"].isVisible()
    p.close()
