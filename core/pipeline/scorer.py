"""The external classifier f_x that scores proposals (paper Sec. 3.2).

Default, as the authors did for drone data: a linear layer on the concatenated CLS tokens
of the frozen SST's last 4 blocks, trained on the project's training split at the
scoring resolution. Cached beside the project, keyed by the training images it saw.
"""
from __future__ import annotations

import hashlib
from typing import Callable

import cv2
import numpy as np
import torch

from core.data.images import ImageReadError
from core.dips.heads import ClassificationHead
from core.pipeline.config import PipelineConfig
from core.pipeline.encoding import backbone_for, load_rgb
from core.progress import Progress
from core.store.repos.images import ImageFilter
from core.train.checkpoint import load_checkpoint, save_checkpoint
from core.train.config import TrainConfig
from core.train.loop import train_classifier


def class_index(project) -> dict[int, int]:
    """Project class id -> index used by every classifier (display order)."""
    return {c.id: i for i, c in enumerate(project.classes())}


def _cls_features(project, cfg: PipelineConfig, records, progress: Progress, stage: str) -> tuple[np.ndarray, list]:
    backbone = backbone_for(cfg)
    s = cfg.proposals.scoring_size
    device = next(backbone.parameters()).device
    feats, kept = [], []
    progress.start(stage, len(records))
    for i in range(0, len(records), 16):
        batch, recs = [], []
        for rec in records[i:i + 16]:
            try:
                img = load_rgb(project, rec, max_side=2 * s)
            except ImageReadError:
                continue
            batch.append(cv2.resize(img, (s, s), interpolation=cv2.INTER_AREA))
            recs.append(rec)
        if batch:
            x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float().div(255).to(device)
            with torch.inference_mode():
                feats.append(backbone.features(x).cls_tokens.float().cpu().numpy())
            kept += recs
        progress.update(min(i + 16, len(records)), len(records))
    return (np.concatenate(feats) if feats else np.zeros((0, 4, 1), np.float32)), kept


def get_scorer(project, cfg: PipelineConfig, progress: Progress) -> Callable[[torch.Tensor], torch.Tensor]:
    """classify(x [N,3,s,s] in [0,1]) -> probabilities [N, n_classes]."""
    backbone = backbone_for(cfg)
    device = next(backbone.parameters()).device
    index = class_index(project)
    train = [r for r in project.images.list(ImageFilter(split="train", include_missing=False))
             if r.class_id in index]
    digest = hashlib.sha1(("|".join(sorted(f"{r.content_hash}:{index[r.class_id]}" for r in train))
                           + cfg.backbone_key + str(cfg.proposals.scoring_size)).encode()).hexdigest()[:16]
    path = project.work_dir / f"scorer_{digest}.pt"
    head = None
    if path.is_file():
        state = load_checkpoint(path)
        head = ClassificationHead(state["dim"], state["n_classes"], n_blocks=state["n_blocks"])
        head.load_state_dict(state["head"])
    elif len(index) >= 2 and train:
        x, kept = _cls_features(project, cfg, train, progress, "scorer")
        y = torch.tensor([index[r.class_id] for r in kept])
        tc = TrainConfig(cls_epochs=cfg.train.cls_epochs, cls_lr=cfg.train.cls_lr, seed=cfg.train.seed)
        head, _ = train_classifier(torch.from_numpy(x), y, None, None, len(index), tc, progress,
                                   torch.device("cpu"))
        save_checkpoint({"head": head.state_dict(), "dim": x.shape[-1], "n_blocks": x.shape[1],
                         "n_classes": len(index)}, path)
    n_classes = max(1, len(index))
    if head is None:  # a single class: every box is 'of the class'; the size prior alone ranks
        return lambda x: torch.ones(x.shape[0], n_classes)
    head = head.to(device).eval()

    def classify(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            cls = backbone.features(x.to(device)).cls_tokens
            return torch.softmax(head(cls.float()), dim=-1).cpu()
    return classify
