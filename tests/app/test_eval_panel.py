"""Evaluation panel: figures, threshold curve and worst-first image list; the no-ground-truth help."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from app.panels import eval_panel as ep

TAUS = [i / 100 for i in range(100)]


def _report(per_image, maps="predicted"):
    """A figure dict shaped like core.eval.report.EvalResult.to_json + the GUI details."""
    return {"n_images": len(per_image), "MaxBoxAcc": {"30": 90.0, "50": 75.0, "70": 40.0}, "MaxBoxAccV2": 68.333,
            "BoxAccV2AtOperatingThreshold": {"30": 80.0, "50": 60.0, "70": 20.0, "mean": 53.333},
            "operating_threshold": 0.5, "Top1Loc": 70.0, "Top5Loc": 75.0,
            "curve": {"thresholds": TAUS, "30": [90 - t * 50 for t in TAUS], "50": [75 - t * 60 for t in TAUS],
                      "70": [40 - t * 40 for t in TAUS]},
            "per_image": per_image}


def _gt_and_predictions(project):
    """GT on three site images and a prediction run whose maps cover them more or less well."""
    site = project.class_id("site", create=False)
    run = project.maps.new_prediction_run(None, {})
    rows = []
    for rel, fg in (("site/a.jpg", (10, 10, 30, 30)), ("site/sub/b.png", (0, 0, 8, 8)),
                    ("site/tour_été_📡.jpg", (20, 5, 40, 25))):
        img = project.images.by_path(rel)
        project.boxes.add_gt(img.id, (10, 10, 30, 30), site)
        m = np.zeros((img.height, img.width), np.float32)
        m[fg[1]:fg[3], fg[0]:fg[2]] = 1.0
        project.maps.save_prediction(run, img.id, [0.9, 0.1], m, [(*fg, 0.9)])
        rows.append(img)
    return rows


def test_no_ground_truth_explains_how_to_import(qtbot, project, monkeypatch):
    calls = []
    monkeypatch.setattr(ep, "run_evaluation", lambda *a: calls.append(a) or {})
    w = ep.EvaluationPanel(project)
    qtbot.addWidget(w)
    w.show()
    qtbot.wait(20)
    assert w.pages.currentWidget() is w.no_gt
    from app.actions import spec
    menu_item = spec("import_coco").text.replace("&", "")             # the help names a real menu item
    assert "--as gt" in w.no_gt.text() and f"File &gt; {menu_item}" in w.no_gt.text()
    assert calls == []                      # nothing to evaluate against


def test_figures_curve_and_worst_first_rows(qtbot, project, monkeypatch):
    imgs = _gt_and_predictions(project)
    per_image = [{"image_id": imgs[0].id, "rel_path": imgs[0].rel_path, "iou": 0.92},
                 {"image_id": imgs[1].id, "rel_path": imgs[1].rel_path, "iou": 0.05},
                 {"image_id": imgs[2].id, "rel_path": imgs[2].rel_path, "iou": 0.41}]
    calls = []
    monkeypatch.setattr(ep, "run_evaluation",
                        lambda p, split, maps, progress=None: calls.append((split, maps)) or _report(per_image))
    w = ep.EvaluationPanel(project)
    qtbot.addWidget(w)
    assert calls == []                      # hidden: nothing evaluated yet
    w.show()
    w.refresh()                             # shown + refreshed at once: one evaluation
    qtbot.waitUntil(lambda: bool(calls))
    qtbot.wait(20)
    assert calls == [("test", "predicted")]
    assert w.pages.currentIndex() == 0
    assert w.figure_text("MaxBoxAcc 50") == "75.0" and w.figure_text("MaxBoxAccV2") == "68.3"
    assert w.figure_text("BoxAccV2 @ τ") == "53.3" and w.figure_text("Top-1 loc") == "70.0"
    assert "3 images" in w.status.text() and "0.50" in w.status.text()
    assert "only 3 object images: fewer than 30" in w.status.text()   # a tiny split says so
    xs, ys = w.curves[50].getData()
    assert len(xs) == 100 and ys[0] == pytest.approx(75.0)
    assert w.tau_line.isVisible() and w.tau_line.value() == pytest.approx(0.5)
    assert [iou for _, iou in w.table_rows()] == [0.05, 0.41, 0.92]          # worst first
    assert w.table.item(0, 1).text() == "site/sub/b.png"
    with qtbot.waitSignal(w.image_selected) as sig:
        w.table.cellDoubleClicked.emit(0, 1)
    assert sig.args == [imgs[1].id]
    w.maps.setCurrentIndex([k for k, _ in ep.MAP_CHOICES].index("attention"))
    w.split.setCurrentText("val")
    qtbot.waitUntil(lambda: calls[-1] == ("val", "attention"))
    assert len(calls) == 2


def test_failure_is_shown_in_the_panel(qtbot, project, monkeypatch):
    _gt_and_predictions(project)

    def boom(*_a):
        raise ValueError("no predictions: train a model first")
    monkeypatch.setattr(ep, "run_evaluation", boom)
    w = ep.EvaluationPanel(project)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: "no predictions" in w.status.text())
    assert w.figure_text("MaxBoxAccV2") == "–"


def test_background_runner(qtbot, project, monkeypatch):
    from app.workers import TaskRunner
    imgs = _gt_and_predictions(project)
    monkeypatch.setattr(ep, "run_evaluation",
                        lambda *a: _report([{"image_id": imgs[0].id, "rel_path": imgs[0].rel_path, "iou": 0.7}]))
    runner = TaskRunner()
    w = ep.EvaluationPanel(project, runner=runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.table.rowCount() == 1, timeout=5000)
    assert w.figure_text("MaxBoxAcc 30") == "90.0"


def test_real_evaluate_on_stored_predictions(qtbot, project):
    """core.pipeline.evaluate on GT + predictions put in through the store."""
    try:
        from core.pipeline import evaluate  # noqa: F401
    except ImportError:
        pytest.skip("core.pipeline.evaluate is not there yet")
    imgs = _gt_and_predictions(project)
    for img in imgs:
        project.images.set_split(img.id, "test")
    w = ep.EvaluationPanel(project)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.table.rowCount() > 0 or "Cannot" in w.status.text(), timeout=20000)
    rows = w.table_rows()
    assert "Cannot evaluate" not in w.status.text(), w.status.text()
    assert len(rows) == 3 and [i for i, _ in rows][0] == imgs[1].id      # the off-target map is worst
    assert rows[0][1] < rows[-1][1]
    assert w.figure_text("MaxBoxAccV2") != "–"


def test_real_evaluate_of_proposal_boxes_has_no_curve(qtbot, project):
    from core.store.repos.proposals import NewProposal
    imgs = _gt_and_predictions(project)
    for img in imgs:
        project.images.set_split(img.id, "val")
        project.proposals.replace(img.id, [NewProposal((10, 10, 30, 30), -1, 0.9, 0.9)])
    w = ep.EvaluationPanel(project)
    qtbot.addWidget(w)
    w.split.setCurrentText("val")
    w.maps.setCurrentIndex([k for k, _ in ep.MAP_CHOICES].index("proposal"))
    w.show()
    qtbot.waitUntil(lambda: w.table.rowCount() == 3 or "Cannot" in w.status.text(), timeout=20000)
    assert w.figure_text("MaxBoxAcc 70") == "100.0"              # every proposal is exactly its GT box
    assert len(w.curves[50].getData()[0] or []) == 0 and not w.tau_line.isVisible()
    assert "no curve" in (w.plot.getPlotItem().titleLabel.text or "")


def test_no_predicted_maps_yet_says_what_to_do_in_the_app(qtbot, project):
    from app.workers import TaskRunner
    site = project.class_id("site", create=False)
    img = project.images.by_path("site/a.jpg")
    project.images.set_split(img.id, "test")
    project.boxes.add_gt(img.id, (10, 10, 30, 30), site)          # ground truth, but nothing trained yet
    w = ep.EvaluationPanel(project, runner=TaskRunner())
    qtbot.addWidget(w)
    w.maps.setCurrentIndex(w.maps.findData("predicted"))          # the inspector asks for them anyway
    w.show()
    qtbot.waitUntil(lambda: "Cannot evaluate" in w.status.text(), timeout=20000)
    text = w.status.text()
    assert "no predicted maps yet for the test images" in text and "Training panel" in text
    assert "ValueError" not in text and str(project.path) not in text     # words for the user, not a trace


def test_maps_follow_what_exists_until_the_user_picks(qtbot, project, monkeypatch):
    calls = []
    monkeypatch.setattr(ep, "run_evaluation", lambda p, split, maps, progress=None: calls.append(maps) or _report([]))
    site = project.class_id("site", create=False)
    img = project.images.by_path("site/a.jpg")
    project.boxes.add_gt(img.id, (10, 10, 30, 30), site)
    w = ep.EvaluationPanel(project)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: bool(calls))
    assert w.current_maps() == "attention" and calls == ["attention"]      # nothing trained yet
    _gt_and_predictions(project)                                           # a training run predicted
    w.refresh()
    qtbot.waitUntil(lambda: len(calls) == 2)
    assert w.current_maps() == "predicted" and calls[-1] == "predicted"
    w.maps.setCurrentIndex(w.maps.findData("proposal"))                    # the inspector's choice
    qtbot.waitUntil(lambda: calls[-1] == "proposal")
    w.refresh()
    qtbot.waitUntil(lambda: len(calls) == 4)
    assert w.current_maps() == "proposal" and calls[-1] == "proposal"     # kept


def test_no_small_split_warning_from_30_object_images(qtbot, project, monkeypatch):
    imgs = _gt_and_predictions(project)
    rows = [{"image_id": imgs[0].id, "rel_path": imgs[0].rel_path, "iou": 0.9}] * ep.MIN_OBJECT_IMAGES
    monkeypatch.setattr(ep, "run_evaluation", lambda p, split, maps, progress=None: _report(rows))
    w = ep.EvaluationPanel(project)
    qtbot.addWidget(w)
    w.show()
    w.refresh()
    qtbot.waitUntil(lambda: "30 images" in w.status.text())
    assert "fewer than" not in w.status.text()


def test_one_image_is_one_image_in_the_status(qtbot, project, monkeypatch):
    imgs = _gt_and_predictions(project)
    rows = [{"image_id": imgs[0].id, "rel_path": imgs[0].rel_path, "iou": 0.9}]
    monkeypatch.setattr(ep, "run_evaluation", lambda p, split, maps, progress=None: _report(rows))
    w = ep.EvaluationPanel(project)
    qtbot.addWidget(w)
    w.show()
    w.refresh()
    qtbot.waitUntil(lambda: "fewer than" in w.status.text())
    assert "1 image ·" in w.status.text() and "1 images" not in w.status.text()
    assert "only 1 object image: fewer than 30" in w.status.text()
