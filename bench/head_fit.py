"""Can the localization head fit what it is taught? f_l trained on a project's cached tokens, scored as it learns.

Run from the repository root (nice it on a shared machine; a project with attention computed and the feature cache
filled by one training run):
    .venv/bin/python bench/head_fit.py PROJECT [--labels gt|weak] [--head decoder|linear|unet] [--steps 400]
                                       [--eval-every 80] [--crf 1] [--seed 0] [--gt-train FILE] [--gt-eval FILE]

The app trains f_l for a fixed number of epochs on pseudo labels and judges it once. This bench trains the same
head (``core.dips.heads.build_localizer`` with the project's settings; or ``linear``, one 1x1 conv on the tokens,
the probe of what the frozen tokens separate; or ``unet``, the workshop paper's U-Net on the cached RGB copy, its
encoder started from the shipped ImageNet EfficientNet-Lite0, without the workshop's L_CLS term) with the app's
optimiser and schedule (SGD, the lr decayed by ``lr_gamma`` half-way; or ``--optimizer adamw``) and loss
(``core.dips.losses.dips_loss``, with or without the CRF term), on the train split with horizontal flips, and
every ``--eval-every`` steps scores its maps:

* ``--labels gt``: the ground-truth boxes as the app teaches curated boxes (``curated_pixel_labels``:
  ``n+ x curated_weight`` pixels inside, ``n- x curated_weight`` outside every box; object-free images
  ``n- x curated_weight`` background pixels), from the project's ground truth or ``--gt-train`` (COCO, e.g. the
  every-visible-crown file of bench/gt_completeness.py): the fully supervised head, the oracle of bench/ceilings.py;
* ``--labels weak``: the app's own pseudo labels (``core.train.data.make_batch`` over the project's proposals):
  what ``train`` does, for a curve of quality against steps.

Scores, per image set (the train split's object images; train + val; val + test), against the project's ground
truth and ``--gt-eval`` if given: MaxBoxAccV2 and MaxBoxAcc at IoU 50 (``core.eval.evaluate_maps``, the app's
evaluation), and the pixel IoU of the map at 0.5 with the union of the boxes (how well the head separates box
pixels from the rest, whatever the box drawing does). The test split is scored only to compare with the oracle of
bench/ceilings.py; nothing is chosen on it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gt_completeness import covered as box_mask
from bench.real_aerial import ground_truth
from core.dips.heads import build_localizer
from core.dips.losses import dips_loss
from core.dips.sampling import IGNORE, curated_pixel_labels
from core.eval import EvalConfig, evaluate_maps
from core.pipeline.config import load_config
from core.pipeline.encoding import feature_cache
from core.pipeline.train_stage import build_samples
from core.store.project import Project, ProjectError
from core.train.config import head_config
from core.train.data import make_batch
from core.train.loop import init_unet_encoder, loss_config, sampling_config
from core.train.step import localizer_inputs

SETS = {"train": ("train",), "trainval": ("train", "val"), "valtest": ("val", "test")}


def coco_boxes(path: Path, records) -> dict[int, np.ndarray]:
    """Image id -> ``[K, 4]`` xyxy image pixels from a COCO file whose ``file_name`` is the image's path in the
    project (``CLASS/NAME.png``). Raises SystemExit naming a file the project does not hold."""
    coco = json.loads(Path(path).read_text())
    by_path = {r.rel_path: r.id for r in records}
    ids = {}
    for im in coco["images"]:
        if im["file_name"] not in by_path:
            raise SystemExit(f"{path}: {im['file_name']} is not an image of the project")
        ids[im["id"]] = by_path[im["file_name"]]
    out: dict[int, list] = {}
    for ann in coco["annotations"]:
        x, y, w, h = ann["bbox"]
        out.setdefault(ids[ann["image_id"]], []).append([x, y, x + w, y + h])
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def pixel_iou(fg: np.ndarray, mask: np.ndarray, tau: float = 0.5) -> float:
    """IoU of ``fg > tau`` with ``mask`` (both ``[h, w]``); 1.0 when both are empty."""
    pred = fg > tau
    union = (pred | mask).sum()
    return float((pred & mask).sum() / union) if union else 1.0


def gt_labels(boxes: np.ndarray, res: int, n_pos: int, n_neg: int, gen: torch.Generator) -> torch.Tensor:
    """``[res, res]`` labels from ground-truth boxes (``res``-grid pixels) as the app labels curated boxes; an image
    without boxes gets ``n_neg`` background pixels drawn uniformly."""
    if len(boxes) == 0:
        labels = torch.full((res * res,), IGNORE, dtype=torch.long)
        labels[torch.randperm(res * res, generator=gen)[:n_neg]] = 0
        return labels.reshape(res, res)
    return curated_pixel_labels(torch.as_tensor(boxes, dtype=torch.float32), res, res, n_pos, n_neg, gen)


def on_grid(boxes: np.ndarray, rec, res: int, flip: bool) -> np.ndarray:
    """Image-pixel boxes of ``rec`` on the ``res`` x ``res`` training grid, mirrored when the image is."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) / [rec.width, rec.height, rec.width, rec.height]
    if flip:
        b = np.stack([1 - b[:, 2], b[:, 1], 1 - b[:, 0], b[:, 3]], 1)
    return b * res


