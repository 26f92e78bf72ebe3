"""The ceilings bench on hand-made boxes: perfect maps, touching crowns, the inspector-floor formula, the oracle's
curated boxes."""
import numpy as np
import pytest

from bench.ceilings import click_cost, import_train_gt, needed_accept_share, perfect_map, touching_share
from bench.inspector_sim import Costs


def test_union_map_is_one_inside_any_box_on_the_prediction_grid():
    # a 20 x 10 image on an 8 x 8 grid: x scales by 8/20, y by 8/10
    m = perfect_map(np.array([[0, 0, 10, 5], [10, 5, 20, 10]], float), 20, 10, "union", grid=8)
    assert m.shape == (8, 8) and m.dtype == np.float32
    want = np.zeros((8, 8))
    want[:4, :4] = 1    # first box: x 0..4, y 0..4 on the grid
    want[4:, 4:] = 1
    assert np.array_equal(m, want)


def test_ellipse_map_keeps_a_valley_between_touching_boxes():
    # two touching 4 x 4 boxes of an 8 x 4 image on an 8 x 8 grid: boxes (0, 0, 4, 8) and (4, 0, 8, 8) there,
    # half sides 2 (x) and 4 (y)
    m = perfect_map(np.array([[0, 0, 4, 4], [4, 0, 8, 4]], float), 8, 4, "ellipse", grid=8)
    row = m[3]                                   # pixel centres y = 3.5: dy = -0.5 / 4
    dy2 = (0.5 / 4) ** 2
    # pixel x = 1 (centre 1.5): dx = -0.5 / 2; pixel x = 3 (centre 3.5), beside the shared edge: dx = 1.5 / 2
    assert row[1] == pytest.approx(np.exp(-np.log(2) * (0.25 ** 2 + dy2)), rel=1e-5)
    assert row[3] == pytest.approx(np.exp(-np.log(2) * (0.75 ** 2 + dy2)), rel=1e-5)
    assert row[3] == pytest.approx(row[4]) and row[3] < row[2] and row[4] < row[5]   # the valley


def test_ellipse_value_on_the_box_edge_midpoint_is_one_half():
    m = perfect_map(np.array([[0, 0, 9, 9]], float), 9, 9, "ellipse", grid=9)
    # centre pixel (4.5, 4.5) is the box centre: 1; pixel (0.5, 4.5): r = 4 / 4.5
    assert m[4, 4] == pytest.approx(1.0)
    assert m[4, 0] == pytest.approx(np.exp(-np.log(2) * (4 / 4.5) ** 2), rel=1e-5)


def test_touching_share_counts_crowns_within_one_pixel_of_another():
    gt = {1: np.array([[0, 0, 10, 10], [11, 0, 20, 10], [40, 40, 50, 50]], float),   # gap 1: touching
          2: np.array([[0, 0, 5, 5]], float)}                                         # alone
    assert touching_share(gt) == (2, 4)


def test_inspector_floor_formula_matches_hand_computed_shares():
    c = Costs()
    # click box always kept: 3.5 s = 0.5 x 7.0, so 0.5x needs no accepted suggestion
    assert needed_accept_share(0.5, 0.0, 3.5, c) == pytest.approx(0.0)
    # 0.35x: (3.5 - 2.45) / (3.5 - 1.6) = 1.05 / 1.9
    assert needed_accept_share(0.35, 0.0, 3.5, c) == pytest.approx(1.05 / 1.9)
    # by extreme clicking, one wrong look per object: (7.0 + 1.6 - 3.5) / 5.4
    assert needed_accept_share(0.5, 1.0, 7.0, c) == pytest.approx(5.1 / 5.4)
    # the measured aerial click mix: kept 3.5 s, adjusted 7.0 s, redrawn 10.5 s
    assert click_cost(65, 49, 35, c) == pytest.approx((65 * 3.5 + 49 * 7.0 + 35 * 10.5) / 149)


def test_oracle_imports_only_the_train_splits_ground_truth_as_curated_boxes(project, tmp_path):
    recs = [r for r in project.images.list() if r.class_id is not None][:2]
    project.images.set_split(recs[0].id, "train")
    project.images.set_split(recs[1].id, "val")
    for r in recs:
        project.boxes.add_gt(r.id, (1, 2, 11, 12), r.class_id)
    project.close()
    import_train_gt(project.path, tmp_path)
    from core.store.project import Project
    with Project.open(project.path) as p:
        assert [b.xyxy for b in p.boxes.list(recs[0].id)] == [pytest.approx((1, 2, 11, 12))]
        assert p.boxes.list(recs[1].id) == []
        n = len(p.boxes.all())
    import_train_gt(project.path, tmp_path)     # a second call imports nothing more
    with Project.open(project.path) as p:
        assert len(p.boxes.all()) == n
