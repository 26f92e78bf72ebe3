"""Head training with cached encoder outputs vs recomputing the frozen ViT every step.

Run from the repository root:  .venv/bin/python bench/bench_feature_cache.py [--batch 8] [--size 448] [--reps 3]

Same batch, same resolution, same localization head and loss. 'recompute' is what the
authors' code does: the frozen DINO forward runs on every batch. 'cached' reads the
float16 tokens this project stores once per image (core/train/feature_cache.py).
Times are the minimum over ``reps`` steps after a warm-up (least disturbed on a shared machine).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import torch

from core.dips.backbones import load_backbone
from core.dips.heads import build_localizer
from core.train.config import TrainConfig, head_config
from core.train.data import Batch, TrainSample, make_batch
from core.train.feature_cache import FeatureCache
from core.train.loop import loss_config, sampling_config
from core.train.step import localizer_step


def best_of(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--widths", default="", help="decoder widths, e.g. 96,48 (default: the journal's)")
    ap.add_argument("--reduce", type=int, default=None, help="decoder 1x1 token projection R (default: the app's)")
    a = ap.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    torch.manual_seed(0)
    cfg = TrainConfig()
    if a.widths:
        cfg.decoder_widths = [int(v) for v in a.widths.split(",")]
    if a.reduce is not None:
        cfg.decoder_reduce = a.reduce or None  # 0 = no projection
    backbone = load_backbone("dinov2_s14")
    images = torch.rand(a.batch, 3, a.size, a.size)
    model = build_localizer(head_config(cfg), backbone.embed_dim)   # the app's default f_l
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    lcfg, scfg, dev = loss_config(cfg), sampling_config(cfg), torch.device("cpu")

    with tempfile.TemporaryDirectory() as tmp:
        cache = FeatureCache(Path(tmp), "bench")
        with torch.inference_mode():
            f = backbone.features(images)
        gh = f.patch_tokens.shape[-1]
        samples = []
        for i in range(a.batch):
            rgb = (np.random.rand(3, cfg.train_res, cfg.train_res) * 255).astype(np.uint8)
            cache.put(f"img{i}", f.patch_tokens[i].numpy(), f.cls_tokens[i].numpy(), rgb)
            maps = np.random.rand(2, gh, gh).astype(np.float32)
            samples.append(TrainSample(f"img{i}", 0, maps, [((0.3, 0.3, 0.6, 0.7), 1)], [(0.3, 0.3, 0.6, 0.7)]))

        def step(batch: Batch) -> None:
            loss, _ = localizer_step(model, batch, lcfg, dev)
            opt.zero_grad()
            loss.backward()
            opt.step()

        def cached() -> None:
            gen = torch.Generator().manual_seed(0)
            step(make_batch(samples, cache, [False] * a.batch, cfg.train_res, scfg, gen))

        def recompute() -> None:
            gen = torch.Generator().manual_seed(0)
            batch = make_batch(samples, cache, [False] * a.batch, cfg.train_res, scfg, gen)
            with torch.no_grad():
                batch.tokens = backbone.features(images).patch_tokens  # the frozen ViT, every step
            step(batch)

        def read_cache() -> None:
            make_batch(samples, cache, [False] * a.batch, cfg.train_res, scfg, torch.Generator().manual_seed(0))

        def encode() -> None:
            with torch.no_grad():
                backbone.features(images)

        t_cached = best_of(cached, a.reps)
        t_recompute = best_of(recompute, a.reps)
        t_read = best_of(read_cache, a.reps)
        t_vit = best_of(encode, a.reps)

    dec = model.blocks
    widths = [b[1].out_channels for b in dec]
    print(f"batch {a.batch}, input {a.size}px, labels {cfg.train_res}px, decoder: 1x1 projection to "
          f"{cfg.decoder_reduce or 'none'}, block widths {widths}, {torch.get_num_threads()} threads")
    print(f"recompute ViT every step : {t_recompute:7.3f} s/step")
    print(f"cached encoder outputs   : {t_cached:7.3f} s/step")
    print(f"speed-up                 : {t_recompute / t_cached:7.1f}x")
    print(f"encoder part of a step   : ViT {t_vit:.3f} s vs cache read + pseudo-labels {t_read:.3f} s "
          f"-> {t_vit / t_read:.0f}x; head + loss + backward {t_cached - t_read:.3f} s")

if __name__ == "__main__":
    main()
