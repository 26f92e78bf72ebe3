"""Counts in the user's words: '1 box', '2 boxes', never 'box(es)'."""
from __future__ import annotations

from core.class_roles import RoleChange
from core.result_checks import first_names, plural


def test_plural_says_one_and_many_and_takes_irregular_forms():
    assert plural(1, "image") == "1 image" and plural(0, "image") == "0 images" and plural(3, "image") == "3 images"
    assert plural(1, "box", "boxes") == "1 box" and plural(2, "box", "boxes") == "2 boxes"
    assert plural(2, "class", "classes") == "2 classes"


def test_a_list_of_names_shows_the_first_three_and_says_when_there_are_more():
    assert first_names(["a.jpg"]) == "a.jpg"
    assert first_names(["a.jpg", "b.jpg", "c.jpg"]) == "a.jpg, b.jpg, c.jpg"
    assert first_names(["a.jpg", "b.jpg", "c.jpg", "d.jpg"]) == "a.jpg, b.jpg, c.jpg, ..."


def test_a_change_of_class_roles_is_worded_in_singular_or_plural():
    one = RoleChange(became_background=["field"], proposals_removed=1, images_removed=1)
    assert one.done_text().startswith("'field' now shows no object (1 proposal removed)")
    assert "1 proposal on 1 of their images will be removed" in one.describe()
    two = RoleChange(became_object=["field", "road"], images_to_propose=[3])
    assert two.done_text().startswith("'field', 'road' now show the object")
    assert "for their 1 image by the next proposals run" in two.describe()
    for text in (one.describe(), one.done_text(), two.describe(), two.done_text()):
        assert "(s)" not in text


def test_a_coco_import_counts_file_names_that_match_no_image_in_words():
    from core.data.coco_import import CocoImportReport
    one = CocoImportReport(unknown_images=["x.jpg"]).summary()
    assert "image not found: 1 file name matches no image of the project: x.jpg" in one
    two = CocoImportReport(unknown_images=["x.jpg", "y.jpg"]).summary()
    assert "image not found: 2 file names match no image of the project: x.jpg, y.jpg" in two


def test_a_missing_cuda_device_is_counted_in_words(monkeypatch):
    import pytest
    import torch

    from core.dips.device import pick_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"'cuda:1' asked for, but only 1 CUDA device exists$"):
        pick_device("cuda:1")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ValueError, match=r"but only 2 CUDA devices exist$"):
        pick_device("cuda:3")


def test_a_project_file_missing_a_column_names_it_in_the_singular(project):
    import sqlite3

    import pytest

    from core.store.project import Project, ProjectError
    path = project.path
    project.close()
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE proposals DROP COLUMN class_prob")
    con.commit()
    con.close()
    with pytest.raises(ProjectError) as exc:
        Project.open(path)
    assert str(exc.value) == f"{path}: damaged project file: table 'proposals' lacks column class_prob"
