"""MaxBoxAcc / MaxBoxAccV2 curves and Top-1 / Top-5 localisation over a threshold grid.

Definitions (clovaai/wsolevaluation, Choe et al. CVPR'20):

* BoxAcc(tau, delta) = % of images whose best IoU over all (estimated, GT) box pairs at map
  threshold tau is ``>= delta / 100``.
* MaxBoxAcc(delta) = max over tau of BoxAcc(tau, delta). Computed with multi-contour boxes (V2) for
  delta in {30, 50, 70}; MaxBoxAccV2 = their mean. The original MaxBoxAcc (V1) is the largest
  contour at delta = 50.
* Top-1 loc(delta) = % of images with argmax class == label AND IoU >= delta; Top-5 loc: label among
  the 5 highest probabilities AND IoU >= delta (with fewer than 5 classes every image qualifies).
  Both are read at the tau that maximises BoxAcc(tau, delta); the reported numbers use delta = 50.

Maps are evaluated on a square ``eval_size`` grid (224 in the reference) with GT boxes scaled onto it,
or, with ``eval_size=None``, at the image's own size (map stretched over the image, GT boxes in
image pixels).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core.eval.boxes_from_maps import ThresholdIoU, iou_over_thresholds, prepare_map, resize_boxes, threshold_grid

IOU_THRESHOLDS = (30, 50, 70)  # delta, percent


@dataclass
class EvalConfig:
    """How maps are compared with boxes."""
    eval_size: int | None = 224        # square evaluation grid side; None = each image's own size
    cam_curve_interval: float = 0.01   # tau step of the threshold search (reference test split: 0.001)
    iou_thresholds: tuple[int, ...] = IOU_THRESHOLDS  # delta, percent
    loc_delta: int = 50                # delta of Top-1 / Top-5 loc and of the error analysis

    def __post_init__(self) -> None:
        if self.eval_size is not None and int(self.eval_size) <= 0:
            raise ValueError(f"eval_size must be positive or None, got {self.eval_size}")
        threshold_grid(self.cam_curve_interval)  # validates the step
        self.iou_thresholds = tuple(int(d) for d in self.iou_thresholds)
        if not self.iou_thresholds or any(not 0 < d <= 100 for d in self.iou_thresholds):
            raise ValueError(f"iou_thresholds must be percents in (0, 100], got {self.iou_thresholds}")
        if self.loc_delta not in self.iou_thresholds:
            raise ValueError(f"loc_delta {self.loc_delta} must be one of iou_thresholds {self.iou_thresholds}")

    def thresholds(self) -> np.ndarray:
        return threshold_grid(self.cam_curve_interval)

    def grid_size(self, image_size_wh: tuple[int, int] | None, map_shape: tuple[int, int]) -> tuple[int, int]:
        """(width, height) of the evaluation grid for one image."""
        if image_size_wh is None:
            return int(map_shape[1]), int(map_shape[0])
        if self.eval_size is None:
            return int(image_size_wh[0]), int(image_size_wh[1])
        return int(self.eval_size), int(self.eval_size)


def as_gt_boxes(gt: np.ndarray, index: int) -> np.ndarray:
    """GT boxes of image ``index`` as float ``[K, 4]``; a clear error when empty or misshaped."""
    b = np.asarray(gt, dtype=np.float64)
    if b.size == 0:
        raise ValueError(f"image {index} has no ground-truth box")
    if b.ndim == 1:
        b = b.reshape(1, -1)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"image {index}: GT boxes must be [K, 4] xyxy, got shape {b.shape}")
    return b


def prepare_image(m: np.ndarray, gt: np.ndarray, image_size_wh: tuple[int, int] | None,
                  cfg: EvalConfig, normalise: bool = True, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One image on its evaluation grid: ``(map [H, W] float32 in [0, 1], gt [K, 4] int pixels)``.

    ``image_size_wh=None`` means GT boxes are already in the map's own pixels (no resizing).
    """
    boxes = as_gt_boxes(gt, index)
    a = np.asarray(m)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"image {index}: a map must be 2-D (H, W), got shape {a.shape}")
    size = cfg.grid_size(image_size_wh, a.shape)
    src = image_size_wh if image_size_wh is not None else size
    return prepare_map(a, size, normalise), resize_boxes(boxes, src, size)


