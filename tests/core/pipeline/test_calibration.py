"""The operating threshold of a prediction run is chosen on the training images' pseudo boxes, never on
ground truth, and it is the threshold the boxes are drawn and evaluated at."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from core.pipeline.predict_stage import OPERATING_THRESHOLD, calibrate_threshold


def _halo_map() -> np.ndarray:
    m = np.full((50, 50), 0.05, dtype=np.float32)
    m[10:40, 10:40] = 0.6        # a halo of middling confidence around ...
    m[20:30, 20:30] = 0.9        # ... the object itself, where the pseudo box is
    return m


def _stub_project(n_images: int):
    recs = [SimpleNamespace(id=i, split="train", content_hash=f"h{i}", width=100, height=100) for i in range(n_images)]
    prop = SimpleNamespace(xyxy=(40.0, 40.0, 60.0, 60.0))
    project = SimpleNamespace(boxes=SimpleNamespace(list=lambda _id: []),
                              proposals=SimpleNamespace(list=lambda _id, include_rejected=False: [prop]))
    feats = SimpleNamespace(tokens=np.zeros(1), cls=np.zeros(1), rgb=np.zeros(1))
    cache = SimpleNamespace(has=lambda _h: True, get=lambda _h: feats)

    def model(tokens, cls, rgb):
        b = tokens.shape[0]
        return np.full((b, 2), 0.5), torch.from_numpy(np.stack([_halo_map()] * b)).numpy()
    return project, model, cache, recs


def test_threshold_where_boxes_match_the_pseudo_boxes_is_chosen():
    project, model, cache, recs = _stub_project(8)
    tau, n = calibrate_threshold(project, model, cache, recs)
    # below 0.6 the box is the whole halo (IoU 0.11 with the pseudo box); from 0.6 on it is the object;
    # of the equally good ones the nearest to 0.5 wins
    assert n == 8 and tau == 0.6


def test_too_few_pseudo_boxes_fall_back_to_one_half():
    project, model, cache, recs = _stub_project(3)
    assert calibrate_threshold(project, model, cache, recs) == (OPERATING_THRESHOLD, 0)
