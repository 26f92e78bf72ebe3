"""What one batch does (Lightning's 'training step'), apart from the loop around it."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from core.dips.losses import LossConfig, dips_loss
from core.train.data import Batch


def localizer_step(model: torch.nn.Module, batch: Batch, loss_cfg: LossConfig, device: torch.device,
                   amp_dtype: torch.dtype | None = None,
                   classifier: torch.nn.Module | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Forward f_l on cached tokens, Eq. 4 loss at the label resolution. Returns (loss, logs).

    ``amp_dtype``: autocast dtype of the forward (see ``core.dips.device.training_amp_dtype``); the loss
    is always computed in float32.

    With ``classifier`` (frozen, on EfficientNet-normalised RGB) the workshop's L_CLS is added.
    """
    labels = batch.labels.to(device, non_blocking=True)
    rgb = batch.rgb.to(device, non_blocking=True)
    inputs = localizer_inputs(model, batch.tokens, rgb).to(device, non_blocking=True)
    with torch.autocast(device_type=device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        logits = model(inputs)
    logits = logits.float()
    if logits.shape[-2:] != labels.shape[-2:]:
        logits = F.interpolate(logits, size=labels.shape[-2:], mode="bilinear", align_corners=False)
    if classifier is None:
        return dips_loss(logits, labels, rgb, loss_cfg)
    return dips_loss(logits, labels, rgb, loss_cfg, classifier=classifier, targets=batch.targets.to(device),
                     cls_image=_efficientnet_input(rgb))


def _efficientnet_input(rgb255: torch.Tensor) -> torch.Tensor:
    from core.dips.backbones import efficientnet_normalize
    return efficientnet_normalize(rgb255 / 255.0)


def localizer_inputs(model: torch.nn.Module, tokens: torch.Tensor, rgb255: torch.Tensor) -> torch.Tensor:
    """The token decoder reads the cached ViT tokens; the workshop U-Net reads the RGB image."""
    if getattr(model, "encoder", None) is None:
        return tokens
    return _efficientnet_input(rgb255)


def classifier_step(head: torch.nn.Module, cls_tokens: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Eq. 2: cross-entropy of f_c on the CLS tokens."""
    return F.cross_entropy(head(cls_tokens), targets)
