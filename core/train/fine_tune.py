"""Fine-tuning a whole classifier on labelled images: the EfficientNet-Lite0 that serves as the scorer f_x option
and as the workshop's frozen classifier of L_CLS (core/pipeline/scorer.py reads the images and caches the result)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from core.dips.backbones import efficientnet_normalize
from core.progress import Progress

EPOCHS = 6
LR = 5e-4
WEIGHT_DECAY = 1e-4
BATCH = 16


def fine_tune_classifier(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device,
                         progress: Progress, seed: int, epochs: int = EPOCHS) -> torch.nn.Module:
    """AdamW on cross-entropy with random horizontal flips; returns ``model`` on ``device`` in eval mode.

    Args:
        images: ``[N, 3, s, s]`` uint8 RGB. labels: ``[N]`` class indices.
        seed: the batch order and the flips (a torch.Generator): the same seed gives the same model.
    Progress: stage "scorer", one update per step. Raises ``core.progress.Cancelled`` when cancelled.
    """
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    gen = torch.Generator().manual_seed(seed)
    total = epochs * ((len(images) + BATCH - 1) // BATCH)
    progress.start("scorer", total)
    step = 0
    for _ in range(epochs):
        perm = torch.randperm(len(images), generator=gen)
        for i in range(0, len(images), BATCH):
            idx = perm[i:i + BATCH]
            xb = images[idx].float().div(255)
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb[flip] = xb[flip].flip(-1)
            loss = F.cross_entropy(model(efficientnet_normalize(xb).to(device)), labels[idx].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            progress.update(step, total, f"scorer loss {float(loss.detach()):.3f}")
    return model.eval()
