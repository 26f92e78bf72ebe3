"""Names written by other tools resolve inside the image folder, or are refused with the reason."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.data.paths import ImageMatcher, PathOutsideRoot, relative_inside

ROOT = Path("/srv/data")


@pytest.mark.parametrize("name, rel", [
    (".hidden.jpg", ".hidden.jpg"),          # a leading dot is part of the name, not './'
    ("./a/./b.jpg", "a/b.jpg"),
    ("a/../b.jpg", "b.jpg"),
    ("a\\b.jpg", "a/b.jpg"),
    ("..name.jpg", "..name.jpg"),
    ("/srv/data/t/x.jpg", "t/x.jpg"),
    ("/srv/data/t/../x.jpg", "x.jpg"),
])
def test_names_inside_the_root(name, rel):
    assert relative_inside(name, ROOT) == rel


@pytest.mark.parametrize("name", ["../x.jpg", "sub/../../outside/secret.jpg", "/etc/passwd", "/srv/data/../x.jpg",
                                  "/srv/database/x.jpg", "C:\\x.jpg", ".", "a/.."])
def test_names_outside_the_root_are_refused(name):
    with pytest.raises(PathOutsideRoot):
        relative_inside(name, ROOT)


def test_matcher_reports_ambiguity_and_absence():
    m = ImageMatcher(["a/IMG.jpg", "b/IMG.jpg", "b/c/only.jpg"], lambda r: r, ROOT)
    assert m.match("IMG.jpg").candidates == ("a/IMG.jpg", "b/IMG.jpg")
    assert m.match("IMG.jpg").reason == "matches 2 images"
    assert m.match("b\\IMG.jpg").item == "b/IMG.jpg"
    assert m.match("only.jpg").item == "b/c/only.jpg"
    assert m.match("nothing.jpg").reason == "not in the project"
    assert m.match(["a/IMG.jpg"]).reason == "no file name"
