"""The head-fit bench's pieces on hand-made boxes: the training grid, the box mask, pixel IoU, labels, COCO files."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from bench.gt_completeness import covered as box_mask
from bench.head_fit import LinearProbe, coco_boxes, gt_labels, on_grid, parser, pixel_iou, trainable
from core.dips.sampling import IGNORE


def test_boxes_go_to_the_training_grid_and_mirror_with_the_image():
    rec = SimpleNamespace(width=200, height=100)
    boxes = np.array([[20, 10, 60, 50]], float)
    assert on_grid(boxes, rec, 10, False).tolist() == [[1, 1, 3, 5]]
    assert on_grid(boxes, rec, 10, True).tolist() == [[7, 1, 9, 5]]     # x mirrored: 10 - 3, 10 - 1


def test_pixel_iou_of_a_map_against_the_box_mask_by_hand():
    mask = box_mask(np.array([[0, 0, 2, 2]], float), 4)                 # 4 pixels
    fg = np.zeros((4, 4))
    fg[0, :3] = 0.9                                                     # 3 pixels above 0.5, 2 of them in the box
    assert mask.sum() == 4
    assert pixel_iou(fg, mask) == pytest.approx(2 / 5)
    assert pixel_iou(np.zeros((4, 4)), np.zeros((4, 4), bool)) == 1.0


def test_ground_truth_labels_put_object_pixels_inside_and_background_outside():
    gen = torch.Generator().manual_seed(0)
    labels = gt_labels(np.array([[0, 0, 4, 4]], float), 8, 5, 7, gen)
    inside = box_mask(np.array([[0, 0, 4, 4]], float), 8)
    assert int((labels == 1).sum()) == 5 and bool(inside[labels.numpy() == 1].all())
    assert int((labels == 0).sum()) == 7 and not bool(inside[labels.numpy() == 0].any())
    free = gt_labels(np.zeros((0, 4)), 8, 5, 7, gen)                    # an object-free image: background only
    assert int((free == 0).sum()) == 7 and int((free == IGNORE).sum()) == 64 - 7


def test_coco_boxes_are_read_by_the_images_path_in_the_project(tmp_path):
    records = [SimpleNamespace(rel_path="tree/a.png", id=11), SimpleNamespace(rel_path="tree/b.png", id=12)]
    coco = {"images": [{"id": 1, "file_name": "tree/b.png"}],
            "annotations": [{"image_id": 1, "bbox": [1, 2, 3, 4]}, {"image_id": 1, "bbox": [0, 0, 1, 1]}]}
    (tmp_path / "gt.json").write_text(json.dumps(coco))
    out = coco_boxes(tmp_path / "gt.json", records)
    assert list(out) == [12] and out[12].tolist() == [[1, 2, 4, 6], [0, 0, 1, 1]]
    coco["images"][0]["file_name"] = "tree/c.png"
    (tmp_path / "gt.json").write_text(json.dumps(coco))
    with pytest.raises(SystemExit, match="tree/c.png is not an image of the project"):
        coco_boxes(tmp_path / "gt.json", records)


def test_the_linear_probe_maps_tokens_to_two_logits_at_the_label_resolution():
    out = LinearProbe(6, 16)(torch.zeros(2, 6, 4, 4))
    assert out.shape == (2, 2, 16, 16)


def test_every_option_of_the_help_says_what_it_does_and_its_default():
    helps = {a.dest: a.help for a in parser()._actions if a.dest != "help"}
    assert all(helps.values()), [d for d, h in helps.items() if not h]
    text = parser().format_help()
    for default in ("(default: gt)", "default: decoder", "(default: 400)", "(default: 80)", "(default: 1)",
                    "(default: app)", "(default: 0)"):
        assert default in " ".join(text.split()), default


def test_a_project_without_cached_features_is_told_to_train_once_not_an_index_error():
    recs = [SimpleNamespace(split="train", content_hash="a"), SimpleNamespace(split="val", content_hash="b")]
    empty = SimpleNamespace(has=lambda h, flipped=False: False)
    with pytest.raises(SystemExit, match="run 'main.py train p.dips' once"):
        trainable("p.dips", recs, empty)
    unflipped = SimpleNamespace(has=lambda h, flipped=False: not flipped)     # the flipped copies are missing
    with pytest.raises(SystemExit):
        trainable("p.dips", recs, unflipped)
    full = SimpleNamespace(has=lambda h, flipped=False: True)
    assert trainable("p.dips", recs, full) == recs[:1]                         # the train split only


def test_the_unet_head_is_built_on_the_images_rgb_with_the_shipped_imagenet_encoder():
    """--head unet: the workshop U-Net reads the RGB copy the cache holds, not the ViT tokens."""
    from dataclasses import replace

    from core.dips.heads import HeadConfig, build_localizer
    from core.train.loop import init_unet_encoder
    from core.train.step import localizer_inputs
    assert parser().parse_args(["p.dips", "--head", "unet"]).head == "unet"
    model = build_localizer(replace(HeadConfig(), decoder="unet"), 6)
    before = next(iter(model.encoder.state_dict().values())).clone()
    init_unet_encoder(model)
    assert not torch.equal(before, next(iter(model.encoder.state_dict().values())))   # ImageNet weights loaded
    x = localizer_inputs(model, torch.zeros(1, 6, 4, 4), torch.full((1, 3, 32, 32), 128.0))
    assert x.shape == (1, 3, 32, 32)
    assert model.eval()(x).shape == (1, 2, 32, 32)
