"""Scoring of proposals, paper Alg. 1 lines 6-9: blur outside the box, probability of the true class.

The image is resized once to ``scoring_size^2``, blurred once (separable Gaussian in torch), and
every box's perturbed image ``X_bx = X * mask + blur(X) * (1 - mask)`` is composed by broadcasting
and classified in batches. Everything runs on the device of the image tensor; ``classify`` must
accept tensors on that device.

``classify`` maps ``[N, 3, s, s]`` images in ``[0, 1]`` (RGB, no normalisation) to ``[N, C]``
class probabilities; it does its own normalisation and softmax.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from core.dips.proposals import Candidate, ProposalConfig, RankedProposal, candidate_boxes, rank_proposals

Classifier = Callable[[torch.Tensor], torch.Tensor]


def gaussian_kernel1d(sigma: float, device=None, dtype=torch.float32) -> torch.Tensor:
    """Normalised 1-D Gaussian, radius ``ceil(3 sigma)`` (99.7 % of the mass)."""
    radius = max(1, math.ceil(3.0 * sigma))
    x = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``[C,H,W]`` or ``[B,C,H,W]`` (sigma in pixels; <= 0 -> copy).

    Borders are replicated (reflection cannot pad more than the image size, and a large sigma
    needs a pad wider than small images).
    """
    if sigma <= 0:
        return img.clone()
    x = img.unsqueeze(0) if img.dim() == 3 else img
    c = x.shape[1]
    k = gaussian_kernel1d(sigma, device=x.device, dtype=x.dtype)
    r = (k.numel() - 1) // 2
    x = F.pad(x, (r, r, 0, 0), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    x = F.pad(x, (0, 0, r, r), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return x[0] if img.dim() == 3 else x


def box_masks(boxes_px: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Soft masks ``[N,1,H,W]``: the fraction of each pixel covered by each box.

    ``boxes_px``: ``[N,4]`` xyxy in pixels of the ``H x W`` grid (pixel ``j`` spans ``[j, j+1)``).
    Integer boxes give exact 0/1 masks; fractional edges are anti-aliased, and a box thinner
    than a pixel still shows its content partially instead of vanishing.
    """
    b = boxes_px.to(torch.float32)
    xs = torch.arange(width, device=b.device, dtype=torch.float32)
    ys = torch.arange(height, device=b.device, dtype=torch.float32)
    cov_x = (torch.minimum(xs[None] + 1, b[:, 2:3]) - torch.maximum(xs[None], b[:, 0:1])).clamp(0, 1)
    cov_y = (torch.minimum(ys[None] + 1, b[:, 3:4]) - torch.maximum(ys[None], b[:, 1:2])).clamp(0, 1)
    return (cov_y[:, :, None] * cov_x[:, None, :]).unsqueeze(1)


def _composite(image: torch.Tensor, blurred: torch.Tensor, boxes_px: torch.Tensor,
               keep_inside: bool = True) -> torch.Tensor:
    """``image * mask + blurred * (1 - mask)`` for every box: ``[N,3,H,W]`` (mask inverted when not
    ``keep_inside``: the box blurred, the rest kept)."""
    m = box_masks(boxes_px, image.shape[-2], image.shape[-1]).to(image.dtype)
    if not keep_inside:
        m = 1 - m
    return blurred.unsqueeze(0) + m * (image - blurred).unsqueeze(0)


def blur_outside(image: torch.Tensor, boxes_px: torch.Tensor, sigma: float) -> torch.Tensor:
    """Perturbed images ``X_bx`` ``[N,3,H,W]``: inside each box the image, outside its Gaussian blur.

    ``image``: ``[3,H,W]`` float; ``boxes_px``: ``[N,4]`` xyxy in pixels of ``image``; ``sigma`` in
    pixels. The blur is computed once for all boxes.
    """
    _check_image(image)
    return _composite(image, gaussian_blur(image, sigma), _as_boxes(boxes_px, image.device))


def _check_image(image: torch.Tensor) -> None:
    if not isinstance(image, torch.Tensor) or image.dim() != 3 or image.shape[0] != 3:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"core/dips/scoring.py: image must be a [3,H,W] tensor, got {shape}")
    if not image.is_floating_point():
        raise ValueError(f"core/dips/scoring.py: image must be float RGB in [0,1], got dtype {image.dtype}")


def _as_boxes(boxes, device) -> torch.Tensor:
    b = torch.as_tensor(np.asarray(boxes, dtype=np.float32) if not isinstance(boxes, torch.Tensor) else boxes,
                        dtype=torch.float32, device=device)
    if b.dim() != 2 or b.shape[1] != 4:
        raise ValueError(f"core/dips/scoring.py: boxes must be [N,4] xyxy, got shape {tuple(b.shape)}")
    return b


def _scoring_image(image01: torch.Tensor, size: int) -> torch.Tensor:
    """The image stretched to ``size x size`` (bilinear, antialiased when shrinking), float32 in [0,1]."""
    _check_image(image01)
    x = image01.to(torch.float32)
    if tuple(x.shape[-2:]) == (size, size):
        return x
    return F.interpolate(x[None], size=(size, size), mode="bilinear", align_corners=False,
                         antialias=True)[0].clamp(0, 1)


def _true_class_prob(probs: torch.Tensor, n: int, label: int) -> torch.Tensor:
    if probs.dim() != 2 or probs.shape[0] != n:
        raise ValueError(f"core/dips/scoring.py: classify must return [N,C] probabilities for N={n} images, "
                         f"got shape {tuple(probs.shape)}")
    if not 0 <= label < probs.shape[1]:
        raise ValueError(f"core/dips/scoring.py: label {label} is outside the classifier's "
                         f"{probs.shape[1]} classes")
    return probs[:, label].detach().to(torch.float64).cpu()


def score_boxes(image01: torch.Tensor, boxes_norm: np.ndarray, label: int, classify: Classifier,
                cfg: ProposalConfig | None = None, batch_size: int = 32, keep_inside: bool = True) -> np.ndarray:
    """``f_x(X_bx)_y`` for every box, batched (Alg. 1 lines 6-8).

    ``image01``: ``[3,H,W]`` RGB in ``[0,1]`` (any size); ``boxes_norm``: ``[N,4]`` normalised xyxy.
    The image is resized to ``cfg.scoring_size`` and blurred (sigma = ``blur_sigma_frac * size``)
    once; perturbed images are built and classified ``batch_size`` at a time. Returns float64 [N].
    ``keep_inside=False`` blurs the box instead and keeps the rest: the probability left once the
    box's content is gone (the deletion score, see ``ProposalConfig.deletion``).
    """
    cfg = cfg or ProposalConfig()
    s = cfg.scoring_size
    x = _scoring_image(image01, s)
    boxes = _as_boxes(boxes_norm, x.device) * s
    if boxes.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    blurred = gaussian_blur(x, cfg.blur_sigma_frac * s)
    out = []
    with torch.inference_mode():
        for i in range(0, boxes.shape[0], max(1, batch_size)):
            chunk = boxes[i:i + batch_size]
            out.append(_true_class_prob(classify(_composite(x, blurred, chunk, keep_inside)), chunk.shape[0], label))
    return torch.cat(out).numpy()


def zoom_crops(image01: torch.Tensor, boxes_norm, context: float, size: int) -> torch.Tensor:
    """Square crops centred on each box, resized to ``size x size``: ``[N,3,size,size]``.

    The crop's side is ``(1 + context)`` times the box's longer side in pixels of ``image01`` (at least 8 px),
    so a small object fills the scorer's view with a ring of its surroundings; it is cut at the image
    border (a crop there is stretched, not padded). Resizing is bilinear, antialiased when shrinking.
    """
    _check_image(image01)
    h, w = image01.shape[-2:]
    b = _as_boxes(boxes_norm, image01.device).cpu().numpy() * np.array([w, h, w, h], dtype=np.float32)
    x = image01.to(torch.float32)
    out = []
    for x0, y0, x1, y1 in b:
        half = max(8.0, (1.0 + context) * max(x1 - x0, y1 - y0)) / 2
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        c0, r0 = int(max(0, cx - half)), int(max(0, cy - half))
        c1, r1 = int(min(w, cx + half)), int(min(h, cy + half))
        c1, r1 = max(c1, c0 + 1), max(r1, r0 + 1)
        out.append(F.interpolate(x[None, :, r0:r1, c0:c1], size=(size, size), mode="bilinear",
                                 align_corners=False, antialias=True))
    if not out:
        return x.new_zeros((0, 3, size, size))
    return torch.cat(out).clamp_(0, 1)


def score_zoomed(image01: torch.Tensor, boxes_norm: np.ndarray, label: int, classify: Classifier,
                 cfg: ProposalConfig | None = None, batch_size: int = 32) -> np.ndarray:
    """``f_x`` of the class ``label`` on a crop around each box (:func:`zoom_crops` with
    ``cfg.zoom_context``): whether the box's content, seen up close, looks like the class. float64 [N].

    Blur-outside scoring at ``scoring_size`` shrinks a small object to a few pixels and leaves the scorer
    mostly the blurred context; the crop shows it at the scorer's full resolution.
    """
    cfg = cfg or ProposalConfig()
    n = len(boxes_norm)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    out = []
    with torch.inference_mode():
        for i in range(0, n, max(1, batch_size)):
            crops = zoom_crops(image01, np.asarray(boxes_norm)[i:i + batch_size], cfg.zoom_context, cfg.scoring_size)
            out.append(_true_class_prob(classify(crops), crops.shape[0], label))
    return torch.cat(out).numpy()


def score_boxes_one_by_one(image01: torch.Tensor, boxes_norm: np.ndarray, label: int, classify: Classifier,
                           cfg: ProposalConfig | None = None) -> np.ndarray:
    """Naive reference of :func:`score_boxes`: Alg. 1 lines 6-8 literally, one box at a time.

    Per box: resize, blur, compose, one forward of batch 1 - nothing shared between boxes.
    Same numbers as :func:`score_boxes` (up to float rounding); kept for tests and the benchmark.
    """
    cfg = cfg or ProposalConfig()
    s = cfg.scoring_size
    boxes = _as_boxes(boxes_norm, image01.device) * s
    out = []
    with torch.inference_mode():
        for i in range(boxes.shape[0]):
            x = _scoring_image(image01, s)
            x_bx = blur_outside(x, boxes[i:i + 1], cfg.blur_sigma_frac * s)
            out.append(_true_class_prob(classify(x_bx), 1, label))
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float64)


def propose(image01: torch.Tensor, maps: dict[int, np.ndarray], label: int, classify: Classifier,
            cfg: ProposalConfig | None = None, batch_size: int = 32) -> list[RankedProposal]:
    """Alg. 1 end to end: candidates from the maps, scored on the image, ranked.

    ``image01`` ``[3,H,W]`` in ``[0,1]``; ``maps`` keyed by head (-1 = mean) at any grid size;
    ``label`` the image's class index ``y`` in ``classify``'s output. Returns every candidate ranked
    (rank 1 = best, normalised boxes); the pool P is the first ``cfg.K``. Empty when no map has
    any foreground.
    """
    cfg = cfg or ProposalConfig()
    cands: list[Candidate] = candidate_boxes(maps, cfg)
    if not cands:
        return []
    boxes = np.array([c.box for c in cands])
    probs = score_boxes(image01, boxes, label, classify, cfg, batch_size)
    deleted = score_boxes(image01, boxes, label, classify, cfg, batch_size, keep_inside=False) if cfg.deletion else None
    zoomed = score_zoomed(image01, boxes, label, classify, cfg, batch_size) if cfg.zoom_context > 0 else None
    return rank_proposals(cands, probs, cfg, deleted, zoomed)
