"""Benchmark: batched proposal scoring vs one box at a time, and throughput of the proposal stage.

Scorer stand-in: the one the pipeline uses for drone data - a ViT-S/14 at 224 (timm
``vit_small_patch14_dinov2``, random weights, nothing downloaded) whose CLS tokens of the last
4 blocks (4 x 384 = 1536 dims, as the authors' linear probe) feed a linear layer, then softmax.

Run: ``python bench/bench_proposal_scoring.py`` (add ``--device cuda:0`` on a GPU machine,
``--precision float32`` to force float32 where the app would use bfloat16).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.dips.device import fast_bf16, inference_autocast, pick_device
from core.dips.proposals import ProposalConfig, candidate_boxes, rank_proposals
from core.dips.scoring import score_boxes, score_boxes_one_by_one
from core.settings import PRECISIONS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ViTScorer(torch.nn.Module):
    """f_x stand-in: [N,3,224,224] in [0,1] -> [N,C] probabilities."""

    def __init__(self, num_classes: int = 2, img_size: int = 224, precision: str = "auto"):
        super().__init__()
        self.precision = precision
        import timm
        self.vit = timm.create_model("vit_small_patch14_dinov2", pretrained=False, img_size=img_size, num_classes=0)
        self.fc = torch.nn.Linear(4 * self.vit.num_features, num_classes)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with inference_autocast(x.device, self.precision):   # as core/pipeline/scorer.py does per call
            layers = self.vit.get_intermediate_layers((x - self.mean) / self.std, n=4,
                                                      return_prefix_tokens=True, norm=True)
        cls = torch.cat([prefix[:, 0].float() for _, prefix in layers], dim=1)
        return self.fc(cls).softmax(1)


def synthetic_image(rng: np.random.Generator, h: int, w: int) -> torch.Tensor:
    """Smooth random colour field with a few bright rectangles (RGB in [0,1], [3,h,w])."""
    coarse = torch.from_numpy(rng.random((1, 3, 6, 8)).astype(np.float32))
    img = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)[0]
    for _ in range(6):
        y, x = rng.integers(0, h - 40), rng.integers(0, w - 40)
        img[:, y:y + rng.integers(10, 40), x:x + rng.integers(10, 40)] = torch.from_numpy(
            rng.random(3).astype(np.float32))[:, None, None]
    return img.clamp(0, 1)


def synthetic_maps(rng: np.random.Generator, grid: int = 16, heads: int = 6) -> dict[int, np.ndarray]:
    """Mean + per-head attention-like maps at patch-grid resolution: a few Gaussian blobs per head."""
    yy, xx = np.mgrid[0:grid, 0:grid].astype(np.float32)
    maps = {}
    for h in range(heads):
        m = rng.random((grid, grid)).astype(np.float32) * 0.05
        for _ in range(rng.integers(2, 5)):
            cy, cx, s = rng.uniform(1, grid - 1), rng.uniform(1, grid - 1), rng.uniform(0.6, 1.6)
            m += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s)) * rng.uniform(0.5, 1.0)
        maps[h] = m
    maps[-1] = np.mean([maps[h] for h in range(heads)], axis=0)
    return maps


def random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.uniform(0.0, 0.75, (n, 2))
    wh = rng.uniform(0.05, 0.25, (n, 2))
    return np.concatenate([xy, np.minimum(xy + wh, 1.0)], axis=1)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="auto | cpu | cuda:0 | mps (default cpu)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--images", type=int, default=5)
    ap.add_argument("--boxes", type=int, default=18)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--precision", default="auto", choices=PRECISIONS,
                    help="scorer forward precision (auto = the app's choice for this device)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    cfg = ProposalConfig()
    scorer = ViTScorer(num_classes=2, precision=args.precision).eval().to(device)
    bf16 = args.precision == "bfloat16" or (args.precision == "auto" and fast_bf16(device))
    images = [synthetic_image(rng, 540, 960).to(device) for _ in range(args.images)]  # 16:9 drone frame
    boxes = [random_boxes(rng, args.boxes) for _ in range(args.images)]
    maps = [synthetic_maps(rng) for _ in range(args.images)]
    label = 1

    print(f"device {device}, torch threads {torch.get_num_threads()}, {args.images} images x {args.boxes} boxes, "
          f"scorer ViT-S/14 @ {cfg.scoring_size} + linear on 4 CLS tokens in {'bfloat16' if bf16 else 'float32'}, "
          f"blur sigma "
          f"{cfg.blur_sigma_frac * cfg.scoring_size:.1f} px")

    # warm-up outside the timings: allocator, and oneDNN's kernels, built once per batch shape
    score_boxes(images[0], boxes[0], label, scorer, cfg)
    score_boxes_one_by_one(images[0], boxes[0][:1], label, scorer, cfg)

    sync(device)
    t0 = time.perf_counter()
    batched = [score_boxes(im, b, label, scorer, cfg, args.batch_size) for im, b in zip(images, boxes, strict=True)]
    sync(device)
    t_batched = time.perf_counter() - t0

    t0 = time.perf_counter()
    naive = [score_boxes_one_by_one(im, b, label, scorer, cfg) for im, b in zip(images, boxes, strict=True)]
    sync(device)
    t_naive = time.perf_counter() - t0

    diff = max(float(np.abs(a - b).max()) for a, b in zip(batched, naive, strict=True))
    n_boxes = args.images * args.boxes
    for name, t in (("batched (per image):", t_batched), ("one box at a time:  ", t_naive)):
        print(f"scoring {n_boxes} boxes  {name} {t:7.2f} s  ({1e3 * t / n_boxes:6.1f} ms/box)")
    print(f"ratio one-by-one / batched: {t_naive / t_batched:.2f}x   max |score difference| {diff:.2e}")
    if bf16:   # the authors score in float32, one box at a time
        fp32 = ViTScorer(num_classes=2, precision="float32").eval().to(device)
        fp32.load_state_dict(scorer.state_dict())
        score_boxes_one_by_one(images[0], boxes[0][:1], label, fp32, cfg)
        t0 = time.perf_counter()
        naive32 = [score_boxes_one_by_one(im, b, label, fp32, cfg) for im, b in zip(images, boxes, strict=True)]
        sync(device)
        t_naive32 = time.perf_counter() - t0
        diff32 = max(float(np.abs(a - b).max()) for a, b in zip(batched, naive32, strict=True))
        print(f"scoring {n_boxes} boxes  one at a time, float32: {t_naive32:7.2f} s  "
              f"({1e3 * t_naive32 / n_boxes:6.1f} ms/box) -> batched bfloat16 is {t_naive32 / t_batched:.2f}x faster; "
              f"max |score difference| {diff32:.2e}")

    # ceiling for any batching gain: the classifier forward alone, batch 1 vs batch of one image's boxes
    x = torch.rand(args.boxes, 3, cfg.scoring_size, cfg.scoring_size, device=device)
    with torch.inference_mode():
        sync(device)
        t0 = time.perf_counter()
        for i in range(args.boxes):
            scorer(x[i:i + 1])
        sync(device)
        t1 = time.perf_counter()
        scorer(x)
        sync(device)
        t2 = time.perf_counter()
    print(f"forward only: batch 1 {1e3 * (t1 - t0) / args.boxes:6.1f} ms/box, batch {args.boxes} "
          f"{1e3 * (t2 - t1) / args.boxes:6.1f} ms/box -> forward ratio {(t1 - t0) / (t2 - t1):.2f}x")

    # whole proposal stage: candidates from the maps + batched scoring + ranking
    t_cand = t_score = t_rank = 0.0
    n_cands = []
    for im, m in zip(images, maps, strict=True):
        t0 = time.perf_counter()
        cands = candidate_boxes(m, cfg)
        t1 = time.perf_counter()
        probs = score_boxes(im, np.array([c.box for c in cands]), label, scorer, cfg, args.batch_size)
        sync(device)
        t2 = time.perf_counter()
        rank_proposals(cands, probs, cfg)
        t3 = time.perf_counter()
        t_cand, t_score, t_rank = t_cand + t1 - t0, t_score + t2 - t1, t_rank + t3 - t2
        n_cands.append(len(cands))
    total = t_cand + t_score + t_rank
    print(f"proposal stage: {args.images / total:.2f} images/s  ({np.mean(n_cands):.1f} candidates/image from "
          f"{len(maps[0])} maps; per image: candidates {1e3 * t_cand / args.images:.1f} ms, scoring "
          f"{1e3 * t_score / args.images:.0f} ms, ranking {1e3 * t_rank / args.images:.2f} ms)")

    # The whole scoring path against the authors' one: every Otsu component of mean + heads 0..3
    # (no de-duplication, no cap), each box scored alone at the SST's input size (448 for drone
    # data). Ours: de-duplicated and capped candidates of all maps, 224 px, one batch per image.
    authors = ProposalConfig(maps="mean+first4", dedupe_iou=1.01, max_boxes_per_image=10**6, max_area_frac=1.0,
                             scoring_size=448)
    big = ViTScorer(num_classes=2, img_size=448, precision="float32").eval().to(device)   # their float32
    n_img = min(2, args.images)
    t_ours = t_auth = 0.0
    n_ours = n_auth = 0
    for im, m in zip(images[:n_img], maps[:n_img], strict=True):
        t0 = time.perf_counter()
        cands = candidate_boxes(m, cfg)
        rank_proposals(cands, score_boxes(im, np.array([c.box for c in cands]), label, scorer, cfg,
                                          args.batch_size), cfg)
        sync(device)
        t1 = time.perf_counter()
        acands = candidate_boxes(m, authors)
        score_boxes_one_by_one(im, np.array([c.box for c in acands]), label, big, authors)
        sync(device)
        t2 = time.perf_counter()
        t_ours, t_auth = t_ours + t1 - t0, t_auth + t2 - t1
        n_ours, n_auth = n_ours + len(cands), n_auth + len(acands)
    print(f"scoring path per image: authors' (all {n_auth / n_img:.1f} boxes, one at a time, 448 px) "
          f"{t_auth / n_img:.2f} s; ours ({n_ours / n_img:.1f} de-duplicated boxes, batched, "
          f"{cfg.scoring_size} px) {t_ours / n_img:.2f} s -> {t_auth / t_ours:.1f}x")


if __name__ == "__main__":
    main()
