"""Stale state and focus: panels follow the store on project switch and after imports, the search
field gives the keys back, and each project reopens on its last image, layers and dock layout."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.app.test_curation import key
from tests.conftest import make_image

pytestmark = pytest.mark.usefixtures("qtbot")


def second_project(tmp_path: Path) -> Path:
    """sites.dips: classes site (2 images) / no_site (1), in another folder."""
    from core.data.importer import import_images
    from core.store.project import Project

    root = tmp_path / "other" / "images"
    make_image(root / "site" / "s1.png", size=(96, 64))
    make_image(root / "site" / "s2.png", size=(96, 64))
    make_image(root / "no_site" / "n1.png", size=(96, 64))
    p = Project.create(tmp_path / "other" / "sites.dips", root)
    import_images(p)
    path = p.path
    p.close()
    return path


def test_browser_filters_start_afresh_on_another_project(qtbot, main_window, tmp_path):
    w = main_window
    w.browser.class_box.setCurrentIndex(w.browser.class_box.findText("people"))
    assert len(w.browser.model.ids) == 1
    assert w.files.open_path(second_project(tmp_path))
    assert w.browser.class_box.currentText() == "any class"
    assert [w.browser.class_box.itemText(i) for i in range(w.browser.class_box.count())] == \
        ["any class", "no_site", "site"]
    assert len(w.browser.model.ids) == 3 and w.browser.count_label.text() == "3 images"
    assert [r[1] for r in w.labels.row_texts()] == ["no_site", "site"]
    assert w.labels.table.item(0, 1).font().italic() and not w.labels.table.item(1, 1).font().italic()


def test_evaluation_panel_sees_imported_ground_truth_at_once(qtbot, main_window, monkeypatch):
    import app.dialogs.coco_dialogs as coco
    w = main_window
    key(qtbot, w, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    panel = w.eval_panel
    qtbot.waitUntil(lambda: panel.pages.currentWidget() is panel.no_gt)

    def fake_import(_parent, project) -> bool:   # the dialog's effect: ground truth in the store
        project.boxes.add_gt(w.session.image_id, (40, 30, 90, 70), w.session.image.class_id)
        return True
    monkeypatch.setattr(coco, "run_import_coco_dialog", fake_import)
    w.actions_by_key["import_coco"].trigger()
    qtbot.waitUntil(lambda: panel.pages.currentWidget() is not panel.no_gt)
    assert len(w.canvas.items_of("gt")) == 1


def test_escape_leaves_the_search_field_and_enter_opens_a_match(qtbot, main_window):
    w = main_window
    ids = w.browser.model.ids
    key(qtbot, w, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert w.browser.search.hasFocus()
    qtbot.keyClicks(w.browser.search, "p1")
    qtbot.keyClick(w.browser.search, Qt.Key.Key_Escape)
    assert w.canvas.hasFocus()
    key(qtbot, w, Qt.Key.Key_D)          # D navigates again instead of typing into the field
    assert w.browser.search.text() == "p1"
    key(qtbot, w, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(w.browser.search, Qt.Key.Key_Return)
    people = next(i.id for i in w.session.project.images.list() if i.rel_path == "people/p1.png")
    assert w.session.image_id == people and w.canvas.hasFocus()
    assert w.browser.model.ids == [people] and len(ids) == 4


def test_reopening_a_project_restores_image_layers_overlay_and_docks(qtbot, main_window, gui_project, tmp_path):
    w = main_window
    ids = w.browser.model.ids
    key(qtbot, w, Qt.Key.Key_D)
    key(qtbot, w, Qt.Key.Key_D)
    key(qtbot, w, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)   # hide proposals
    key(qtbot, w, Qt.Key.Key_O)                                        # hide the overlay
    w.layers.cmap.setCurrentIndex(w.layers.cmap.count() - 1)
    w.layers.opacity.setValue(35)
    w.attention_dock.close()
    cmap = w.layers.colormap()

    other = second_project(tmp_path)
    assert w.files.open_path(other)
    assert w.session.image.rel_path == "site/s1.png"        # new here: its first image that shows an object
    key(qtbot, w, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)   # another project, its own layers
    assert w.files.open_path(gui_project.path)
    assert w.session.image_id == ids[2]
    assert not w.actions_by_key["toggle_proposals"].isChecked() and not w.canvas.layer_visible("proposal")
    assert not w.canvas.layer_visible("overlay") and w.canvas.layer_visible("prediction")
    assert w.layers.colormap() == cmap and w.layers.opacity.value() == 35
    assert not w.attention_dock.isVisible()
    assert w.files.open_path(other)
    assert not w.canvas.layer_visible("prediction") and w.canvas.layer_visible("proposal")
