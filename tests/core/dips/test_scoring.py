import numpy as np
import pytest
import torch

from core.dips.proposals import Candidate, ProposalConfig, rank_proposals
from core.dips.scoring import (
    blur_outside,
    box_masks,
    gaussian_blur,
    propose,
    score_boxes,
    score_boxes_one_by_one,
    zoom_crops,
)

# 80 x 60 image: a red square (the class evidence) and a green distractor on grey
W, H = 80, 60
RED = (10, 10, 22, 22)      # x0, y0, x1, y1 in pixels
GREEN = (50, 35, 62, 47)


def synthetic_image() -> torch.Tensor:
    img = torch.full((3, H, W), 0.5)
    x0, y0, x1, y1 = RED
    img[:, y0:y1, x0:x1] = torch.tensor([1.0, 0.0, 0.0])[:, None, None]
    x0, y0, x1, y1 = GREEN
    img[:, y0:y1, x0:x1] = torch.tensor([0.0, 1.0, 0.0])[:, None, None]
    return img


def red_classifier(x: torch.Tensor) -> torch.Tensor:
    """Class 1 = 'red object': its logit grows with the area of sharp (un-blurred) red."""
    redness = x[:, 0] - torch.maximum(x[:, 1], x[:, 2])
    sharp_red = torch.relu(redness - 0.6).flatten(1).mean(1)
    logits = torch.stack([torch.zeros_like(sharp_red), 2000 * sharp_red - 3], dim=1)
    return logits.softmax(1)


def test_gaussian_blur_keeps_constants_and_kills_fine_patterns():
    flat = torch.full((3, 20, 30), 0.3)
    assert torch.allclose(gaussian_blur(flat, 4.0), flat, atol=1e-6)
    yy, xx = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    checker = ((xx // 4 + yy // 4) % 2).float().expand(3, 64, 64)   # period 8 px
    out = gaussian_blur(checker, 0.1 * 64)                            # default sigma_frac at 64 px
    assert out[:, 16:48, 16:48].std() < 0.01 * checker.std()
    assert torch.equal(gaussian_blur(checker, 0.0), checker)


def test_box_masks_exact_for_integer_boxes_and_fractional_coverage():
    m = box_masks(torch.tensor([[2.0, 1.0, 5.0, 3.0], [1.5, 0.0, 2.0, 1.0]]), 4, 6)
    assert m.shape == (2, 1, 4, 6)
    expected = torch.zeros(4, 6)
    expected[1:3, 2:5] = 1
    assert torch.equal(m[0, 0], expected)
    assert m[1, 0, 0, 1] == pytest.approx(0.5) and m[1, 0].sum() == pytest.approx(0.5)


def test_blur_outside_keeps_inside_and_blurs_outside():
    img = synthetic_image()
    boxes = torch.tensor([RED, GREEN], dtype=torch.float32)
    out = blur_outside(img, boxes, sigma=6.0)
    blurred = gaussian_blur(img, 6.0)
    assert out.shape == (2, 3, H, W)
    x0, y0, x1, y1 = RED
    assert torch.equal(out[0, :, y0:y1, x0:x1], img[:, y0:y1, x0:x1])
    assert torch.allclose(out[0, :, 40:, 40:], blurred[:, 40:, 40:])
    assert out[0, 1, 35:47, 50:62].max() < 0.8          # the green distractor is washed out in X_bx(red)


def test_scoring_ranks_the_box_holding_the_class_evidence_first():
    img = synthetic_image()
    gh, gw = 15, 20                                        # 4 px patches
    m_red = np.zeros((gh, gw), np.float32)
    m_red[2:6, 2:6] = 1.0                                  # px 8..24 around the red square
    m_green = np.zeros((gh, gw), np.float32)
    m_green[8:12, 12:16] = 1.0
    m_wide = np.zeros((gh, gw), np.float32)
    m_wide[1:8, 1:9] = 1.0                                 # looser box that also holds all the red
    cfg = ProposalConfig(scoring_size=48, min_area_frac=0.0)
    ranked = propose(img, {-1: m_red, 0: m_green, 1: m_wide}, label=1, classify=red_classifier, cfg=cfg)
    assert [r.rank for r in ranked] == [1, 2, 3]
    best = ranked[0]
    assert best.source_map == -1 and best.class_prob > 0.99
    x0, y0, x1, y1 = best.box
    assert x0 <= RED[0] / W and y0 <= RED[1] / H and x1 >= RED[2] / W and y1 >= RED[3] / H
    assert ranked[1].source_map == 1 and ranked[1].class_prob > 0.99   # saturates too, but looser
    assert ranked[2].source_map == 0 and ranked[2].class_prob < 0.1     # distractor


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 5, stride=2)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean((2, 3))).softmax(1)


def test_batched_and_one_by_one_scores_agree():
    torch.manual_seed(1)
    img = torch.rand(3, 50, 70)
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 0.6, (7, 2)), rng.uniform(0.1, 0.4, (7, 2))
    boxes = np.concatenate([a, np.minimum(a + b, 1.0)], axis=1)
    net, cfg = TinyNet().eval(), ProposalConfig(scoring_size=40)
    batched = score_boxes(img, boxes, 2, net, cfg, batch_size=3)
    naive = score_boxes_one_by_one(img, boxes, 2, net, cfg)
    assert batched.shape == (7,)
    assert np.abs(batched - naive).max() < 1e-5
    assert score_boxes(img, np.zeros((0, 4)), 2, net, cfg).shape == (0,)


