"""Losses of the localization head: partial CE on pseudo-labels (Eq. 1), CRF loss (Eq. 3), total (Eq. 4),
and the workshop paper's classifier loss L_CLS.

Eq. 4:  lambda_1 * mean_{p in Omega'} H_p(Y, S)  +  lambda_2 * R(S, X)   [+ lambda_cls * L_CLS, U-Net only]

CRF loss (Tang et al., ECCV'18), Eq. 3: ``R(S, X) = sum_r S_r^T W (1 - S_r)`` with ``W[i, j] =
exp(-|p_i - p_j|^2 / 2 sigma_xy^2 - |I_i - I_j|^2 / 2 sigma_rgb^2)`` (position in pixels, colour in 0..255
RGB). Its gradient w.r.t. S_r is ``W 1 - 2 W S_r`` (W symmetric). Both versions below compute ``W [S, 1]``
without building W's graph (a custom autograd function keeps only ``W S`` and ``W 1``), per image summed
over pixels, averaged over the batch, as the reference does.

* ``crf_loss_dense``: the exact dense kernel over all pixel pairs, built in row chunks (memory
  ``chunk x N``, never ``[B, N, N]``). O(N^2): fine for tests and calibration up to ~64x64.
* ``crf_loss``: the practical version. Probabilities and image are average-pooled by ``scale`` (0.5:
  448 -> 224) and ``W`` is truncated to a ``(2r+1)^2`` window (``r = radius`` pixels at that scale), applied
  by a loop over the window's offsets (half of them, using symmetry) on whole-image shifted slices: memory
  ``[B, K+1, h, w]`` per pass, time O(N r^2). ``sigma_xy`` is given in full-resolution pixels and multiplied
  by ``scale``, so it keeps its physical width.
  Approximation: pairs farther apart than ``r`` pixels at the reduced scale are dropped. With the
  reference's ``sigma_xy = 100`` (50 px at scale 0.5) the spatial Gaussian is ~1 over a radius-5 window, so the
  effective kernel is "colour Gaussian inside a (2r+1)^2 box": ``sigma_xy`` is effectively bounded by the
  window (r / scale = 10 full-resolution pixels by default), and the dense kernel's long-range pairs (same
  colour far away, different label) are not penalised. What remains is the boundary-alignment part
  of the CRF, which is what the loss is for.

Calibration of ``lambda_crf`` (``LossConfig.lambda_crf``). The reference (authors' code) weights the dense
kernel (``sigma_xy = 100, sigma_rgb = 15``) by ``2e-9`` at scale 1 on the full training crop (224 for
ILSVRC/CUB, 448 for the drone data), computed with Krahenbuhl's permutohedral lattice. Our window energy has
far fewer pairs, so its weight must be larger. ``crf_weight_for`` computes per image
``lambda = 2e-9 * |grad_z R_dense| / |grad_z R_window|`` (gradient norms w.r.t. the decoder's logits z, the
dense one at full resolution), so that ``lambda * R_window`` pushes the logits as hard as the reference's CRF
term and keeps the same balance against the seed CE. ``bench/bench_crf.py`` runs it on 6 synthetic drone-like
448x448 scenes with soft object predictions; the dense side at 448 (4e10 pairs) is estimated from 8192 random
columns (checked against the exact sum at 160x160 with 2048 columns: within 1.1 %). Results (median, range):

    window scale 0.5,  r 5:  1.45e-6  (1.31e-6 .. 1.59e-6)   -> LossConfig default
    window scale 0.25, r 5:  6.16e-6  (5.44e-6 .. 6.77e-6)
    window scale 0.5,  r 3:  3.26e-6  (2.96e-6 .. 3.61e-6)

Caveats: the lattice is taken to approximate the unnormalised Gaussian ``exp(-|df|^2 / 2)`` (peak 1), as it is
designed to; its exact gain was not measured. The ratio depends on the training resolution (at 160 px it
is about half the 448 px value) and on the images. Treat the default as the centre of a search range
(a factor 10 either way), as the paper searched lambda_1. Other settings: re-run ``crf_weight_for`` on a few
training images.

Timing (bench/bench_crf.py, 2 CPU threads, forward + backward per image): window at 448 with scale 0.5 / r 5
~16 ms, scale 0.25 ~8 ms, scale 1 ~44 ms; dense 28x28 5 ms, 56x56 84 ms, 112x112 1.6 s.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from core.dips.sampling import IGNORE
from core.settings import LAMBDA_CRF_CALIBRATED, TrainConfig

_WHERE = "core/dips/losses.py"

Filter = Callable[[Tensor], Tensor]  # v [B, K, h, w] -> W v [B, K, h, w]


# --------------------------------------------------------------------------------------------- seeds

def partial_ce(logits: Tensor, labels: Tensor) -> Tensor:
    """Eq. 1 averaged over the labelled pixels of the whole batch.

    Args:
        logits: ``[B, 2, H, W]`` (channel 0 background, 1 foreground).
        labels: ``[B, H, W]`` long in {0, 1, ``IGNORE``}.

    Returns a scalar; 0 (still attached to the graph) when nothing is labelled.
    """
    if logits.ndim != 4 or labels.shape != (logits.shape[0], *logits.shape[2:]):
        raise ValueError(f"{_WHERE}: partial_ce needs logits [B, K, H, W] and labels [B, H, W]; got "
                         f"{tuple(logits.shape)} and {tuple(labels.shape)}")
    labels = labels.long()
    valid = labels != IGNORE
    if bool(((labels < 0) | (labels >= logits.shape[1])).logical_and(valid).any()):
        raise ValueError(f"{_WHERE}: labels must be in 0..{logits.shape[1] - 1} or IGNORE={IGNORE}")
    n = int(valid.sum())
    if n == 0:
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), labels, ignore_index=IGNORE, reduction="sum") / n


# --------------------------------------------------------------------------------------------- CRF

class _CRFEnergy(torch.autograd.Function):
    """Energy ``mean_b sum_r S_r^T W (1 - S_r)`` for a symmetric W given as a filter ``v -> W v``."""

    @staticmethod
    def forward(ctx, probs: Tensor, filt: Filter) -> Tensor:
        b = probs.shape[0]
        with torch.no_grad():
            ones = torch.ones_like(probs[:, :1])
            # two classes from a softmax: W S^0 = W 1 - W S^1, one channel less to filter
            if probs.shape[1] == 2 and bool(((probs.sum(1) - 1.0).abs() < 1e-4).all()):
                wv = filt(torch.cat([probs[:, 1:], ones], dim=1))
                w1 = wv[:, 1:]
                ws = torch.cat([w1 - wv[:, :1], wv[:, :1]], dim=1)
            else:
                wv = filt(torch.cat([probs, ones], dim=1))
                ws, w1 = wv[:, :-1], wv[:, -1:]
            energy = (probs * (w1 - ws)).sum() / b
        ctx.save_for_backward(ws, w1)
        ctx.batch = b
        return energy

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        ws, w1 = ctx.saved_tensors
        return grad_out * (w1 - 2.0 * ws) / ctx.batch, None


def window_filter(image: Tensor, sigma_rgb: float, sigma_xy: float, radius: int) -> Filter:
    """``v -> W v`` with W the Gaussian kernel truncated to a ``(2r+1)^2`` window (pixels of ``image``)."""
    # colours pre-divided by sqrt(2) sigma_rgb: the squared difference is then the exponent itself
    img = image.detach().float() / (math.sqrt(2.0) * sigma_rgb)
    h, w = img.shape[-2:]
    inv_xy = 1.0 / (2.0 * sigma_xy ** 2)

    def apply(v: Tensor) -> Tensor:
        im = img.to(v.dtype)
        out = v.clone()  # offset (0, 0): W_ii = 1
        # scratch buffers reused for every offset: fresh allocations here cost more than the arithmetic
        diff = torch.empty_like(im)
        kern = torch.empty_like(im[:, :1])
        for dy in range(0, radius + 1):
            for dx in range(-radius, radius + 1):
                if (dy == 0 and dx <= 0) or dy >= h or abs(dx) >= w:
                    continue  # each unordered pair once; the mirrored offset is added below
                yp, yq = slice(0, h - dy), slice(dy, h)
                xp, xq = slice(max(0, -dx), w - max(0, dx)), slice(max(0, dx), w + min(0, dx))
                d = diff[:, :, : h - dy, : w - abs(dx)]
                k = kern[:, :, : h - dy, : w - abs(dx)]
                torch.sub(im[:, :, yp, xp], im[:, :, yq, xq], out=d).square_()
                torch.add(d[:, 0:1], d[:, 1:2], out=k).add_(d[:, 2:3]).neg_().exp_()  # colour term
                spatial = math.exp(-(dy * dy + dx * dx) * inv_xy)                     # a constant per offset
                out[:, :, yp, xp].addcmul_(k, v[:, :, yq, xq], value=spatial)
                out[:, :, yq, xq].addcmul_(k, v[:, :, yp, xp], value=spatial)
        return out

    return apply


def dense_filter(image: Tensor, sigma_rgb: float, sigma_xy: float, chunk: int = 4096,
                 columns: int | None = None, generator: torch.Generator | None = None) -> Filter:
    """``v -> W v`` with the exact dense Gaussian kernel, built ``chunk`` rows at a time.

    ``columns``: if set and smaller than N, estimate ``W v`` from that many random columns j (scaled by
    N / columns) - unbiased, for calibrating at sizes where N^2 is too much. Deterministic with ``generator``.
    """
    img = image.detach().float()
    b, _, h, w = img.shape
    n = h * w
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32, device=img.device),
                            torch.arange(w, dtype=torch.float32, device=img.device), indexing="ij")
    pos = torch.stack([xs.reshape(-1), ys.reshape(-1)], 1) / sigma_xy            # [N, 2]
    feats = [torch.cat([pos, img[i].reshape(3, -1).T / sigma_rgb], 1) for i in range(b)]  # [N, 5] each
    cols = None
    if columns is not None and columns < n:
        cols = torch.randperm(n, generator=generator)[:columns].to(img.device)

    def apply(v: Tensor) -> Tensor:
        k = v.shape[1]
        out = torch.empty_like(v)
        for i in range(b):
            f = feats[i].to(v.dtype)
            vi = v[i].reshape(k, -1).T                                            # [N, K]
            fc, vc, gain = (f, vi, 1.0) if cols is None else (f[cols], vi[cols], n / cols.numel())
            fc2 = fc.square().sum(1)
            res = torch.empty(n, k, dtype=v.dtype, device=v.device)
            for s in range(0, n, chunk):
                fr = f[s:s + chunk]
                d2 = (fr.square().sum(1)[:, None] + fc2[None, :] - 2.0 * fr @ fc.T).clamp_min(0.0)
                res[s:s + chunk] = torch.exp(-0.5 * d2) @ vc
            out[i] = (res * gain).T.reshape(k, h, w)
        return out

    return apply


def _check_crf_inputs(probs: Tensor, image: Tensor) -> None:
    if probs.ndim != 4 or image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"{_WHERE}: CRF loss needs probs [B, K, H, W] and image [B, 3, H, W]; got "
                         f"{tuple(probs.shape)} and {tuple(image.shape)}")
    if probs.shape[0] != image.shape[0] or probs.shape[-2:] != image.shape[-2:]:
        raise ValueError(f"{_WHERE}: probs {tuple(probs.shape)} and image {tuple(image.shape)} must share "
                         f"batch and H x W (resize the image to the decoder's output first)")


def _as_float(x: Tensor) -> Tensor:
    """float32 for half/bfloat16 inputs (the kernel sums are long); float64 stays float64."""
    return x if x.dtype == torch.float64 else x.float()


def _rescale(probs: Tensor, image: Tensor, scale: float) -> tuple[Tensor, Tensor, float]:
    """Average-pool probs and image by ``scale``; returns them and the exact spatial factor used."""
    if scale == 1.0:
        return probs, image, 1.0
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"{_WHERE}: CRF scale must be in (0, 1], got {scale}")
    h, w = probs.shape[-2:]
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    # 'area' = average pooling: every full-resolution pixel gets gradient (bilinear would skip some)
    return (F.interpolate(probs, size=size, mode="area"), F.interpolate(image.float(), size=size, mode="area"),
            size[0] / h)


def crf_loss(probs: Tensor, image: Tensor, sigma_rgb: float = 15.0, sigma_xy: float = 100.0,
             scale: float = 0.5, radius: int = 5) -> Tensor:
    """Eq. 3 with a local-window kernel at reduced resolution (see module doc).

    Args:
        probs: ``[B, K, H, W]`` softmax probabilities (K = 2: background, foreground).
        image: ``[B, 3, H, W]`` RGB in 0..255, same H x W as ``probs``.
        sigma_rgb: colour bandwidth (0..255 units). sigma_xy: spatial bandwidth in full-resolution pixels.
        scale: resolution factor at which the kernel is applied. radius: window radius at that scale.

    Returns the energy summed over pixel pairs, averaged over the batch (not yet weighted).
    """
    _check_crf_inputs(probs, image)
    if radius < 1:
        raise ValueError(f"{_WHERE}: CRF window radius must be >= 1, got {radius}")
    p, img, f = _rescale(probs, image, scale)
    return _CRFEnergy.apply(_as_float(p), window_filter(img, sigma_rgb, sigma_xy * f, radius))


def crf_loss_dense(probs: Tensor, image: Tensor, sigma_rgb: float = 15.0, sigma_xy: float = 100.0,
                   scale: float = 1.0, chunk: int = 4096) -> Tensor:
    """Eq. 3 with the exact dense kernel over all pixel pairs (reference; O(N^2) time, O(chunk N) memory)."""
    _check_crf_inputs(probs, image)
    p, img, f = _rescale(probs, image, scale)
    return _CRFEnergy.apply(_as_float(p), dense_filter(img, sigma_rgb, sigma_xy * f, chunk=chunk))


def crf_weight_for(logits: Tensor, image: Tensor, sigma_rgb: float = 15.0, sigma_xy: float = 100.0,
                   scale: float = 0.5, radius: int = 5, ref_weight: float = 2e-9, ref_columns: int | None = 8192,
                   generator: torch.Generator | None = None) -> Tensor:
    """Per-image ``lambda`` making the window CRF's gradient match the reference's (see module doc).

    ``lambda_b = ref_weight * |d R_dense / d z_b| / |d R_window / d z_b|``, gradients w.r.t. logits ``z`` of
    image b; the dense kernel runs at full resolution with ``sigma_xy`` (reference: scale 1). ``ref_columns``
    limits the dense side to that many random columns (None = exact).
    """
    z = logits.detach().float().clone().requires_grad_(True)
    probs = torch.softmax(z, 1)
    win = crf_loss(probs, image, sigma_rgb, sigma_xy, scale, radius)
    (g_win,) = torch.autograd.grad(win, z)
    z2 = logits.detach().float().clone().requires_grad_(True)
    probs2 = torch.softmax(z2, 1)
    _check_crf_inputs(probs2, image)
    filt = dense_filter(image.float(), sigma_rgb, sigma_xy, columns=ref_columns, generator=generator)
    (g_ref,) = torch.autograd.grad(_CRFEnergy.apply(probs2, filt), z2)
    n_ref = g_ref.flatten(1).norm(dim=1)
    n_win = g_win.flatten(1).norm(dim=1).clamp_min(1e-30)
    return ref_weight * n_ref / n_win


# --------------------------------------------------------------------------------------------- L_CLS

def cls_loss(image: Tensor, fg_prob: Tensor, targets: Tensor, classifier: Callable[[Tensor], Tensor]) -> Tensor:
    """Workshop L_CLS: cross-entropy of a frozen classifier on ``image * S^1`` (the foreground map).

    Args:
        image: ``[B, 3, H, W]`` as the classifier expects it (normalised).
        fg_prob: ``[B, H, W]`` foreground probability S^1 (resized bilinearly to the image if needed).
        targets: ``[B]`` long image classes.
        classifier: frozen module/callable returning logits ``[B, classes]``; only S^1 gets gradient
            through it (freeze its parameters; this function does not).
    """
    if fg_prob.ndim != 3:
        raise ValueError(f"{_WHERE}: fg_prob must be [B, H, W], got {tuple(fg_prob.shape)}")
    m = fg_prob[:, None]
    if m.shape[-2:] != image.shape[-2:]:
        m = F.interpolate(m, size=image.shape[-2:], mode="bilinear", align_corners=False)
    return F.cross_entropy(classifier(image * m), targets.long())


# --------------------------------------------------------------------------------------------- Eq. 4

@dataclass
class LossConfig:
    lambda_seed: float = TrainConfig.lambda_seed  # lambda_1 of Eq. 4 (partial CE), 1.0; workshop ILSVRC run: 0.384
    lambda_crf: float = LAMBDA_CRF_CALIBRATED  # lambda_2 of Eq. 4: 1.45e-6, the reference's 2e-9 recalibrated for
                                  # the window CRF at scale 0.5, r 5, 448 px (see module doc; rescale for others)
    lambda_cls: float = 0.0       # workshop L_CLS weight (0.669 in the authors' ILSVRC run); U-Net only
    use_seed: bool = True
    use_crf: bool = True
    use_cls: bool = False
    crf_sigma_rgb: float = 15.0   # colour bandwidth, 0..255 units (reference)
    crf_sigma_xy: float = 100.0   # spatial bandwidth, full-resolution pixels (reference; bounded by the window)
    crf_scale: float = 0.5        # resolution at which the CRF runs (448 -> 224)
    crf_radius: int = 5           # window radius, pixels at crf_scale


def dips_loss(logits: Tensor, labels: Tensor, image: Tensor, cfg: LossConfig,
              classifier: Callable[[Tensor], Tensor] | None = None, targets: Tensor | None = None,
              cls_image: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
    """Total loss of the localization head (Eq. 4, plus L_CLS for the U-Net variant).

    Args:
        logits: ``[B, 2, H, W]`` decoder output. labels: ``[B, H, W]`` pseudo-labels (``IGNORE`` = none).
        image: ``[B, 3, H, W]`` RGB 0..255 at the same H x W (for the CRF).
        cfg: weights and switches. classifier, targets: frozen classifier and ``[B]`` classes for L_CLS.
        cls_image: the classifier's (normalised) input; defaults to ``image``.

    Returns ``(total, parts)`` where ``parts`` holds the weighted terms that are switched on ('seed', 'crf',
    'cls') and 'total', as floats for the progress display.
    """
    terms: dict[str, Tensor] = {}
    if cfg.use_seed:
        terms["seed"] = cfg.lambda_seed * partial_ce(logits, labels)
    probs = torch.softmax(logits.float(), dim=1)
    if cfg.use_crf:
        terms["crf"] = cfg.lambda_crf * crf_loss(probs, image, cfg.crf_sigma_rgb, cfg.crf_sigma_xy,
                                                 cfg.crf_scale, cfg.crf_radius)
    if cfg.use_cls:
        if classifier is None or targets is None:
            raise ValueError(f"{_WHERE}: use_cls needs a classifier and the image classes (targets)")
        terms["cls"] = cfg.lambda_cls * cls_loss(image if cls_image is None else cls_image, probs[:, 1],
                                                 targets, classifier)
    if not terms:
        raise ValueError(f"{_WHERE}: every loss term is switched off (use_seed, use_crf, use_cls)")
    values = list(terms.values())
    total = values[0]
    for v in values[1:]:
        total = total + v
    parts = {k: float(v.detach()) for k, v in terms.items()}
    parts["total"] = float(total.detach())
    return total, parts


__all__ = ["IGNORE", "LossConfig", "partial_ce", "crf_loss", "crf_loss_dense", "crf_weight_for", "cls_loss",
           "dips_loss", "window_filter", "dense_filter"]
