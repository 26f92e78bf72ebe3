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


def _taught_square(chooser) -> None:
    """Three clicks where the typical-size square was kept and GrabCut and the contrast box missed (every method is
    judged at each click, as the window does)."""
    final, miss = np.array([10, 10, 20, 20], float), np.array([30, 30, 35, 35], float)
    for _ in range(3):
        chooser.record({"grabcut": miss, "square": final.copy(), "contrast": miss}, final)


def test_the_chosen_method_is_kept_in_the_project_and_chosen_again_after_reopening(one_image):
    from core.dips.click_box import ClickBoxChooser
    from core.pipeline.click_stage import load_chooser, save_chooser
    from core.store.project import Project
    p, _rec = one_image
    assert load_chooser(p).choose() == "grabcut"          # nothing learned yet: the default
    chooser = ClickBoxChooser()
    _taught_square(chooser)
    assert chooser.choose() == "square"
    save_chooser(p, chooser)
    path = p.path
    p.close()
    with Project.open(path) as again:
        back = load_chooser(again)
    assert back.choose() == "square"
    assert back.records == 3
    # as the hand-computed costs: GrabCut missed three times (3 x 8.6 s), the square was kept (3 x 1.6 s)
    assert back.spent == {"grabcut": pytest.approx(25.8), "square": pytest.approx(4.8), "contrast": pytest.approx(25.8)}


def test_a_project_from_an_older_schema_opens_and_keeps_the_choice_from_then_on(tmp_path, image_folder):
    from core.pipeline.click_stage import load_chooser, save_chooser
    from core.store.project import Project
    from tests.core.store.test_upgrade import write_v1
    path = tmp_path / "old.dips"
    write_v1(path)
    with Project.open(path) as p:
        assert p.upgraded_from == 1
        chooser = load_chooser(p)                    # nothing kept in a file of then: the default
        assert (chooser.choose(), chooser.records) == ("grabcut", 0)
        _taught_square(chooser)
        save_chooser(p, chooser)
    with Project.open(path) as p:
        assert load_chooser(p).choose() == "square"


def test_kept_tallies_that_cannot_be_read_are_refused_with_the_file_named(one_image):
    from core.dips.click_box import ClickBoxChooser
    from core.pipeline.click_stage import CHOOSER_META, load_chooser
    p, _rec = one_image
    p.set_meta(CHOOSER_META, "{not json")
    with pytest.raises(ValueError, match=r"c\.dips.*click box"):
        load_chooser(p)
    p.set_meta(CHOOSER_META, '{"spent": {"grabcut": -1, "square": 0, "contrast": 0}, "records": 3}')
    with pytest.raises(ValueError, match="grabcut"):
        load_chooser(p)
    # a method kept that this chooser lacks is ignored
    p.set_meta(CHOOSER_META, '{"spent": {"square": 1.6, "sam": 0.0}, "records": 1}')
    only = load_chooser(p, ClickBoxChooser(methods=("square",), default="square"))
    assert (only.records, only.spent) == (1, {"square": 1.6})


def test_a_tally_saved_before_the_contrast_box_keeps_its_choice(one_image):
    """The row a project saved with the two-method chooser (issue 19's format): GrabCut missed three times, the
    square was kept three times."""
    from core.pipeline.click_stage import CHOOSER_META, load_chooser
    p, _rec = one_image
    p.set_meta(CHOOSER_META, '{"spent": {"grabcut": 25.8, "square": 4.8}, "records": 3}')
    chooser = load_chooser(p)
    assert (chooser.records, chooser.choose()) == (3, "square")          # not back to GrabCut
    # the contrast box joins at the square's level; fits are the seconds over a miss's 8.6 s
    assert chooser.spent == {"grabcut": 25.8, "square": 4.8, "contrast": 4.8}
    assert chooser.misfit == {"grabcut": pytest.approx(3.0), "square": pytest.approx(4.8 / 8.6),
                              "contrast": pytest.approx(4.8 / 8.6)}
