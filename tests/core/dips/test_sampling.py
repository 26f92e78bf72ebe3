"""Pixel pseudo-label sampling (journal Sec. 3.3): where labels land, how many, and reproducibility."""
from __future__ import annotations

import pytest
import torch

from core.dips.sampling import (
    IGNORE,
    SamplingConfig,
    box_centre_mask,
    boxes_overlap_mask,
    sample_batch,
    sample_pixel_labels,
)


def _random_case(g: torch.Generator, h: int = 40, w: int = 48):
    attn = torch.rand(h, w, generator=g)
    n_boxes = int(torch.randint(1, 4, (1,), generator=g))
    boxes = []
    for _ in range(n_boxes):
        x0 = float(torch.rand(1, generator=g)) * w * 0.6
        y0 = float(torch.rand(1, generator=g)) * h * 0.6
        bw = 2 + float(torch.rand(1, generator=g)) * w * 0.35
        bh = 2 + float(torch.rand(1, generator=g)) * h * 0.35
        boxes.append([x0, y0, x0 + bw, y0 + bh])
    return attn, torch.tensor(boxes)


@pytest.mark.parametrize("dilate", [False, True])
def test_background_never_in_any_box_and_foreground_always_in_drawn_box(dilate):
    cfg = SamplingConfig(n_pos=20, n_neg=20, dilate=dilate)
    g = torch.Generator().manual_seed(0)
    for seed in range(150):
        attn, boxes = _random_case(g)
        drawn, others = boxes[0], boxes[1:]
        lab = sample_pixel_labels(attn, drawn, others, cfg, torch.Generator().manual_seed(seed))
        h, w = attn.shape
        touched = boxes_overlap_mask(boxes, h, w)
        inside = box_centre_mask(drawn, h, w)
        assert not (lab == 0)[touched].any(), f"seed {seed}: background pixel overlaps a box"
        assert not (lab == 1)[~inside].any(), f"seed {seed}: foreground pixel outside the drawn box"
        assert (lab == 1).any() and (lab == 0).any()
        assert set(lab.unique().tolist()) <= {0, 1, IGNORE}


def test_counts_are_balanced_without_dilation():
    attn = torch.rand(32, 32, generator=torch.Generator().manual_seed(1))
    box = torch.tensor([4.0, 4.0, 20.0, 20.0])  # 256 pixels in the box -> 76 candidates at 0.3
    cfg = SamplingConfig(n_pos=30, n_neg=30, dilate=False)
    lab = sample_pixel_labels(attn, box, torch.zeros(0, 4), cfg, torch.Generator().manual_seed(2))
    assert int((lab == 1).sum()) == 30 and int((lab == 0).sum()) == 30


def test_short_candidates_reduce_both_counts_to_the_smaller():
    attn = torch.rand(32, 32, generator=torch.Generator().manual_seed(1))
    box = torch.tensor([10.0, 10.0, 14.0, 14.0])  # 16 pixels -> floor(0.3*16) = 4 fg candidates
    cfg = SamplingConfig(n_pos=30, n_neg=30, dilate=False)
    lab = sample_pixel_labels(attn, box, torch.zeros(0, 4), cfg, torch.Generator().manual_seed(2))
    assert int((lab == 1).sum()) == 4 and int((lab == 0).sum()) == 4


def test_foreground_comes_from_the_top_activations_and_background_from_the_lowest():
    h = w = 30
    attn = torch.linspace(0, 1, h * w).reshape(h, w)  # strictly increasing, row-major
    box = torch.tensor([0.0, 0.0, 30.0, 10.0])        # rows 0..9: 300 pixels, the top 90 are rows 7..9
    cfg = SamplingConfig(n_pos=25, n_neg=25, pos_top_frac=0.3, neg_low_frac=0.3, dilate=False)
    lab = sample_pixel_labels(attn, box, torch.zeros(0, 4), cfg, torch.Generator().manual_seed(3))
    fg_rows = (lab == 1).nonzero()[:, 0]
    bg_rows = (lab == 0).nonzero()[:, 0]
    assert fg_rows.min() >= 7                           # top 30 % inside the box
    assert bg_rows.min() >= 10 and bg_rows.max() <= 15  # lowest 30 % of the 600 outside pixels: rows 10..15