def test_bad_inputs_are_reported():
    img = synthetic_image()
    cfg = ProposalConfig(scoring_size=16)
    with pytest.raises(ValueError, match="outside the classifier"):
        score_boxes(img, np.array([[0, 0, 0.5, 0.5]]), 7, red_classifier, cfg)
    with pytest.raises(ValueError, match=r"\[N,C\]"):
        score_boxes(img, np.array([[0, 0, 0.5, 0.5]]), 0, lambda x: x.mean((1, 2, 3)), cfg)
    with pytest.raises(ValueError, match=r"\[3,H,W\]"):
        score_boxes(img[0], np.array([[0, 0, 0.5, 0.5]]), 0, red_classifier, cfg)
    with pytest.raises(ValueError, match="float RGB"):
        score_boxes((img * 255).to(torch.uint8), np.array([[0, 0, 0.5, 0.5]]), 0, red_classifier, cfg)
    with pytest.raises(ValueError, match=r"\[N,4\]"):
        score_boxes(img, np.array([0, 0, 0.5, 0.5]), 0, red_classifier, cfg)


def test_propose_without_foreground_is_empty():
    assert propose(synthetic_image(), {-1: np.zeros((4, 4))}, 1, red_classifier, ProposalConfig()) == []


def test_deletion_scores_drop_only_when_the_box_holds_the_evidence():
    img = synthetic_image()
    kept = score_boxes(img, np.array([RED, GREEN]) / np.array([W, H, W, H]), 1, red_classifier,
                       ProposalConfig(scoring_size=48), keep_inside=False)
    assert kept[0] < 0.1 and kept[1] > 0.99       # blurring the red square removes the class; the green does not


def test_deletion_prefers_the_box_around_the_whole_object_to_a_tighter_part_of_it():
    img = synthetic_image()
    m_full = np.zeros((15, 20), np.float32)
    m_full[2:6, 2:6] = 1.0                         # px 8..24: all of the red square
    m_part = np.zeros((15, 20), np.float32)
    m_part[2:6, 2:4] = 1.0                         # px 8..16: its left half, enough to saturate f_x
    maps = {-1: m_full, 0: m_part}
    cfg = ProposalConfig(scoring_size=48, min_area_frac=0.0)
    plain = propose(img, maps, label=1, classify=red_classifier, cfg=cfg)
    assert plain[0].source_map == 0 and plain[0].class_prob > 0.99 and plain[1].class_prob > 0.99
    cfg.deletion = True
    ranked = propose(img, maps, label=1, classify=red_classifier, cfg=cfg)
    assert [r.source_map for r in ranked] == [-1, 0]
    assert ranked[0].class_prob > 0.99 and ranked[1].score < 0.05   # half the red left: the part scores ~0


def test_zoom_crop_is_a_square_around_the_box_with_its_context():
    img = synthetic_image()
    box = np.array([RED]) / np.array([W, H, W, H])        # 12 x 12 px
    crop = zoom_crops(img, box, context=1.0, size=48)[0]   # 24 x 24 px around its centre: px 4..28, 4..28
    assert crop.shape == (3, 48, 48)
    assert torch.allclose(crop[:, 24, 24], torch.tensor([1.0, 0.0, 0.0]))   # the red square fills the middle
    assert torch.allclose(crop[:, 2, 2], torch.tensor([0.5, 0.5, 0.5]))     # a ring of grey around it
    redness = (crop[0] - crop[1]).mean().item()            # bilinear resizing keeps the mean
    assert abs(redness - 0.25) < 0.01                      # 12 of 24 px a side: a quarter of the view


def test_zoom_crop_at_the_border_is_cut_not_padded():
    img = synthetic_image()
    crop = zoom_crops(img, np.array([[0.0, 0.85, 0.1, 1.0]]), context=1.0, size=32)[0]   # grey corner
    assert crop.shape == (3, 32, 32)
    assert (crop - 0.5).abs().max() < 1e-5                 # only image content: no black padding


def test_zoomed_probabilities_reorder_the_ranking_and_class_prob_stays_the_blur_score():
    cands = [Candidate((0.1, 0.1, 0.2, 0.2), -1, 1.0), Candidate((0.5, 0.5, 0.6, 0.6), 0, 1.0)]
    cfg = ProposalConfig(tight_tolerance=0.0, area_penalty=0.0)
    plain = rank_proposals(cands, np.array([0.9, 0.8]), cfg)
    assert plain[0].source_map == -1
    zoomed = rank_proposals(cands, np.array([0.9, 0.8]), cfg, zoomed_probs=np.array([0.5, 0.95]))
    assert [r.source_map for r in zoomed] == [0, -1]                       # 0.8 x 0.95 > 0.9 x 0.5
    assert zoomed[0].class_prob == pytest.approx(0.8) and zoomed[0].score == pytest.approx(0.76)
    with pytest.raises(ValueError, match="zoomed"):
        rank_proposals(cands, np.array([0.9, 0.8]), cfg, zoomed_probs=np.array([0.5]))


def test_propose_with_zoom_asks_f_x_about_a_crop_of_every_box():
    img = synthetic_image()
    m = np.zeros((15, 20), np.float32)
    m[2:6, 2:6] = 1.0                                      # one candidate around the red square
    seen = []

    def recording(x):
        seen.append(x.clone())
        return red_classifier(x)
    cfg = ProposalConfig(scoring_size=48, min_area_frac=0.0, zoom_context=1.0)
    ranked = propose(img, {-1: m}, label=1, classify=recording, cfg=cfg)
    assert len(ranked) == 1 and len(seen) == 2            # the blurred image, then the crop
    crop = seen[1][0]
    assert torch.allclose(crop[:, 24, 24], torch.tensor([1.0, 0.0, 0.0]))
    assert ranked[0].score > 0.9                           # red seen up close: f_x is sure as well
    with pytest.raises(ValueError, match="zoom_context"):
        ProposalConfig(zoom_context=-1)
