"""The contract between core's evaluation report and the evaluation panel: a report made by
core.eval.report (EvalResult.to_json, as core.pipeline.evaluate returns it) is what the panel shows.

The other panel tests feed it hand-built dicts; this one ties the panel to the real JSON shape, so a renamed
or re-nested key in to_json shows up here as a dash or a missing curve."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from app.panels import eval_panel as ep
from core.eval.maxboxacc import EvalConfig
from core.eval.report import evaluate_maps

from .test_eval_panel import _gt_and_predictions


def _hand_made_report() -> dict:
    """Two 32x32 maps on their own grid: one covers its GT box exactly (IoU 1 at every tau > 0), the other
    lights a corner far from its GT box (IoU < 0.3 at every tau). Both images are classified right.
    By hand: half the images localised at every delta and every tau, so MaxBoxAcc 30/50/70, MaxBoxAccV2,
    BoxAccV2 at tau 0.5 and Top-1/Top-5 loc are all 50 %."""
    hit = np.zeros((32, 32), np.float32)
    hit[8:24, 8:24] = 1.0
    miss = np.zeros((32, 32), np.float32)
    miss[0:6, 0:6] = 1.0
    gts = [np.array([[8, 8, 24, 24]], float), np.array([[16, 16, 30, 30]], float)]
    result = evaluate_maps([hit, miss], gts, None, EvalConfig(eval_size=None),
                           class_probs=np.array([[0.9, 0.1], [0.8, 0.2]]), labels=np.array([0, 0]),
                           operating_threshold=0.5)
    return result.to_json(include_curves=True)


def test_the_panel_shows_what_core_reports(qtbot, project, monkeypatch):
    _gt_and_predictions(project)            # ground truth, so the panel evaluates
    report = _hand_made_report()
    monkeypatch.setattr(ep, "run_evaluation", lambda p, split, maps, progress=None: report)
    w = ep.EvaluationPanel(project)
    qtbot.addWidget(w)
    w.show()
    w.refresh()
    qtbot.waitUntil(lambda: w.figure_text("MaxBoxAccV2") != "–")
    for name in ("MaxBoxAcc 30", "MaxBoxAcc 50", "MaxBoxAcc 70", "MaxBoxAccV2", "BoxAccV2 @ τ", "Top-1 loc",
                 "Top-5 loc"):
        assert w.figure_text(name) == "50.0", name
    assert "2 images" in w.status.text() and "operating τ = 0.50" in w.status.text()
    for delta in (30, 50, 70):              # the threshold curve: one point per tau of the 0.01 grid, flat at 50 %
        xs, ys = w.curves[delta].getData()
        assert len(xs) == 100 and xs[0] == 0.0 and xs[-1] == pytest.approx(0.99)
        assert list(ys) == [50.0] * 100
    assert w.tau_line.isVisible() and w.tau_line.value() == pytest.approx(0.5)
