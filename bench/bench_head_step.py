"""Localization-head training step: full-resolution token decoder vs half resolution + bilinear upsample.

Run from the repository root:  .venv/bin/python bench/bench_head_step.py  [--reps N] [--device cpu|cuda:0]

One step = decoder forward on cached tokens [8, 384, 32, 32] (448 px input, patch 14), output 448x448,
partial CE on sampled pseudo-labels (+ optionally the window CRF at scale 0.5), backward, SGD step.
Times are the minimum over ``reps`` steps after one warm-up (the minimum is the least disturbed by other
processes on a shared machine). Also prints parameters and multiply-accumulates (conv layers only) next to
the journal's 1.616 M parameters / 2.396 GMACs for both heads at 224 px.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch
import torch.nn as nn

from core.dips.heads import ClassificationHead, TokenDecoder, count_params
from core.dips.losses import LossConfig, dips_loss
from core.dips.sampling import SamplingConfig, sample_batch


def conv_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-accumulates of the Conv2d / Linear layers for one forward of ``x``."""
    total = 0

    def hook(m: nn.Module, _inp, out) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total += out.numel() * m.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    return total


def time_step(dec: nn.Module, tokens: torch.Tensor, labels: torch.Tensor, image: torch.Tensor,
              use_crf: bool, reps: int) -> float:
    opt = torch.optim.SGD(dec.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    cfg = LossConfig(use_crf=use_crf)
    best = float("inf")
    for i in range(reps + 1):
        t0 = time.perf_counter()
        loss, _ = dips_loss(dec(tokens), labels, image, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if tokens.device.type == "cuda":
            torch.cuda.synchronize(tokens.device)
        if i > 0:  # first step is warm-up
            best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    b, c, grid, size = args.batch, 384, 32, 448

    tokens = torch.randn(b, c, grid, grid, device=dev)
    image = 255 * torch.rand(b, 3, size, size, device=dev)
    attn = torch.rand(b, size, size)
    pools = [torch.tensor([[100.0, 120.0, 300.0, 340.0]])] * b
    labels = sample_batch(attn, pools, pools, SamplingConfig(), torch.Generator().manual_seed(0)).to(dev)

    full = TokenDecoder(c, n_up=4, out_size=size).to(dev)
    half = TokenDecoder(c, n_up=4, out_size=size, half_res=True).to(dev)
    f_c = ClassificationHead(c, num_classes=200, n_blocks=4)

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {dev}, batch {b}, "
          f"tokens {c}x{grid}x{grid} -> {size}x{size}")
    print("\nsize and cost (per image)")
    print(f"{'':<28}{'params':>12}{'GMACs @224':>12}{'GMACs @448':>12}")
    for name, dec in (("decoder full resolution", full), ("decoder half res + upsample", half)):
        m224 = conv_macs(TokenDecoder(c, n_up=4, half_res=dec.half_res).eval(), torch.randn(1, c, 14, 14))
        m448 = conv_macs(dec.eval(), tokens[:1])
        print(f"{name:<28}{count_params(dec):>12,}{m224 / 1e9:>12.3f}{m448 / 1e9:>12.3f}")
    journal = TokenDecoder(c, n_up=4, widths=(192, 96, 48, 2))
    jm = conv_macs(journal.eval(), torch.randn(1, c, 14, 14))
    print(f"{'journal layout (->2 ch)':<28}{count_params(journal):>12,}{jm / 1e9:>12.3f}{'':>12}")
    print(f"{'f_c, 4 CLS tokens, 200 cls':<28}{count_params(f_c):>12,}")
    print(f"{'journal, both heads':<28}{'1,616,000':>12}{'2.396':>12}")

    print(f"\ntraining step time (min of {args.reps}), seconds per batch of {b}")
    print(f"{'loss':<24}{'full res':>12}{'half res':>12}{'full / half':>13}")
    for use_crf in (False, True):
        full.train()
        half.train()
        t_full = time_step(full, tokens, labels, image, use_crf, args.reps)
        t_half = time_step(half, tokens, labels, image, use_crf, args.reps)
        name = "partial CE + CRF(0.5,r5)" if use_crf else "partial CE"
        print(f"{name:<24}{t_full:>12.3f}{t_half:>12.3f}{t_full / t_half:>13.2f}")


if __name__ == "__main__":
    main()
