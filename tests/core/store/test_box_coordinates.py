"""A NaN or infinite coordinate is refused with the box named, never stored as a full-width box."""
from __future__ import annotations

import math

import pytest

from core.store.repos.boxes import normalise_box


@pytest.mark.parametrize("bad", [(math.nan, 2, 30, 20), (1, 2, math.inf, 20), (1, -math.inf, 30, 20)])
def test_a_non_finite_coordinate_is_an_error_naming_the_box(bad):
    with pytest.raises(ValueError, match=r"box \(.*\) has a coordinate that is not a finite number"):
        normalise_box(bad, 64, 48)


def test_nothing_is_stored_or_changed_by_a_nan_box(project):
    a = project.images.by_path("site/a.jpg")
    with pytest.raises(ValueError, match="nan"):
        project.boxes.add(a.id, (math.nan, 2.0, 30.0, 20.0), a.class_id)
    assert project.boxes.list(a.id) == []
    box = project.boxes.add(a.id, (1, 2, 30, 20), a.class_id)
    with pytest.raises(ValueError, match="not a finite number"):
        project.boxes.update(box.id, (1, 2, math.nan, 20))
    with pytest.raises(ValueError, match="not a finite number"):
        project.boxes.add_many([(a.id, (0, 0, 5, 5), a.class_id, "manual", None),
                                (a.id, (0, math.inf, 5, 5), a.class_id, "manual", None)])
    assert [b.xyxy for b in project.boxes.list(a.id)] == [(1, 2, 30, 20)]
    with pytest.raises(ValueError, match="not a finite number"):
        project.boxes.add_gt(a.id, (math.nan, 0, 5, 5), a.class_id)
    assert project.boxes.gt_count() == 0