def check_lengths(maps: Sequence, gt_boxes: Sequence, image_sizes: Sequence | None) -> None:
    """Maps, GT box lists and image sizes must be equally many (and not none)."""
    if len(maps) != len(gt_boxes):
        raise ValueError(f"{len(maps)} maps but {len(gt_boxes)} GT box lists")
    if image_sizes is not None and len(image_sizes) != len(maps):
        raise ValueError(f"{len(maps)} maps but {len(image_sizes)} image sizes")
    if len(maps) == 0:
        raise ValueError("nothing to evaluate: no maps")


def class_correct(class_probs: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """bool [N]: the label is among the k highest class probabilities ([N, C] scores, [N] ints)."""
    p = np.asarray(class_probs, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    if p.ndim != 2 or p.shape[0] != y.shape[0]:
        raise ValueError(f"class_probs must be [N, C] with N = {y.shape[0]} labels, got {p.shape}")
    if (y < 0).any() or (y >= p.shape[1]).any():
        raise ValueError(f"labels must be in [0, {p.shape[1] - 1}]")
    if k >= p.shape[1]:
        return np.ones(len(y), dtype=bool)
    # Strictly-better count: the label is in the top k when fewer than k classes beat it
    # (ties resolved in the label's favour, as a stable argsort would not guarantee).
    better = (p > p[np.arange(len(y)), y][:, None]).sum(axis=1)
    if k == 1:
        return p.argmax(axis=1) == y  # Top-1 is argmax == label, first index on ties
    return better < k


@dataclass
class BoxAccCurves:
    """Accumulated counts over the tau grid; everything reported is derived from them."""
    thresholds: np.ndarray                       # [T] tau
    iou_thresholds: tuple[int, ...]
    n_images: int = 0
    correct_v2: dict[int, np.ndarray] = field(default_factory=dict)   # delta -> [T] counts
    correct_v1: dict[int, np.ndarray] = field(default_factory=dict)
    top1: dict[int, np.ndarray] = field(default_factory=dict)         # delta -> [T] counts
    top5: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def empty(cls, thresholds: np.ndarray, iou_thresholds: tuple[int, ...], with_classes: bool) -> BoxAccCurves:
        z = lambda: {d: np.zeros(len(thresholds), dtype=np.int64) for d in iou_thresholds}  # noqa: E731
        c = cls(np.asarray(thresholds), tuple(iou_thresholds), 0, z(), z())
        if with_classes:
            c.top1, c.top5 = z(), z()
        return c

    def add(self, ious: ThresholdIoU, top1_ok: bool | None = None, top5_ok: bool | None = None) -> None:
        """Add one image's ``ThresholdIoU`` (and its class correctness, when known)."""
        for d in self.iou_thresholds:
            hit2 = ious.v2 >= d / 100
            self.correct_v2[d] += hit2
            self.correct_v1[d] += ious.v1 >= d / 100
            if top1_ok is not None and self.top1:
                self.top1[d] += hit2 & bool(top1_ok)
                self.top5[d] += hit2 & bool(top5_ok)
        self.n_images += 1

    # -- derived numbers, all percent ------------------------------------------------------------
    def box_acc(self, delta: int, multi_contour: bool = True) -> np.ndarray:
        """BoxAcc(tau, delta) for every tau of the grid, percent [T]."""
        counts = (self.correct_v2 if multi_contour else self.correct_v1)[delta]
        return counts * 100.0 / max(self.n_images, 1)

    def best_index(self, delta: int, multi_contour: bool = True) -> int:
        """Index of the first tau reaching MaxBoxAcc(delta)."""
        return int(np.argmax(self.box_acc(delta, multi_contour)))

    def best_threshold(self, delta: int, multi_contour: bool = True) -> float:
        return float(self.thresholds[self.best_index(delta, multi_contour)])

    def max_box_acc(self, delta: int, multi_contour: bool = True) -> float:
        return float(self.box_acc(delta, multi_contour).max())

    def max_box_acc_v2(self) -> float:
        return float(np.mean([self.max_box_acc(d) for d in self.iou_thresholds]))

    def top_k_loc(self, k: int, delta: int = 50) -> float | None:
        """Top-1 / Top-5 loc (percent) at the tau maximising BoxAccV2(tau, delta); None without classes."""
        table = self.top1 if k == 1 else self.top5 if k == 5 else None
        if table is None:
            raise ValueError("only Top-1 and Top-5 localisation are tracked")
        if not table:
            return None
        return float(table[delta][self.best_index(delta)] * 100.0 / max(self.n_images, 1))


def compute_curves(maps: Sequence[np.ndarray], gt_boxes: Sequence[np.ndarray],
                   image_sizes: Sequence[tuple[int, int]] | None = None, cfg: EvalConfig | None = None,
                   normalise: bool = True, class_probs: np.ndarray | None = None,
                   labels: np.ndarray | None = None, progress=None, on_map=None) -> BoxAccCurves:
    """One pass over the maps: BoxAcc counts at every tau (and Top-1/5 counts when classes are given).

    ``on_map(index, map01, gt_int)`` is called with each prepared map (e.g. to accumulate PxAP).
    ``progress``: a ``core.progress.Progress`` (optional), updated every few images.
    """
    cfg = cfg or EvalConfig()
    check_lengths(maps, gt_boxes, image_sizes)
    with_classes = class_probs is not None
    if with_classes != (labels is not None):
        raise ValueError("class_probs and labels go together: give both or neither")
    ok1 = ok5 = None
    if class_probs is not None and labels is not None:
        ok1 = class_correct(class_probs, labels, 1)
        ok5 = class_correct(class_probs, labels, 5)
        if len(ok1) != len(maps):
            raise ValueError(f"{len(maps)} maps but {len(ok1)} class labels")
    taus = cfg.thresholds()
    curves = BoxAccCurves.empty(taus, cfg.iou_thresholds, with_classes)
    n = len(maps)
    for i in range(n):
        size = None if image_sizes is None else image_sizes[i]
        m01, gt = prepare_image(maps[i], gt_boxes[i], size, cfg, normalise, i)
        curves.add(iou_over_thresholds(m01, gt, taus, normalise),
                   None if ok1 is None else ok1[i], None if ok5 is None else ok5[i])
        if on_map is not None:
            on_map(i, m01, gt)
        if progress is not None and (i % 16 == 15 or i == n - 1):
            progress.update(i + 1, n, "MaxBoxAcc")
    return curves


def max_box_acc(maps: Sequence[np.ndarray], gt_boxes: Sequence[np.ndarray],
                image_sizes: Sequence[tuple[int, int]] | None = None, cfg: EvalConfig | None = None,
                normalise: bool = True) -> dict:
    """MaxBoxAcc per delta (V2, percent), MaxBoxAccV2 (mean), MaxBoxAccV1 and the best tau per delta."""
    c = compute_curves(maps, gt_boxes, image_sizes, cfg, normalise)
    return {
        "MaxBoxAcc": {d: c.max_box_acc(d) for d in c.iou_thresholds},
        "MaxBoxAccV2": c.max_box_acc_v2(),
        "MaxBoxAccV1": c.max_box_acc(50, multi_contour=False) if 50 in c.iou_thresholds else None,
        "best_thresholds": {d: c.best_threshold(d) for d in c.iou_thresholds},
    }
