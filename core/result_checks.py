"""When a result should not be trusted, in plain rules: a split too small for its percentages, a model that learned
nothing. numpy only (no torch, no OpenCV), so the window imports them as it opens, and the CLI, the evaluation panel
and the prediction stage share one rule each.

A model that learned nothing draws a flat foreground map, or one box around the whole frame, on every image; its
scores (~0.5) look like any other run's, so the user is told in words. The check runs on images labelled with an
object class only: background images get no boxes by design, and an unlabelled image's boxes depend on the
classifier.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# -- how far the figures can be trusted -------------------------------------------------------------------------

# below this many object images a percentage moves by several points per image: the CLI and the window warn
MIN_OBJECT_IMAGES = 30


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 image', '3 images'; ``many`` for words that take more than an s ('1 box', '2 boxes')."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def first_names(names: list[str], limit: int = 3) -> str:
    """'a, b, c, ...': the first ``limit`` of ``names``, comma-separated, and '...' when there are more."""
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


def finite(v) -> float | None:
    """``v`` as a float when it is a finite number (a stored figure may be None, text, NaN or inf), else None."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def small_sample_warning(n_images) -> str | None:
    """The one rule for a split too small to trust its percentages: words for the user, or None from
    MIN_OBJECT_IMAGES object images on."""
    if n_images is None or n_images >= MIN_OBJECT_IMAGES:
        return None
    n = int(n_images)
    return (f"only {plural(n, 'object image')}: fewer than {MIN_OBJECT_IMAGES}, each one moves these percentages by "
            f"{100 / max(n, 1):.0f} points; on so few, a box around the whole image (a model that learned nothing) "
            "can score 100 where the objects are large")


# -- a model that learned nothing ------------------------------------------------------------------------------

FULL_FRAME = 0.90      # a box covering at least this share of the image's area is "the whole frame"
FLAT_SPREAD = 0.02     # a map whose 1st-99th percentile spread is below this (probability units) is flat
MOSTLY = 0.5           # the run is degenerate when at least this share of its object images is


def image_is_degenerate(fg: np.ndarray, boxes, width: int, height: int) -> bool:
    """True when the foreground map ``fg`` [h, w] (probabilities) is flat, or a box (x0, y0, x1, y1, ...) in image
    pixels of a ``width`` x ``height`` image covers >= FULL_FRAME of it."""
    fg = np.asarray(fg, dtype=np.float32)
    if fg.size and float(np.percentile(fg, 99) - np.percentile(fg, 1)) < FLAT_SPREAD:
        return True
    area = float(width) * float(height)
    return area > 0 and any((b[2] - b[0]) * (b[3] - b[1]) >= FULL_FRAME * area for b in boxes)


@dataclass
class PredictionCheck:
    """Counts degenerate object images while a prediction run stores them; ``record`` is what the run keeps."""
    object_images: int = 0
    degenerate: int = 0

    def add(self, fg: np.ndarray, boxes, width: int, height: int) -> None:
        """One image of an object class: its map and boxes (image pixels)."""
        self.object_images += 1
        self.degenerate += bool(image_is_degenerate(fg, boxes, width, height))

    def warning(self) -> str | None:
        """Plain words for the user when most object images came out degenerate, else None."""
        n, k = self.object_images, self.degenerate
        if n == 0 or k < MOSTLY * n:
            return None
        return degenerate_warning(k, n)

    def record(self) -> dict:
        """What the prediction run's record keeps: the counts and the warning (None when the output looks sane)."""
        return {"object_images": self.object_images, "degenerate_images": self.degenerate,
                "warning": self.warning()}


def degenerate_warning(k: int, n: int) -> str:
    return (f"The model has not learned where the objects are: on {k} of {n} object image{'s' if n != 1 else ''} "
            f"its map is flat or its box covers the whole image. Train longer (more epochs), check that the "
            f"images' labels are right, and review a few proposals before training again.")