def test_low_activations_inside_curated_boxes_are_never_background():
    # the authors' code takes the lowest pixels of the whole image; the paper excludes all boxes
    attn = torch.ones(24, 24)
    attn[:, :8] = 0.0                                   # the darkest area ...
    curated = torch.tensor([[0.0, 0.0, 8.0, 24.0]])     # ... is covered by a curated box
    box = torch.tensor([14.0, 4.0, 22.0, 12.0])
    for seed in range(20):
        lab = sample_pixel_labels(attn, box, curated, SamplingConfig(n_pos=10, n_neg=10),
                                  torch.Generator().manual_seed(seed))
        assert not (lab[:, :8] == 0).any()
        assert (lab == 0).any()


def test_same_generator_state_gives_same_labels():
    attn, boxes = _random_case(torch.Generator().manual_seed(5))
    cfg = SamplingConfig()
    a = sample_pixel_labels(attn, boxes[0], boxes, cfg, torch.Generator().manual_seed(7))
    b = sample_pixel_labels(attn, boxes[0], boxes, cfg, torch.Generator().manual_seed(7))
    c = sample_pixel_labels(attn, boxes[0], boxes, cfg, torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_batch_draws_every_box_of_the_pool():
    h = w = 30
    attn = torch.rand(1, h, w, generator=torch.Generator().manual_seed(0))
    pool = torch.tensor([[0.0, 0.0, 8.0, 8.0], [11.0, 11.0, 19.0, 19.0], [22.0, 22.0, 30.0, 30.0]])
    cfg = SamplingConfig(n_pos=5, n_neg=5, dilate=False)
    g = torch.Generator().manual_seed(1)
    hits = torch.zeros(3)
    for _ in range(300):
        lab = sample_batch(attn, [pool], [pool], cfg, g)[0]
        ys, xs = (lab == 1).nonzero(as_tuple=True)
        k = int(xs[0]) // 11                              # which box the foreground fell in
        assert all(box_centre_mask(pool[k], h, w)[y, x] for y, x in zip(ys.tolist(), xs.tolist(), strict=True))
        hits[k] += 1
    assert (hits > 70).all(), hits                       # ~100 each; uniform draw


def test_empty_pool_gives_all_ignore():
    attn = torch.rand(2, 16, 16)
    pools = [torch.zeros(0, 4), torch.tensor([[2.0, 2.0, 10.0, 10.0]])]
    lab = sample_batch(attn, pools, pools, SamplingConfig(n_pos=5, n_neg=5), torch.Generator().manual_seed(0))
    assert lab.shape == (2, 16, 16) and lab.dtype == torch.long
    assert (lab[0] == IGNORE).all()
    assert (lab[1] == 1).any() and (lab[1] == 0).any()


def test_box_covering_the_image_gives_no_labels():
    lab = sample_pixel_labels(torch.rand(16, 16), torch.tensor([0.0, 0.0, 16.0, 16.0]), torch.zeros(0, 4),
                              SamplingConfig(), torch.Generator().manual_seed(0))
    assert (lab == IGNORE).all()


def test_tiny_box_still_gets_a_foreground_pixel():
    lab = sample_pixel_labels(torch.rand(16, 16), torch.tensor([5.1, 5.1, 5.3, 5.3]), torch.zeros(0, 4),
                              SamplingConfig(n_pos=3, n_neg=3, dilate=True), torch.Generator().manual_seed(0))
    assert (lab == 1).nonzero().tolist() == [[5, 5]]


def test_nan_in_map_is_read_as_zero():
    attn = torch.full((16, 16), float("nan"))
    lab = sample_pixel_labels(attn, torch.tensor([2.0, 2.0, 9.0, 9.0]), torch.zeros(0, 4),
                              SamplingConfig(n_pos=5, n_neg=5), torch.Generator().manual_seed(0))
    assert (lab == 1).any() and (lab == 0).any()


def test_bad_inputs_name_the_problem():
    g = torch.Generator()
    with pytest.raises(ValueError, match=r"attn must be a 2-D map \[h, w\], got shape \(1, 8, 8\)"):
        sample_pixel_labels(torch.rand(1, 8, 8), torch.tensor([0.0, 0, 4, 4]), torch.zeros(0, 4),
                            SamplingConfig(), g)
    with pytest.raises(ValueError, match="x1 < x0"):
        sample_pixel_labels(torch.rand(8, 8), torch.tensor([5.0, 0, 4, 4]), torch.zeros(0, 4), SamplingConfig(), g)
    with pytest.raises(ValueError, match="one pool"):
        sample_batch(torch.rand(2, 8, 8), [torch.zeros(0, 4)], [torch.zeros(0, 4)], SamplingConfig(), g)
    with pytest.raises(ValueError, match="pos_top_frac"):
        SamplingConfig(pos_top_frac=0.0)
