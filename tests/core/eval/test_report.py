"""The full evaluation, its JSON shape (percent everywhere) and the plain-text table."""
import json

import numpy as np
import pytest

from core.eval.maxboxacc import EvalConfig
from core.eval.report import evaluate_boxes, evaluate_maps, format_table
from tests.core.eval.toy import GT_A, GT_B, GT_C, MAP_A, MAP_B, MAP_C, blob

MAPS, GTS = [MAP_A, MAP_B, MAP_C], [GT_A, GT_B, GT_C]
PROBS = np.array([[0.9, 0.1, 0, 0, 0, 0], [0, 0, 0, 1.0, 0, 0], [0.1, 0.5, 0.3, 0.05, 0.03, 0.02]])
LABELS = np.array([0, 3, 2])


def test_json_shape_and_values_on_the_toy():
    r = evaluate_maps(MAPS, GTS, None, class_probs=PROBS, labels=LABELS, operating_threshold=0.5)
    j = r.to_json(include_per_image=True)
    json.dumps(j)                                               # plain JSON types only
    assert j["n_images"] == 3
    assert j["MaxBoxAcc"] == {k: pytest.approx(200 / 3) for k in ("30", "50", "70")}
    assert j["MaxBoxAccV2"] == pytest.approx(200 / 3)
    assert j["best_thresholds"]["50"] == pytest.approx(0.5)
    assert j["operating_threshold"] == 0.5 and j["operating_normalised"] is True
    assert j["BoxAccV2AtOperatingThreshold"]["mean"] == pytest.approx(200 / 3)
    assert j["Top1Loc"] == pytest.approx(100 / 3) and j["Top5Loc"] == pytest.approx(200 / 3)
    assert "PxAP" not in j
    # B's (0,0,0,0) box sits inside its 10x10 GT: IoP 1 -> a part error; C is misclassified
    assert j["LPE"] == pytest.approx(100 / 3) and j["LME"] == 0.0 and j["MIns"] == 0.0
    assert j["error_breakdown"]["Cls"] == pytest.approx(100 / 3)
    assert j["per_image_iou"] == pytest.approx([1.0, 0.01, 1.0])
    assert len(j["curves"]["thresholds"]) == 100 and len(j["curves"]["BoxAccV2"]["70"]) == 100


def test_optional_parts_absent_without_inputs_and_pxap_with_masks():
    masks = [m > 0.5 for m in (MAP_A, MAP_B, MAP_C)]
    masks[1] = np.ones((32, 32), np.uint8)
    j = evaluate_maps(MAPS, GTS, None, masks=masks).to_json()
    for key in ("Top1Loc", "Top5Loc", "BoxAccV2AtOperatingThreshold"):
        assert key not in j
    assert j["operating_threshold"] is None
    assert 0.0 < j["PxAP"] <= 100.0


def test_map_type_sets_the_operating_point():
    prob = blob([(8, 16, 4, 20)], value=0.4)
    r = evaluate_maps([prob], [GT_A], None, map_type="predicted")
    assert r.operating_threshold == 0.5 and r.operating_normalised is False
    assert r.max_box_acc_v2 == 100.0                 # the threshold search still normalises
    assert r.box_acc_at_operating["mean"] == 0.0     # 40 % sure is below the 0.5 probability
    with pytest.raises(ValueError, match="evaluate_boxes"):
        evaluate_maps([prob], [GT_A], None, map_type="proposal")


def test_evaluate_boxes_and_table():
    r = evaluate_boxes([np.array([[4, 8, 20, 16]]), np.array([[50, 50, 60, 60]])], [GT_A, GT_A],
                       [(32, 32), (32, 32)], EvalConfig(eval_size=None), class_probs=PROBS[:2], labels=LABELS[:2])
    j = r.to_json()
    assert j["MaxBoxAcc"]["50"] == 50.0 and j["BoxAccV2AtOperatingThreshold"]["mean"] == 50.0
    assert j["operating_threshold"] is None and j["Top1Loc"] == 50.0
    text = format_table(j)
    assert "MaxBoxAccV2" in text and "50.00" in text and "Top-1 Loc" in text
    assert format_table(r) == format_table(r.to_json(include_curves=False))


def test_progress_is_reported_and_cancel_stops_the_evaluation():
    from core.progress import Cancelled, Progress
    events = []
    evaluate_maps(MAPS, GTS, None, progress=Progress(events.append))
    assert events[-1].done == 3 and events[-1].total == 3
    p = Progress()
    p.cancel()
    with pytest.raises(Cancelled):
        evaluate_maps(MAPS, GTS, None, progress=p)
