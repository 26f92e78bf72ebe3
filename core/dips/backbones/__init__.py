"""Frozen self-supervised ViT backbones (DiPS' SST), offline weight loading, EfficientNet-Lite0 scorer."""
from .efficientnet import (
    EFFICIENTNET_MEAN,
    EFFICIENTNET_STD,
    efficientnet_normalize,
    imagenet_lite0_state,
    load_efficientnet_lite0,
)
from .vit import DEFAULT_BACKBONE, NAMED_BACKBONES, Backbone, ViTFeatures, load_backbone
from .weight_files import IMAGENET_MEAN, IMAGENET_STD
from .weights import WeightsError, load_weights

__all__ = [
    "Backbone",
    "DEFAULT_BACKBONE",
    "EFFICIENTNET_MEAN",
    "EFFICIENTNET_STD",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "NAMED_BACKBONES",
    "ViTFeatures",
    "efficientnet_normalize",
    "imagenet_lite0_state",
    "WeightsError",
    "load_backbone",
    "load_efficientnet_lite0",
    "load_weights",
]
