"""A tiny line-plot writer on OpenCV (no plotting library needed on inspection laptops or CI)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (140, 86, 75)]


def line_plot(series: dict[str, tuple[list[float], list[float]]], path: Path, title: str, xlabel: str,
              ylabel: str, size=(900, 560), ylim=(0.0, 100.0), markers: dict[str, float] | None = None) -> None:
    w, h = size
    left, right, top, bottom = 70, 220, 60, 60
    img = np.full((h, w, 3), 255, np.uint8)
    pw, ph = w - left - right, h - top - bottom

    def px(x, y):
        return (int(left + x * pw), int(top + (1 - (y - ylim[0]) / (ylim[1] - ylim[0])) * ph))
    for k in range(11):
        y = ylim[0] + k * (ylim[1] - ylim[0]) / 10
        cv2.line(img, px(0, y), px(1, y), (230, 230, 230), 1)
        cv2.putText(img, f"{y:.0f}", (left - 40, px(0, y)[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (60, 60, 60), 1)
        x = k / 10
        cv2.line(img, px(x, ylim[0]), px(x, ylim[1]), (240, 240, 240), 1)
        cv2.putText(img, f"{x:.1f}", (px(x, ylim[0])[0] - 10, h - bottom + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (60, 60, 60), 1)
    cv2.rectangle(img, px(0, ylim[1]), px(1, ylim[0]), (0, 0, 0), 1)
    for i, (name, (xs, ys)) in enumerate(series.items()):
        rgb = COLOURS[i % len(COLOURS)]
        bgr = rgb[::-1]
        pts = np.array([px(float(x), float(y)) for x, y in zip(xs, ys, strict=True)], np.int32)
        cv2.polylines(img, [pts], False, bgr, 2, cv2.LINE_AA)
        ly = top + 20 + 22 * i
        cv2.line(img, (w - right + 15, ly), (w - right + 45, ly), bgr, 2)
        cv2.putText(img, name, (w - right + 52, ly + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    for name, x in (markers or {}).items():
        cv2.line(img, px(x, ylim[0]), px(x, ylim[1]), (120, 120, 120), 1, cv2.LINE_AA)
        cv2.putText(img, name, (px(x, ylim[1])[0] + 4, top + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (90, 90, 90), 1)
    cv2.putText(img, title, (left, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, xlabel, (left + pw // 2 - 60, h - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, ylabel, (5, top - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)
