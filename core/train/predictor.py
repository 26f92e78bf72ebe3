"""A trained DiPS model read back from its checkpoint and run on cached encoder outputs, and the choice of its
operating threshold from pseudo boxes. Arrays in, arrays out: core/pipeline/predict_stage.py reads the store."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.dips.heads import ClassificationHead, build_localizer
from core.eval.operating import box_acc_from_ious, per_image_iou
from core.train.checkpoint import load_checkpoint
from core.train.config import TrainConfig, head_config
from core.train.step import localizer_inputs


class LoadedModel:
    """f_c and f_l of a training run's checkpoint (``model.pt``), in eval mode on ``device``."""

    def __init__(self, path: Path, device: torch.device):
        state = load_checkpoint(path)
        self.classes = state["classes"]
        self.backbone = state["backbone"]
        self.train_res = int(state["train_config"]["train_res"])
        self.classifier = ClassificationHead(state["embed_dim"], len(self.classes), n_blocks=state["n_blocks"])
        self.classifier.load_state_dict(state["classifier"])
        self.localizer = build_localizer(head_config(TrainConfig.from_checkpoint(state["train_config"])),
                                         state["embed_dim"])
        self.localizer.load_state_dict(state["localizer"])
        self.classifier.to(device).eval()
        self.localizer.to(device).eval()
        self.device = device

    @torch.inference_mode()
    def __call__(self, tokens: torch.Tensor, cls: torch.Tensor, rgb: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(class probabilities [B, C], foreground maps [B, R, R]) from cached encoder outputs."""
        probs = torch.softmax(self.classifier(cls.to(self.device)), -1)
        inputs = localizer_inputs(self.localizer, tokens, rgb.float()).to(self.device)
        logits = self.localizer(inputs).float()
        if logits.shape[-1] != self.train_res:
            logits = F.interpolate(logits, size=(self.train_res, self.train_res), mode="bilinear",
                                   align_corners=False)
        fg = torch.softmax(logits, 1)[:, 1]
        return probs.cpu().numpy(), fg.cpu().numpy()


def run_on_cached(model, cache, content_hashes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``model`` (a LoadedModel) on images read from the feature cache: (class probabilities, fg maps)."""
    feats = [cache.get(h) for h in content_hashes]
    return model(*(torch.from_numpy(np.stack([np.asarray(getattr(f, part), dtype=np.float32) for f in feats]))
                   for part in ("tokens", "cls", "rgb")))


def best_threshold(maps: Sequence[np.ndarray], boxes: Sequence[np.ndarray], sizes: Sequence[tuple[int, int]],
                   grid: Sequence[float], prefer: float) -> float:
    """The threshold of ``grid`` at which the boxes drawn on ``maps`` best match ``boxes`` (mean BoxAccV2 at IoU
    30/50/70); of equally good ones the nearest to ``prefer``.

    Args: maps: foreground maps [h, w] in [0, 1]; boxes: per image [K, 4] xyxy in image pixels; sizes: per image
    (width, height) in pixels.
    """
    agreement = {t: box_acc_from_ious(per_image_iou(maps, boxes, t, sizes, normalise=False))["mean"] for t in grid}
    best = max(agreement.values())
    return float(min((t for t, v in agreement.items() if v == best), key=lambda t: abs(t - prefer)))
