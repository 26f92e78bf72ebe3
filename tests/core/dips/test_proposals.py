import numpy as np
import pytest

from core.dips.proposals import (
    Candidate,
    ProposalConfig,
    candidate_boxes,
    rank_proposals,
    ranking_scores,
    select_maps,
    top_k,
)

# map_size=0: threshold on the given grid so expected boxes are exact grid coordinates
EXACT = dict(map_size=0, min_area_frac=0.0, max_area_frac=1.0, clip_percentile=100.0)   # Alg. 1 as printed


def blob_map(shape, *rects, value=1.0):
    m = np.zeros(shape, np.float32)
    for y0, y1, x0, x1 in rects:
        m[y0:y1, x0:x1] = value
    return m


def boxes(cands):
    return sorted(tuple(round(v, 6) for v in c.box) for c in cands)


def test_two_separate_blobs_give_two_tight_normalised_boxes():
    m = blob_map((10, 20), (1, 4, 2, 6), (5, 9, 10, 18))
    out = candidate_boxes({-1: m}, ProposalConfig(**EXACT))
    assert boxes(out) == [(0.1, 0.1, 0.3, 0.4), (0.5, 0.5, 0.9, 0.9)]
    assert all(c.source_map == -1 for c in out)


def test_upsampled_maps_keep_the_box_within_a_patch():
    m = blob_map((16, 16), (4, 8, 2, 6))   # patches 2..5 x 4..7 -> [0.125, 0.25, 0.375, 0.5]
    (c,) = candidate_boxes({-1: m}, ProposalConfig(map_size=224, min_area_frac=0.0))
    assert np.allclose(c.box, (0.125, 0.25, 0.375, 0.5), atol=1 / 16)


def test_only_specks_keeps_the_largest():
    m = blob_map((100, 100), (5, 6, 5, 6), (50, 53, 50, 54), (80, 82, 10, 12))  # 1, 12, 4 px
    out = candidate_boxes({-1: m}, ProposalConfig(map_size=0, min_area_frac=0.01))  # 100 px needed
    assert boxes(out) == [(0.5, 0.5, 0.54, 0.53)]


def test_min_area_drops_specks_next_to_a_real_region():
    m = blob_map((100, 100), (5, 6, 5, 6), (20, 40, 20, 40))
    out = candidate_boxes({-1: m}, ProposalConfig(map_size=0, min_area_frac=0.01))
    assert boxes(out) == [(0.2, 0.2, 0.4, 0.4)]


def test_max_area_cap_drops_a_whole_image_box_but_never_leaves_nothing():
    whole = np.ones((10, 10), np.float32)
    whole[0, 0] = 0.0                                      # Otsu keeps everything but one corner
    small = blob_map((10, 10), (2, 4, 2, 5))
    cfg = ProposalConfig(map_size=0, min_area_frac=0.0, max_area_frac=0.35)
    out = candidate_boxes({-1: whole, 0: small}, cfg)
    assert boxes(out) == [(0.2, 0.2, 0.5, 0.4)]
    alone = candidate_boxes({-1: whole}, cfg)             # nothing else: the big box stays
    assert boxes(alone) == [(0.0, 0.0, 1.0, 1.0)]


def test_dedupe_merges_identical_boxes_from_two_maps():
    m = blob_map((10, 10), (2, 6, 3, 7))
    out = candidate_boxes({-1: m, 0: m.copy(), 1: blob_map((10, 10), (0, 2, 0, 2))}, ProposalConfig(**EXACT))
    assert len(out) == 2
    assert [c.source_map for c in out if c.box == (0.3, 0.2, 0.7, 0.6)] == [-1]   # scored once, mean map


def test_map_selection_and_missing_mean():
    heads = {h: blob_map((8, 8), (h, h + 1, 0, 8)) for h in range(6)}
    assert list(select_maps(heads, "mean+first4")) == [-1, 0, 1, 2, 3]
    assert list(select_maps(heads, "mean+heads")) == [-1, 0, 1, 2, 3, 4, 5]
    assert np.allclose(select_maps(heads, "mean+heads")[-1], np.mean([heads[h] for h in range(6)], axis=0))
    out = candidate_boxes({**heads}, ProposalConfig(maps="mean+first4", **EXACT))
    assert {c.source_map for c in out} <= {-1, 0, 1, 2, 3}
    with pytest.raises(ValueError, match="no attention maps given"):
        candidate_boxes({}, ProposalConfig())
    with pytest.raises(ValueError, match="maps must be one of"):
        ProposalConfig(maps="all")


def test_cap_keeps_the_most_activated_regions():
    m = blob_map((20, 20), (0, 2, 0, 2), (5, 7, 5, 7), value=0.5)
    m[15:17, 15:17] = 1.0
    out = candidate_boxes({-1: m}, ProposalConfig(max_boxes_per_image=1, **EXACT))
    assert boxes(out) == [(0.75, 0.75, 0.85, 0.85)]


def test_constant_maps_give_no_candidates():
    assert candidate_boxes({-1: np.zeros((8, 8)), 0: np.full((8, 8), 3.0)}, ProposalConfig()) == []