def trainable(project_path: Path, records, cache) -> list:
    """The train split's images whose tokens the feature cache holds in both orientations (the bench flips them).
    Raises SystemExit saying what to run when there are none (a project never trained: the cache is filled by
    training)."""
    train = [r for r in records if r.split == "train" and cache.has(r.content_hash)
             and cache.has(r.content_hash, flipped=True)]
    if not train:
        raise SystemExit(f"{project_path}: no training image has cached features (as is and flipped), which this "
                         f"bench trains on: run 'main.py train {project_path}' once to fill the cache")
    return train


class LinearProbe(nn.Module):
    """One 1x1 conv from the tokens to two logits, upsampled bilinearly: what the frozen tokens separate alone."""

    def __init__(self, embed_dim: int, res: int):
        super().__init__()
        self.conv, self.res = nn.Conv2d(embed_dim, 2, 1), res

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.conv(tokens), size=(self.res, self.res), mode="bilinear", align_corners=False)


def parser() -> argparse.ArgumentParser:
    """The bench's options, each with what it does and its default (``--help``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("project", type=Path, help="project file (.dips) with attention computed and the feature cache "
                                               "filled by one training run")
    ap.add_argument("--labels", choices=("gt", "weak"), default="gt",
                    help="gt: teach the project's ground-truth boxes (or --gt-train) as curated boxes are taught; "
                         "weak: the app's own pseudo labels from the project's proposals (default: %(default)s)")
    ap.add_argument("--head", choices=("decoder", "linear", "unet"), default="decoder",
                    help="decoder: the app's localization head with the project's settings; linear: one 1x1 conv "
                         "on the tokens (what the frozen tokens separate alone); unet: the workshop U-Net on the "
                         "image's RGB, ImageNet encoder, no L_CLS term (default: %(default)s)")
    ap.add_argument("--steps", type=int, default=400,
                    help="training steps, batches of the project's batch size (default: %(default)s)")
    ap.add_argument("--eval-every", type=int, default=80,
                    help="score the maps every N steps (and after the last); one JSON line per score "
                         "(default: %(default)s)")
    ap.add_argument("--crf", type=int, choices=(0, 1), default=1,
                    help="1: train with the CRF term, as the app does; 0: without (default: %(default)s)")
    ap.add_argument("--optimizer", choices=("app", "adamw"), default="app",
                    help="app: the app's SGD and step decay; adamw: AdamW, lr 1e-3, cosine decay, for the linear "
                         "probe (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of the model's start, the batches and the flips (default: %(default)s)")
    ap.add_argument("--gt-train", type=Path, help="COCO boxes to train on with --labels gt (default: the project's GT)")
    ap.add_argument("--gt-eval", type=Path, help="COCO boxes to score against as well")
    ap.add_argument("--json", type=Path, help="append the curve as one JSON line to this file")
    return ap


def main() -> None:  # noqa: C901 - one experiment, its steps in order
    ap = parser()
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    try:
        project = Project.open(a.project)
    except ProjectError as exc:
        raise SystemExit(f"error: {exc}") from None
    cfg = load_config(project)
    cache = feature_cache(project, cfg)
    records = project.images.list()
    res = cfg.train.train_res
    truths = {"gt": ground_truth(project)}
    if a.gt_eval:
        truths[a.gt_eval.stem] = coco_boxes(a.gt_eval, records)
    teach = coco_boxes(a.gt_train, records) if a.gt_train else truths["gt"]
    train = trainable(a.project, records, cache)
    samples = build_samples(project, cfg, train) if a.labels == "weak" else []
    if a.labels == "weak":
        keys = {s.key for s in samples}
        train = [r for r in train if r.content_hash in keys]
        if not train:
            raise SystemExit(f"{a.project}: no training image has proposals to draw pseudo labels from "
                             "(--labels weak): run 'main.py proposals' first, or use --labels gt")
    sets = {name: [r for r in records if r.split in splits and r.id in truths["gt"] and cache.has(r.content_hash)]
            for name, splits in SETS.items()}
    embed_dim = int(np.asarray(cache.get(train[0].content_hash).tokens).shape[0])
    model = (LinearProbe(embed_dim, res) if a.head == "linear"
             else build_localizer(replace(head_config(cfg.train), decoder="unet") if a.head == "unet"
                                  else head_config(cfg.train), embed_dim))
    if a.head == "unet":
        init_unet_encoder(model)
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    if a.optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.steps)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=cfg.train.lr, momentum=cfg.train.momentum,
                              nesterov=cfg.train.nesterov, weight_decay=cfg.train.weight_decay)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, a.steps // 2), gamma=cfg.train.lr_gamma)
    lcfg = replace(loss_config(cfg.train), use_crf=bool(a.crf))
    scfg = sampling_config(cfg.train)
    n_pos, n_neg = (int(round(n * cfg.train.curated_weight)) for n in (cfg.train.n_pos, cfg.train.n_neg))

    def tokens_rgb(rec, flip):
        f = cache.get(rec.content_hash, flipped=flip)
        rgb = torch.from_numpy(np.array(f.rgb, dtype=np.float32))
        if rgb.shape[-1] != res:
            rgb = F.interpolate(rgb[None], size=(res, res), mode="bilinear", align_corners=False)[0]
        return torch.from_numpy(np.array(f.tokens, dtype=np.float32)), rgb

    @torch.no_grad()
    def score(step: int) -> dict:
        model.eval()
        out: dict = {"step": step}
        for name, recs in sets.items():
            maps: list[np.ndarray] = []
            for i in range(0, len(recs), 16):
                pairs = [tokens_rgb(r, False) for r in recs[i:i + 16]]
                toks, rgb = torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])
                logits = model(localizer_inputs(model, toks, rgb)).float()
                if logits.shape[-1] != res:
                    logits = F.interpolate(logits, size=(res, res), mode="bilinear", align_corners=False)
                maps.extend(torch.softmax(logits, 1)[:, 1].numpy())
            for tname, truth in truths.items():
                gts = [truth.get(r.id, np.zeros((0, 4))) for r in recs]
                rep = evaluate_maps(maps, gts, [(r.width, r.height) for r in recs], EvalConfig(),
                                    map_type="predicted")
                px = np.mean([pixel_iou(m, box_mask(on_grid(g, r, res, False), res))
                              for m, g, r in zip(maps, gts, recs, strict=True)])
                out[f"{name}/{tname}"] = {"MaxBoxAccV2": round(rep.max_box_acc_v2, 1),
                                          "MaxBoxAcc50": round(rep.max_box_acc[50], 1),
                                          "pixel_iou": round(float(px) * 100, 1)}
        model.train()
        print(json.dumps(out), flush=True)
        return out

    gen = torch.Generator().manual_seed(a.seed)
    curve, step, t0 = [], 0, time.monotonic()
    model.train()
    while step < a.steps:
        perm = torch.randperm(len(train), generator=gen).tolist()
        for i in range(0, len(train), cfg.train.batch_size):
            if step >= a.steps:
                break
            idx = perm[i:i + cfg.train.batch_size]
            flips = (torch.rand(len(idx), generator=gen) < 0.5).tolist()
            if a.labels == "weak":
                batch = make_batch([samples[j] for j in idx], cache, flips, res, scfg, gen)
                toks, rgb, labels = batch.tokens, batch.rgb, batch.labels
            else:
                pairs = [tokens_rgb(train[j], fl) for j, fl in zip(idx, flips, strict=True)]
                toks, rgb = torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])
                labels = torch.stack([gt_labels(on_grid(teach.get(train[j].id, np.zeros((0, 4))), train[j], res, fl),
                                                res, n_pos, n_neg, gen) for j, fl in zip(idx, flips, strict=True)])
            logits = model(localizer_inputs(model, toks, rgb)).float()
            if logits.shape[-1] != res:
                logits = F.interpolate(logits, size=(res, res), mode="bilinear", align_corners=False)
            loss, _ = dips_loss(logits, labels, rgb, lcfg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % a.eval_every == 0 or step == a.steps:
                curve.append(score(step))
    print(f"{a.steps} steps in {(time.monotonic() - t0) / 60:.1f} min")
    if a.json:
        with a.json.open("a") as fh:
            fh.write(json.dumps({"command": " ".join(sys.argv), "curve": curve}) + "\n")


if __name__ == "__main__":
    main()
