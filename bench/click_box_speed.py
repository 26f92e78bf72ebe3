"""How long one click of the click-box tool (C) takes, and why it runs off the GUI thread.

Run from the repository root:
    .venv/bin/python bench/click_box_speed.py [--repeats 20]

Times, on synthetic frames (a textured background with a darker object), the median of ``--repeats`` clicks of
core.dips.click_box.click_candidates (GrabCut, the typical-size square and the contrast box: what the window
computes per click; and the contrast box alone)
and of decoding the frame as core.pipeline.click_stage does (longer side at most MAX_SIDE; only at the first click
on an image: the last decoded image is kept). GrabCut runs on a window of at most ``work_side`` px whatever the
frame's size, and the contrast box on a copy with the typical side at ``contrast_work`` px, so their times are
bounded; decoding a large frame is not.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.data.images import read_image
from core.dips.click_box import click_candidates
from core.pipeline.click_stage import MAX_SIDE


def frame(w: int, h: int, rng) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    img = rng.integers(90, 170, (h, w, 3)).astype(np.uint8)
    ow, oh = w // 8, h // 8
    x0, y0 = w // 2 - ow // 2, h // 2 - oh // 2
    img[y0:y0 + oh, x0:x0 + ow] = (40, 90, 40)
    return img, (w / 2, h / 2), (float(ow), float(oh))


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(1000.0 * (time.perf_counter() - t))
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=20)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    fg = np.zeros((224, 224), np.float32)
    fg[98:126, 98:126] = 0.9
    print(f"{'frame':>12} {'click (GrabCut + square + contrast), ms':>40} {'contrast alone, ms':>20} "
          f"{'decode (first click), ms':>26}")
    for w, h in ((640, 480), (1920, 1080), (6000, 4000)):
        img, click, prior = frame(w, h, rng)
        ms = median_ms(lambda img=img, click=click, prior=prior: click_candidates(
            img, click, fg, 0.5, prior, methods=("grabcut", "square", "contrast")), a.repeats)
        con = median_ms(lambda img=img, click=click, prior=prior: click_candidates(
            img, click, fg, 0.5, prior, methods=("contrast",)), a.repeats)
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "f.jpg"
            from PIL import Image
            Image.fromarray(img).save(path, quality=90)
            dec = median_ms(lambda path=path: read_image(path, max_side=MAX_SIDE), max(3, a.repeats // 4))
        print(f"{w:>5}x{h:<6} {ms:>40.1f} {con:>20.1f} {dec:>26.1f}", flush=True)


if __name__ == "__main__":
    main()
