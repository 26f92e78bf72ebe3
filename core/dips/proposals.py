"""Discriminative proposals, paper Alg. 1, on numpy arrays (no backbone, no classifier here).

Two pure steps:

* :func:`candidate_boxes` - lines 3-5: Otsu on every attention map, connected regions, tight boxes
  (the set T before scoring).
* :func:`rank_proposals` - lines 10-11: sort the scored boxes; the first ``K`` are the pool P.

Scoring (lines 6-9: blur outside the box, probability of the true class) lives in
``core.dips.scoring``, which also chains the three steps in ``propose``.

Boxes are normalised ``xyxy`` in ``[0, 1]`` of the map's extent. Maps are stretched over the image,
so the same numbers are fractions of the image's width and height.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.dips.boxes import binarize, box_area, box_iou, component_boxes_with_activation, normalize_map, otsu_threshold
from core.settings import MAP_SETS, ProposalConfig

MEAN_MAP = -1  # key of the mean-over-heads map, as in the store


@dataclass
class Candidate:
    box: tuple[float, float, float, float]   # normalised xyxy in [0, 1]
    source_map: int                          # head index, -1 = mean map
    activation: float = 0.0                  # mean normalised map value inside the region (used for the cap)


@dataclass
class RankedProposal:
    box: tuple[float, float, float, float]   # normalised xyxy in [0, 1]
    source_map: int                          # head index, -1 = mean map
    class_prob: float                        # raw f_x(X_bx)_y
    score: float                             # ranking score (class_prob with the size prior)
    rank: int                                # 1 = best; ranks 1..K form the pool P


def select_maps(maps: dict[int, np.ndarray], which: str) -> dict[int, np.ndarray]:
    """The maps Alg. 1 iterates over, keyed by head (-1 = mean), mean first then heads ascending.

    A missing mean map is computed as the mean of all heads given (the mean is always over all
    heads, also for "mean+first4", as in the authors' code).
    """
    if not maps:
        raise ValueError("core/dips/proposals.py: no attention maps given")
    arrs = {int(k): np.asarray(v, dtype=np.float32) for k, v in maps.items()}
    for k, a in arrs.items():
        if a.ndim != 2 or min(a.shape) < 1:
            raise ValueError(f"core/dips/proposals.py: attention map {k} must be a non-empty 2-D array, "
                             f"got shape {a.shape}")
    heads = sorted(k for k in arrs if k >= 0)
    if MEAN_MAP not in arrs:
        shapes = {arrs[k].shape for k in heads}
        if len(shapes) != 1:
            raise ValueError("core/dips/proposals.py: no mean map (-1) given and the heads differ in shape "
                             f"({sorted(shapes)}), so it cannot be computed")
        arrs[MEAN_MAP] = np.mean(np.stack([np.nan_to_num(arrs[k]) for k in heads]), axis=0)
    if which == "mean+first4":
        heads = [k for k in heads if k < 4]
    elif which != "mean+heads":
        raise ValueError(f"core/dips/proposals.py: maps must be one of {MAP_SETS}, not {which!r}")
    return {k: arrs[k] for k in [MEAN_MAP, *heads]}


def clip_map(m: np.ndarray, percentile: float) -> np.ndarray:
    """``m`` with values above its ``percentile``-th percentile set to that value (NaN kept).

    Unchanged when ``percentile`` is 100 or when the percentile is the map's minimum (a map that is
    almost all background: clipping would leave nothing).
    """
    if percentile >= 100.0:
        return m
    finite = m[np.isfinite(m)]
    if finite.size == 0:
        return m
    hi = np.percentile(finite, percentile)
    return m if hi <= finite.min() else np.minimum(m, hi)


def prepare_map(m: np.ndarray, cfg: ProposalConfig) -> np.ndarray:
    """The map Otsu reads: clipped at ``cfg.clip_percentile``, min-max normalised to [0, 1], upsampled
    to ``cfg.map_size`` (0: kept at its grid)."""
    m01 = normalize_map(clip_map(m, cfg.clip_percentile))
    if cfg.map_size:
        # bilinear never overshoots, so the upsampled map stays in [0, 1]
        m01 = cv2.resize(m01, (cfg.map_size, cfg.map_size), interpolation=cv2.INTER_LINEAR)
    return m01


def _map_boxes(m: np.ndarray, cfg: ProposalConfig) -> tuple[np.ndarray, np.ndarray]:
    """Alg. 1 lines 4-5 for one map: normalised boxes [n,4] and their mean activation [n].

    The map is clipped at ``cfg.clip_percentile`` first; Otsu and the activations that order the
    candidates both read the clipped map (ordering by the unclipped one let artifact-lit regions take
    the capped slots: 48 % instead of 54 % of train+val images kept a candidate with IoU >= 0.5).
    """
    m01 = prepare_map(m, cfg)
    h, w = m01.shape
    mask = binarize(m01, otsu_threshold(m01))
    boxes, act = component_boxes_with_activation(m01, mask)
    if len(boxes) == 0:
        return boxes, act
    gap = int(round(cfg.merge_gap_frac * max(h, w)))
    if gap > 0:
        # Thin lattice structures fall apart into several regions under Otsu; regions closer than
        # `gap` are also proposed as one box. Both sets are scored, so the classifier chooses.
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * gap + 1, 2 * gap + 1))
        merged = cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)
        mboxes, _ = component_boxes_with_activation(m01, merged)
        if len(mboxes):
            # back to tight boxes around the original regions each merged region holds
            rows = []
            for x0, y0, x1, y1 in mboxes:
                sub = mask[int(y0):int(y1), int(x0):int(x1)]
                ys, xs = np.nonzero(sub)
                rows.append((x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1))
            tight = np.asarray(rows, dtype=np.float64)
            tact = np.array([m01[int(b[1]):int(b[3]), int(b[0]):int(b[2])][mask[int(b[1]):int(b[3]),
                             int(b[0]):int(b[2])]].mean() for b in tight])
            boxes, act = np.concatenate([boxes, tight]), np.concatenate([act, tact])
    boxes = boxes / np.array([w, h, w, h], dtype=np.float64)
    areas = box_area(boxes)
    keep = areas >= cfg.min_area_frac
    if not keep.any():  # only specks: keep the largest so every informative map contributes
        keep = areas == areas.max()
        keep &= np.cumsum(keep) == 1
    return boxes[keep], act[keep]


def candidate_boxes(maps: dict[int, np.ndarray], cfg: ProposalConfig | None = None) -> list[Candidate]:
    """Candidate set T of Alg. 1 (lines 3-5), before scoring.

    ``maps``: attention maps keyed by head index (-1 = mean), any 2-D shape (patch grid), any range.
    Per map: min-max normalise, upsample to ``cfg.map_size``, Otsu, 8-connected regions, tight boxes;
    boxes below ``min_area_frac`` of the image are dropped, and if none is left the largest is kept.
    Over all maps:

    * boxes above ``max_area_frac`` are dropped unless that would leave no box at all;
    * candidates are ordered by mean activation inside their region (most salient first; ties keep
      map order, mean map first) - size-neutral, so small drone objects are not crowded out by
      large regions, which the ranking penalises anyway;
    * a box with IoU >= ``dedupe_iou`` to an earlier one is dropped (scored once, under the map that
      activates it most);
    * at most ``max_boxes_per_image`` are returned (the most activated) to bound scoring cost.

    Returns normalised ``xyxy`` boxes; an empty list when every map is constant.
    """
    cfg = cfg or ProposalConfig()
    all_boxes, all_act, all_src = [], [], []
    for key, m in select_maps(maps, cfg.maps).items():
        b, a = _map_boxes(m, cfg)
        all_boxes.append(b)
        all_act.append(a)
        all_src.append(np.full(len(b), key, dtype=np.int64))
    boxes = np.concatenate(all_boxes) if all_boxes else np.zeros((0, 4))
    if len(boxes) == 0:
        return []
    act, src = np.concatenate(all_act), np.concatenate(all_src)
    return [Candidate((float(boxes[i, 0]), float(boxes[i, 1]), float(boxes[i, 2]), float(boxes[i, 3])), int(src[i]),
                      float(act[i]))
            for i in select_candidates(boxes, act, cfg)]


def select_candidates(boxes: np.ndarray, act: np.ndarray, cfg: ProposalConfig) -> list[int]:
    """Indices of the candidates kept, most activated first: the area cap (unless it would leave none),
    de-duplication at ``cfg.dedupe_iou`` and the cap of ``cfg.max_boxes_per_image`` (see candidate_boxes)."""
    idx = np.arange(len(boxes))
    small = box_area(boxes) <= cfg.max_area_frac
    if small.any():
        idx = idx[small]
    idx = idx[np.argsort(-act[idx], kind="stable")]
    iou = box_iou(boxes[idx], boxes[idx])
    kept: list[int] = []
    for j in range(len(idx)):
        if kept and iou[j, kept].max() >= cfg.dedupe_iou:
            continue
        kept.append(j)
        if len(kept) == cfg.max_boxes_per_image:
            break
    return [int(idx[j]) for j in kept]


def ranking_scores(class_probs: np.ndarray, areas: np.ndarray, cfg: ProposalConfig) -> np.ndarray:
    """Ranking score of each box: ``max(0, min(p, p_best - tol) - lambda_area * area)``.

    * ``p`` = raw ``f_x(X_bx)_y``; ``p_best`` its maximum over the image's boxes; ``tol`` =
      ``cfg.tight_tolerance``; ``area`` = normalised box area; ``lambda_area`` = ``cfg.area_penalty``.
    * Capping ``p`` at ``p_best - tol`` makes every box within ``tol`` of the best equal on probability,
      so among them the smaller box wins (the true-class probability saturates near 1 for any box that
      keeps enough context, and a box swallowing several objects would otherwise win).
    * The area term is mild (``0.1 * 0.35 = 0.035`` for the largest allowed box): it only decides
      between boxes of similar probability.
    """
    p = np.asarray(class_probs, dtype=np.float64)
    if len(p) == 0:
        return p
    cap = p.max() - cfg.tight_tolerance
    return np.maximum(0.0, np.minimum(p, cap) - cfg.area_penalty * np.asarray(areas, dtype=np.float64))


def _per_box(values: np.ndarray | None, n: int, what: str) -> np.ndarray | None:
    if values is None:
        return None
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(v) != n or not np.all(np.isfinite(v)):
        raise ValueError(f"core/dips/proposals.py: {n} candidates need as many finite {what} probabilities, "
                         f"got {len(v)}")
    return np.clip(v, 0.0, 1.0)


def rank_proposals(cands: list[Candidate], class_probs: np.ndarray, cfg: ProposalConfig | None = None,
                   deleted_probs: np.ndarray | None = None,
                   zoomed_probs: np.ndarray | None = None) -> list[RankedProposal]:
    """Sort scored candidates (Alg. 1 line 10) and number them 1..N; the first ``cfg.K`` are the pool P.

    ``class_probs[i]`` is ``f_x(X_bx)_y`` of ``cands[i]``. Score: :func:`ranking_scores` of it, or of its
    product with ``zoomed_probs[i]`` when given (the true-class probability of a crop around the box,
    ``ProposalConfig.zoom_context``), times ``1 - deleted_probs[i]`` when given (the true-class probability
    with the box blurred, the rest kept). Sort key: score (high first), then area (small first), then that
    probability (high first), then input order. All N are returned so people can inspect the rest;
    training takes ``[:cfg.K]``. ``class_prob`` of each result stays ``f_x(X_bx)_y``.
    """
    cfg = cfg or ProposalConfig()
    p = np.asarray(class_probs, dtype=np.float64).reshape(-1)
    if len(p) != len(cands):
        raise ValueError(f"core/dips/proposals.py: {len(cands)} candidates but {len(p)} class probabilities")
    if not np.all(np.isfinite(p)):
        raise ValueError("core/dips/proposals.py: class probabilities contain NaN or inf")
    if not cands:
        return []
    boxes = np.array([c.box for c in cands], dtype=np.float64)
    areas = box_area(boxes)
    zoomed = _per_box(zoomed_probs, len(p), "zoomed")
    p_rank = p if zoomed is None else p * zoomed
    s = ranking_scores(p_rank, areas, cfg)
    deleted = _per_box(deleted_probs, len(p), "deletion")
    if deleted is not None:
        s = s * (1.0 - deleted)
    order = np.lexsort((np.arange(len(p)), -p_rank, areas, -s))  # last key is the primary one
    return [RankedProposal(cands[i].box, cands[i].source_map, float(p[i]), float(s[i]), r)
            for r, i in enumerate(order, start=1)]


def top_k(ranked: list[RankedProposal], cfg: ProposalConfig | None = None) -> list[RankedProposal]:
    """The training pool P = top-K of a ranked list."""
    cfg = cfg or ProposalConfig()
    return sorted(ranked, key=lambda r: r.rank)[: cfg.K]
