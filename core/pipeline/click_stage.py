"""One click, one box, on a project: gather what the project knows about an image and box the object under a click
(core/dips/click_box.py does the boxing).

What is read: the image's latest prediction (its foreground map, the run's operating threshold, its boxes), else its
proposals (their sizes only); the sizes of the last ``RECENT_CURATED`` boxes curated on the project; the image's
pixels, decoded with their longer side at most ``MAX_SIDE`` (a 100-megapixel frame is not decoded at full size to
box one object: the box is computed on the smaller copy and scaled back). Reads only; the caller stores the box (in
the window: the same undoable command as a drawn box). Safe to run on a worker thread (store reads are snapshots).

Which method boxes a click (core.dips.click_box.ClickBoxChooser) is learned from the inspector's work and kept in the
project's meta table (``CHOOSER_META``, JSON): a reopened project goes on with the method it had chosen.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from core.data.images import read_image
from core.dips.click_box import METHODS, ClickBoxChooser, ClickBoxConfig, click_candidates, prior_size
from core.result_checks import FULL_FRAME
from core.store.schema import BoxRow

RECENT_CURATED = 500     # the typical object size follows what the inspector boxes now
MAX_SIDE = 2048          # image pixels decoded per click, longer side
CHOOSER_META = "click_box_chooser"   # meta key of the chooser's tallies

# The last image decoded: the inspector clicks object after object on one image, and decoding a 24-megapixel JPEG
# takes ~1 s on a laptop CPU (bench/click_box_speed.py) against ~0.1 s for the box itself.
_last_decoded: tuple[tuple, np.ndarray] | None = None


@dataclass
class ClickResult:
    image_id: int
    click: tuple[float, float]                 # image pixels
    boxes: dict[str, np.ndarray]               # method -> [4] xyxy image pixels
    prior_wh: tuple[float, float]              # the typical size used, image pixels
    had_map: bool                              # a prediction map was used


def recent_curated(project, limit: int = RECENT_CURATED) -> np.ndarray:
    """The last ``limit`` curated boxes of the project ``[N, 4]`` xyxy image pixels (newest first)."""
    with project.read() as s:
        rows = s.execute(select(BoxRow.x0, BoxRow.y0, BoxRow.x1, BoxRow.y1).order_by(BoxRow.id.desc())
                         .limit(limit)).all()
    return np.asarray([tuple(r) for r in rows], dtype=np.float64).reshape(-1, 4)


def _object_sized(boxes, w: int, h: int) -> np.ndarray:
    """``boxes`` as ``[N, 4]`` xyxy, less those around (nearly) the whole frame: they tell nothing of an object's
    size (an untrained model draws one on every image; as the typical size it made every click box the whole image)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return b[(b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) < FULL_FRAME * max(w, 1) * max(h, 1)]


def _decoded(path, content_hash: str) -> np.ndarray:
    global _last_decoded
    key = (str(path), content_hash)
    if _last_decoded is None or _last_decoded[0] != key:
        _last_decoded = (key, read_image(path, max_side=MAX_SIDE))
    return _last_decoded[1]


def box_for_click(project, image, click: tuple[float, float], methods: tuple[str, ...] = METHODS,
                  cfg: ClickBoxConfig | None = None) -> ClickResult:
    """Every method's box for a click at ``click`` (image pixels) on ``image`` (an ImageRecord of ``project``).

    Raises core.data.images.ImageReadError when the image cannot be read, ValueError for a click outside it.
    """
    cfg = cfg or ClickBoxConfig()
    w, h = image.width, image.height
    pred = project.maps.prediction(image.id)
    threshold = 0.5
    suggested = np.zeros((0, 4))
    if pred is not None:
        threshold = float(project.maps.prediction_run_config(pred.run_id).get("operating_threshold", 0.5))
        suggested = _object_sized([(b.x0, b.y0, b.x1, b.y1) for b in pred.boxes], w, h)
    if not len(suggested):   # no prediction, or one box around the whole frame (a model that learned nothing)
        suggested = _object_sized([(p.x0, p.y0, p.x1, p.y1) for p in project.proposals.list(image.id, False)], w, h)
    prior = prior_size(recent_curated(project), (w, h), suggested, cfg)
    rgb = _decoded(project.image_root / image.rel_path, image.content_hash)
    # the decoded copy may be smaller than the image: everything in its pixels, the boxes scaled back
    sx, sy = rgb.shape[1] / max(w, 1), rgb.shape[0] / max(h, 1)
    x = min(max(float(click[0]), 0.0), float(w))
    y = min(max(float(click[1]), 0.0), float(h))
    boxes = click_candidates(rgb, (x * sx, y * sy), pred.fg_map if pred is not None else None, threshold,
                             (prior[0] * sx, prior[1] * sy), cfg, methods)
    back = np.array([1 / sx, 1 / sy, 1 / sx, 1 / sy])
    scaled = {m: np.clip(b * back, 0.0, [w, h, w, h]) for m, b in boxes.items()}
    return ClickResult(image.id, (x, y), scaled, prior, pred is not None)


def load_chooser(project, chooser: ClickBoxChooser | None = None) -> ClickBoxChooser:
    """``chooser`` (default: a new ``ClickBoxChooser()``) with the tallies ``project`` keeps (none kept, or kept for
    other methods: as it was). Raises ValueError naming the project file when the kept tallies are unreadable."""
    chooser = chooser or ClickBoxChooser()
    text = project.get_meta(CHOOSER_META)
    if text:
        try:
            chooser.restore(json.loads(text))
        except (ValueError, TypeError) as exc:   # json's errors are ValueErrors
            raise ValueError(f"{project.path}: the click box's method choice ({CHOOSER_META}) is unreadable: "
                             f"{exc}") from exc
    return chooser


def save_chooser(project, chooser: ClickBoxChooser) -> None:
    """Keep ``chooser``'s tallies in ``project`` (one transaction)."""
    project.set_meta(CHOOSER_META, json.dumps(chooser.state()))
