"""Classes by name: the label list dock, named 1-9 keys and menu, and one question before a box of a
background class. Driven in the real window; checked against the database."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from tests.app.test_curation import boxes, drag, key

pytestmark = pytest.mark.usefixtures("qtbot")


class Answer:
    """Answers the next modal question with Yes or No and keeps its text."""

    def __init__(self, yes: bool):
        self.yes, self.text, self.asked = yes, "", False
        QTimer.singleShot(0, self._answer)

    def _answer(self) -> None:
        if self.yes is None:
            return
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, self._answer)
            return
        self.asked, self.text = True, box.text()
        box.button(QMessageBox.StandardButton.Yes if self.yes else QMessageBox.StandardButton.No).click()


def choose_boxes_answer(qtbot, w, name: str, choice: str) -> list[str]:
    """File > Background classes...: pick ``choice`` ('ask first' / 'kept' / 'refused') in the 'Boxes of it'
    column of class ``name``, then OK; returns the choices the column offered and showed before."""
    seen: list[str] = []

    def fill():
        d = w.class_roles.dialog
        if d is None or not d.isVisible():
            QTimer.singleShot(10, fill)
            return
        combo = d.table.answers[name]
        seen.extend([combo.itemText(i) for i in range(combo.count())] + [combo.currentText()])
        combo.setCurrentIndex(combo.findText(choice))
        d.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    QTimer.singleShot(0, fill)
    w.actions_by_key["background_classes"].trigger()
    go_back(qtbot, w)
    return seen


def kept_answers(project) -> dict:
    """The answers kept in the project file, read as another program would."""
    import sqlite3
    con = sqlite3.connect(project.path)
    try:
        row = con.execute("SELECT value FROM meta WHERE key='background_box_answers'").fetchone()
    finally:
        con.close()
    return json.loads(row[0]) if row else {}


def go_back(qtbot, w) -> None:
    """Back from a modal box (offscreen, no window manager activates the window again)."""
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    w.canvas.setFocus()


def go_to(qtbot, w, rel_path: str) -> None:
    image_id = next(i.id for i in w.session.project.images.list() if i.rel_path == rel_path)
    w.session.set_image(image_id)
    w.activateWindow()   # back from a modal question (offscreen, no window manager does it)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    w.canvas.setFocus()


def test_label_list_names_colours_counts_and_keys(qtbot, main_window, db):
    w = main_window
    assert w.labels_dock.isVisible()
    assert w.labels.row_texts() == [("1", "cars", "2", "0"), ("2", "people", "1", "0"), ("3", "trees", "1", "0")]
    # the keys and Edit > Set class name the classes
    assert "cars" in w.actions_by_key["class_1"].text() and "trees" in w.actions_by_key["class_3"].text()
    menu_texts = [a.text().replace("&", "") for a in w.class_menu.actions()]
    assert menu_texts == ["1  cars", "2  people", "3  trees"]

    key(qtbot, w, Qt.Key.Key_R)
    drag(w, (10, 10), (50, 40))
    key(qtbot, w, Qt.Key.Key_2)
    assert boxes(db)[0][2] == w.session.class_at(2).id
    assert w.labels.row_texts()[1] == ("2", "people", "1", "1")
    # a click on a row does what its key does
    w.labels.table.cellClicked.emit(2, 1)
    assert boxes(db)[0][2] == w.session.class_at(3).id
    assert w.labels.row_texts()[2][3] == "1" and w.labels.row_texts()[1][3] == "0"


def test_a_box_of_a_background_class_is_asked_about_once_and_the_answer_is_kept_in_the_project(qtbot, bg_window):
    w = bg_window
    project = w.session.project
    names = [r[1] for r in w.labels.row_texts()]
    assert names == ["no_site", "tower"]
    assert w.labels.table.item(0, 1).font().italic() and "background class" in w.labels.table.item(0, 1).toolTip()
    assert "background" in w.actions_by_key["class_1"].text()

    def n_boxes() -> int:
        return len(project.boxes.all())

    # drawing on a no_site image: asked, with the reason; No keeps nothing
    go_to(qtbot, w, "no_site/n1.png")
    key(qtbot, w, Qt.Key.Key_R)
    answer = Answer(yes=False)
    drag(w, (10, 10), (50, 40))
    assert answer.asked and "background class" in answer.text and "no object" in answer.text
    assert "File \u25b8 Background classes..." in answer.text
    assert n_boxes() == 0 and "Not done" in w.statusBar().currentMessage()
    assert kept_answers(project) == {"no_site": False}          # on disk at once

    # No is remembered: the next box of that class is refused without the question, saying where to change it
    go_to(qtbot, w, "no_site/n1.png")
    answer = Answer(yes=True)
    key(qtbot, w, Qt.Key.Key_R)
    drag(w, (12, 12), (52, 42))
    assert not answer.asked and n_boxes() == 0
    said = w.statusBar().currentMessage()
    assert "you chose no boxes of the background class 'no_site'" in said and "Background classes" in said
    answer.yes = None

    # changed in the background-classes dialog, where class roles are set: asked again
    assert choose_boxes_answer(qtbot, w, "no_site", "ask first") == ["ask first", "kept", "refused", "refused"]
    assert kept_answers(project) == {}
    # on a tower image, key 1 (no_site) on the selected box asks; Yes re-classes it
    go_to(qtbot, w, "tower/t1.png")
    key(qtbot, w, Qt.Key.Key_R)
    drag(w, (10, 10), (50, 40))
    box = project.boxes.all()[0]
    assert box.class_id == w.session.class_at(2).id
    answer = Answer(yes=True)
    key(qtbot, w, Qt.Key.Key_1)
    assert answer.asked
    assert project.boxes.get(box.id).class_id == w.session.class_at(1).id
    assert kept_answers(project) == {"no_site": True}
    # asked once: drawing on the no_site image now just works
    go_to(qtbot, w, "no_site/n1.png")
    answer = Answer(yes=False)
    key(qtbot, w, Qt.Key.Key_R)
    drag(w, (60, 60), (100, 100))
    assert not answer.asked and n_boxes() == 2
    answer.yes = None   # nothing more to answer


def test_the_answer_about_boxes_of_a_background_class_survives_reopening_the_project(qtbot, tmp_path):
    from core.data.importer import import_images
    from core.store.project import Project
    from tests.app.window_helpers import open_window
    from tests.conftest import make_image

    root = tmp_path / "imgs"
    make_image(root / "tower" / "t1.png", size=(160, 120))
    make_image(root / "no_site" / "n1.png", size=(160, 120))
    p = Project.create(tmp_path / "bg.dips", root)
    import_images(p)
    with open_window(qtbot, p) as w:
        go_to(qtbot, w, "no_site/n1.png")
        key(qtbot, w, Qt.Key.Key_R)
        answer = Answer(yes=False)
        drag(w, (10, 10), (50, 40))
        assert answer.asked
    p.close()

    p = Project.open(tmp_path / "bg.dips")
    with open_window(qtbot, p) as w:
        go_to(qtbot, w, "no_site/n1.png")
        key(qtbot, w, Qt.Key.Key_R)
        answer = Answer(yes=True)
        drag(w, (10, 10), (50, 40))
        assert not answer.asked and p.boxes.all() == []      # refused as answered, not asked again
        assert "you chose no boxes" in w.statusBar().currentMessage()
        answer.yes = None
    p.close()
