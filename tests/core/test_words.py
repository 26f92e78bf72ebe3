"""Counts in the user's words: '1 box', '2 boxes', never 'box(es)'."""
from __future__ import annotations

from core.class_roles import RoleChange
from core.result_checks import plural


def test_plural_says_one_and_many_and_takes_irregular_forms():
    assert plural(1, "image") == "1 image" and plural(0, "image") == "0 images" and plural(3, "image") == "3 images"
    assert plural(1, "box", "boxes") == "1 box" and plural(2, "box", "boxes") == "2 boxes"
    assert plural(2, "class", "classes") == "2 classes"


def test_a_change_of_class_roles_is_worded_in_singular_or_plural():
    one = RoleChange(became_background=["field"], proposals_removed=1, images_removed=1)
    assert one.done_text().startswith("'field' now shows no object (1 proposal removed)")
    assert "1 proposal on 1 of their images will be removed" in one.describe()
    two = RoleChange(became_object=["field", "road"], images_to_propose=[3])
    assert two.done_text().startswith("'field', 'road' now show the object")
    assert "for their 1 image by the next proposals run" in two.describe()
    for text in (one.describe(), one.done_text(), two.describe(), two.done_text()):
        assert "(s)" not in text
