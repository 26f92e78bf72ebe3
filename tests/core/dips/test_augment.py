"""Flips move image, map and boxes together."""
from __future__ import annotations

import pytest
import torch

from core.dips.augment import flip_boxes, flip_boxes_where, flip_maps, flip_where, hflip, random_flips


def test_flip_boxes_hand_computed_and_involutive():
    boxes = torch.tensor([[1.0, 2.0, 4.0, 5.0], [0.0, 0.0, 10.0, 3.0]])
    out = flip_boxes(boxes, 10)
    assert out.tolist() == [[6.0, 2.0, 9.0, 5.0], [0.0, 0.0, 10.0, 3.0]]
    assert torch.equal(flip_boxes(out, 10), boxes)
    assert flip_boxes(torch.tensor([0.1, 0.2, 0.3, 0.4]), 1.0).tolist() == pytest.approx([0.7, 0.2, 0.9, 0.4])


def test_hflip_keeps_object_inside_its_box():
    h, w = 12, 20
    image = torch.zeros(3, h, w)
    attn = torch.zeros(h, w)
    box = torch.tensor([[2.0, 3.0, 6.0, 8.0]])
    image[:, 3:8, 2:6] = 1.0
    attn[3:8, 2:6] = 1.0
    fi, fa, fb = hflip(image, attn, box, w)
    x0, y0, x1, y1 = (int(v) for v in fb[0].tolist())
    assert (x0, y0, x1, y1) == (14, 3, 18, 8)
    assert fa[y0:y1, x0:x1].all() and fa.sum() == attn.sum()
    assert fi[:, y0:y1, x0:x1].all()


def test_flip_where_flips_only_selected_samples():
    x = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)
    out = flip_where(torch.tensor([True, False]), x)
    assert torch.equal(out[0], flip_maps(x[0])) and torch.equal(out[1], x[1])
    boxes = flip_boxes_where(torch.tensor([True, False]), [torch.tensor([[0.0, 0, 1, 1]])] * 2, 4)
    assert boxes[0].tolist() == [[3.0, 0.0, 4.0, 1.0]] and boxes[1].tolist() == [[0.0, 0.0, 1.0, 1.0]]


def test_random_flips_are_reproducible_and_mixed():
    a = random_flips(64, torch.Generator().manual_seed(3))
    b = random_flips(64, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and 10 < int(a.sum()) < 54
    with pytest.raises(ValueError, match="augment.py"):
        random_flips(4, torch.Generator(), p=1.5)