def cands(*bs):
    return [Candidate(tuple(map(float, b)), i) for i, b in enumerate(bs)]


def test_ranking_prefers_the_tighter_box_when_both_saturate():
    big = (0.1, 0.1, 0.65, 0.65)       # area 0.3025
    tight = (0.2, 0.2, 0.4, 0.4)       # area 0.04
    ranked = rank_proposals(cands(big, tight), np.array([0.999, 0.98]), ProposalConfig())
    assert [r.box for r in ranked] == [tight, big]
    assert ranked[0].class_prob == pytest.approx(0.98) and ranked[0].score > ranked[1].score


def test_size_prior_is_mild_a_clearly_better_probability_wins():
    big = (0.1, 0.1, 0.65, 0.65)
    tight = (0.2, 0.2, 0.4, 0.4)
    ranked = rank_proposals(cands(big, tight), np.array([0.999, 0.90]), ProposalConfig())
    assert [r.box for r in ranked] == [big, tight]
    # hand computed: cap = 0.999 - 0.05; big 0.949 - 0.1*0.3025, tight 0.90 - 0.1*0.04
    assert [r.score for r in ranked] == pytest.approx([0.949 - 0.03025, 0.896])


def test_rank_numbering_and_top_k():
    bs = [(0.0, 0.0, 0.1 * (i + 1), 0.1) for i in range(5)]
    probs = np.array([0.1, 0.5, 0.3, 0.7, 0.2])
    ranked = rank_proposals(cands(*bs), probs, ProposalConfig(K=2))
    assert [r.rank for r in ranked] == [1, 2, 3, 4, 5]
    assert [r.source_map for r in ranked] == [3, 1, 2, 4, 0]   # probabilities far apart: probability order
    assert [r.rank for r in top_k(ranked, ProposalConfig(K=2))] == [1, 2]
    assert rank_proposals([], np.zeros(0)) == []
    with pytest.raises(ValueError, match="2 class probabilities"):
        rank_proposals(cands(bs[0]), np.array([0.1, 0.2]))


def test_ranking_scores_never_negative():
    s = ranking_scores(np.array([0.01, 0.02]), np.array([0.3, 0.3]), ProposalConfig())
    assert (s >= 0).all()


def test_merge_gap_also_proposes_fragments_as_one_box():
    from core.dips.proposals import ProposalConfig, candidate_boxes
    m = np.zeros((32, 32), np.float32)
    m[4:14, 10:12] = 1.0      # two pieces of one thin structure, 2 cells apart
    m[16:28, 10:12] = 1.0
    apart = candidate_boxes({-1: m}, ProposalConfig(map_size=0, merge_gap_frac=0.0, min_area_frac=0.0))
    merged = candidate_boxes({-1: m}, ProposalConfig(map_size=0, merge_gap_frac=0.07, min_area_frac=0.0))
    assert len(apart) == 2
    whole = (10 / 32, 4 / 32, 12 / 32, 28 / 32)
    assert any(np.allclose(c.box, whole) for c in merged) and len(merged) == 3


def test_one_artifact_token_no_longer_hides_the_object():
    """DINOv2's high-norm background tokens: one patch far brighter than the object itself."""
    from core.dips.proposals import clip_map
    m = np.full((32, 32), 0.05, dtype=np.float32)
    m[10:16, 12:20] = 0.4                       # the object: 48 patches
    m[28, 3] = 8.0                              # one artifact token, 20x the object
    for i in range(16):                         # some texture in the background
        m[(i * 7) % 32, (i * 11) % 32] += 0.03
    paper = candidate_boxes({-1: m}, ProposalConfig(maps="mean+heads", clip_percentile=100.0, map_size=0))
    clipped = candidate_boxes({-1: m}, ProposalConfig(maps="mean+heads", clip_percentile=98.0, map_size=0))
    obj = (12 / 32, 10 / 32, 20 / 32, 16 / 32)
    assert not any(np.allclose(c.box, obj) for c in paper)           # min-max squashed the object
    assert any(np.allclose(c.box, obj) for c in clipped)
    assert clip_map(m, 100.0) is m and clip_map(m, 98.0).max() < 1.0
    with pytest.raises(ValueError, match="clip_percentile"):
        ProposalConfig(clip_percentile=30.0)


def test_deletion_probabilities_multiply_the_score():
    a, b = (0.1, 0.1, 0.3, 0.3), (0.5, 0.5, 0.7, 0.7)          # same area, same probability
    ranked = rank_proposals(cands(a, b), np.array([0.9, 0.9]), ProposalConfig(), deleted_probs=np.array([0.8, 0.1]))
    assert [r.box for r in ranked] == [b, a]
    # hand computed: cap 0.9 - 0.05 = 0.85, minus 0.1 * 0.04 = 0.846; times 1 - 0.1 and 1 - 0.8
    assert [r.score for r in ranked] == pytest.approx([0.846 * 0.9, 0.846 * 0.2])
    with pytest.raises(ValueError, match="deletion"):
        rank_proposals(cands(a, b), np.array([0.9, 0.9]), deleted_probs=np.array([0.5]))
