"""Click box on a project (core/pipeline/click_stage.py): what the project knows about an image sizes the box."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.pipeline.click_stage import box_for_click
from core.store.repos.proposals import NewProposal
from tests.conftest import make_image


@pytest.fixture
def one_image(tmp_path: Path):
    """A 160x120 image with a red object at x 40..90, y 30..70."""
    from core.data.importer import import_images
    from core.store.project import Project
    make_image(tmp_path / "imgs" / "cars" / "c1.png", size=(160, 120), square=(40, 30, 90, 70, (250, 30, 30)))
    p = Project.create(tmp_path / "c.dips", tmp_path / "imgs")
    import_images(p)
    yield p, p.images.list()[0]
    p.close()


def _predict_whole_frame(p, rec) -> None:
    """What a model that learned nothing stores: a flat map and one box around the whole frame."""
    run = p.maps.new_prediction_run(None, {})
    p.maps.save_prediction(run, rec.id, [1.0], np.full((12, 16), 0.5, np.float32), [(0.0, 0.0, 160.0, 120.0, 0.5)])


def test_a_whole_frame_prediction_does_not_make_the_click_box_the_whole_image(one_image):
    p, rec = one_image
    _predict_whole_frame(p, rec)
    res = box_for_click(p, rec, (65, 50))
    assert res.prior_wh == pytest.approx((24, 24))        # nothing else known: a fifth of the shorter side
    for method, box in res.boxes.items():
        assert (box[2] - box[0]) * (box[3] - box[1]) < 0.5 * 160 * 120, method


def test_behind_a_whole_frame_prediction_the_proposals_give_the_typical_size(one_image):
    p, rec = one_image
    p.proposals.replace(rec.id, [NewProposal((40, 30, 90, 70), -1, 0.9, 0.9)])
    _predict_whole_frame(p, rec)
    assert box_for_click(p, rec, (65, 50)).prior_wh == pytest.approx((50, 40))
