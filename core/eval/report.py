"""The whole WSOL evaluation of a set of maps (or boxes), its JSON shape and a plain-text table.

JSON shape of ``EvalResult.to_json()`` (every number a percent unless it is a threshold or a count):

* ``n_images``; ``eval_size`` (int, or null = original image size); ``cam_curve_interval``;
  ``normalised`` (whether maps were min-max normalised for the threshold search).
* ``MaxBoxAcc``: ``{"30", "50", "70"}`` best BoxAcc over tau with multi-contour boxes (V2 boxes).
* ``MaxBoxAccV2``: mean of ``MaxBoxAcc``. ``MaxBoxAccV1``: largest contour, delta = 50 (the original
  metric), null when delta 50 is not evaluated.
* ``best_thresholds``: ``{"30", "50", "70"}`` first tau reaching each MaxBoxAcc.
* ``operating_threshold`` (null when none), ``operating_normalised`` (null when none) and
  ``BoxAccV2AtOperatingThreshold`` ``{"30", "50", "70", "mean"}`` (only when a threshold is given).
* ``Top1Loc``, ``Top5Loc`` (only with class probabilities), at the tau of ``best_thresholds[loc_delta]``.
* ``PxAP`` (only with masks).
* ``LPE``, ``LME``, ``MIns`` and ``error_breakdown`` ``{Correct, Cls, MIns, LPE, LME, Others}``
  (see ``core.eval.loc_errors``), at ``errors_threshold`` = ``best_thresholds[loc_delta]``.
* ``per_image_iou_threshold``: the tau of ``EvalResult.per_image_iou`` (the operating one if given).
* ``curves`` (optional): ``{"thresholds": [T], "BoxAccV2": {"30": [T], ...}}`` for the
  threshold-sensitivity plot; ``per_image_iou`` (optional): ``[N]``.

Box-only evaluation (``evaluate_boxes``, ``--maps proposal``): a box has no threshold, so
``MaxBoxAcc`` = ``BoxAccV2AtOperatingThreshold`` = plain BoxAcc and the threshold fields are null.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core.eval.boxes_from_maps import best_pair, map_to_boxes
from core.eval.loc_errors import ErrorThresholds, localization_errors
from core.eval.maxboxacc import EvalConfig, check_lengths, class_correct, compute_curves, prepare_image
from core.eval.operating import box_acc_from_ious, boxes_on_grid, operating_point
from core.eval.pxap import PxAPAccumulator, mask_to_grid
from core.result_checks import plural


@dataclass
class EvalResult:
    """All numbers of one evaluation; percent unless said otherwise."""
    n_images: int
    iou_thresholds: tuple[int, ...]
    max_box_acc: dict[int, float]                  # delta -> MaxBoxAcc (V2 boxes)
    max_box_acc_v2: float                          # mean over delta
    max_box_acc_v1: float | None = None            # largest contour, delta 50
    best_thresholds: dict[int, float] | None = None
    thresholds: np.ndarray | None = None           # [T] tau grid
    box_acc_curves: dict[int, np.ndarray] = field(default_factory=dict)  # delta -> [T] BoxAccV2
    operating_threshold: float | None = None
    operating_normalised: bool | None = None
    box_acc_at_operating: dict | None = None       # {delta: %, 'mean': %}
    per_image_iou: np.ndarray | None = None        # [N] best IoU per image
    per_image_iou_threshold: float | None = None
    top1_loc: float | None = None
    top5_loc: float | None = None
    pxap: float | None = None
    errors: dict[str, float] = field(default_factory=dict)
    errors_threshold: float | None = None
    eval_size: int | None = 224
    cam_curve_interval: float | None = None
    normalised: bool | None = True

    def to_json(self, include_curves: bool = True, include_per_image: bool = False) -> dict:
        """Plain JSON-ready dict (see module docstring); dict keys of deltas are strings."""
        f = lambda v: None if v is None else float(v)  # noqa: E731
        out: dict = {
            "n_images": int(self.n_images),
            "eval_size": self.eval_size,
            "cam_curve_interval": f(self.cam_curve_interval),
            "normalised": self.normalised,
            "MaxBoxAcc": {str(d): f(v) for d, v in self.max_box_acc.items()},
            "MaxBoxAccV2": f(self.max_box_acc_v2),
            "MaxBoxAccV1": f(self.max_box_acc_v1),
            "best_thresholds": (None if self.best_thresholds is None
                                else {str(d): f(v) for d, v in self.best_thresholds.items()}),
            "operating_threshold": f(self.operating_threshold),
            "operating_normalised": self.operating_normalised,
        }
        if self.box_acc_at_operating is not None:
            out["BoxAccV2AtOperatingThreshold"] = {str(k): f(v) for k, v in self.box_acc_at_operating.items()}
        if self.top1_loc is not None:
            out["Top1Loc"] = f(self.top1_loc)
        if self.top5_loc is not None:
            out["Top5Loc"] = f(self.top5_loc)
        if self.pxap is not None:
            out["PxAP"] = f(self.pxap)
        for k in ("LPE", "LME", "MIns"):
            out[k] = f(self.errors.get(k))
        out["error_breakdown"] = {k: f(v) for k, v in self.errors.items()}
        out["errors_threshold"] = f(self.errors_threshold)
        out["per_image_iou_threshold"] = f(self.per_image_iou_threshold)
        if include_curves and self.thresholds is not None:
            out["curves"] = {
                "thresholds": [round(float(t), 6) for t in self.thresholds],
                "BoxAccV2": {str(d): [float(v) for v in c] for d, c in self.box_acc_curves.items()},
            }
        if include_per_image and self.per_image_iou is not None:
            out["per_image_iou"] = [float(v) for v in self.per_image_iou]
        return out

    def to_json_str(self, **kwargs) -> str:
        return json.dumps(self.to_json(**kwargs), indent=2)


def _resolve_operating(map_type: str | None, operating_threshold: float | None,
                       operating_normalise: bool | None, normalise: bool) -> tuple[float | None, bool]:
    if map_type is not None:
        tau, norm = operating_point(map_type)
        if tau is None:
            raise ValueError("map type 'proposal' has no map: use evaluate_boxes() with the boxes")
        operating_threshold = tau if operating_threshold is None else operating_threshold
        operating_normalise = norm if operating_normalise is None else operating_normalise
    if operating_threshold is not None and not 0 <= operating_threshold < 1:
        raise ValueError(f"operating threshold must be in [0, 1), got {operating_threshold}")
    return operating_threshold, normalise if operating_normalise is None else operating_normalise


def evaluate_maps(maps: Sequence[np.ndarray], gt_boxes: Sequence[np.ndarray],
                  image_sizes: Sequence[tuple[int, int]] | None, cfg: EvalConfig | None = None,
                  class_probs: np.ndarray | None = None, labels: np.ndarray | None = None,
                  operating_threshold: float | None = None, normalise: bool = True,
                  operating_normalise: bool | None = None, map_type: str | None = None,
                  masks: Sequence[np.ndarray] | None = None, progress=None,
                  error_thresholds: ErrorThresholds = ErrorThresholds()) -> EvalResult:
    """Evaluate localisation maps against GT boxes (and masks) the wsolevaluation way.

    maps: 2-D arrays of any size (patch grid, 224, image size); float, any range.
    gt_boxes: ``[K, 4]`` xyxy per image in image pixels (``image_sizes`` = (width, height) each);
        with ``image_sizes=None`` boxes are in each map's own pixels and maps keep their size.
    normalise: min-max normalise maps for the threshold search (True = the standard protocol).
    operating_threshold / operating_normalise: the fixed tau of the operating point and whether the
        map is normalised there (default: same as ``normalise``); ``map_type`` ("attention",
        "predicted") fills both from ``core.eval.operating.OPERATING_THRESHOLDS``.
    class_probs ``[N, C]`` and labels ``[N]``: for Top-1 / Top-5 loc and the Cls error category.
    masks: optional label masks (1 fg, 0 bg, other ignored) in image pixels, for PxAP.
    """
    cfg = cfg or EvalConfig()
    check_lengths(maps, gt_boxes, image_sizes)
    op_tau, op_norm = _resolve_operating(map_type, operating_threshold, operating_normalise, normalise)
    if masks is not None and len(masks) != len(maps):
        raise ValueError(f"{len(maps)} maps but {len(masks)} masks")

    px = PxAPAccumulator(cfg.cam_curve_interval) if masks is not None else None

    def add_mask(i: int, m01: np.ndarray, _gt: np.ndarray) -> None:
        assert px is not None and masks is not None   # passed on only with masks
        try:
            px.add(m01, mask_to_grid(masks[i], (m01.shape[1], m01.shape[0])))
        except ValueError as e:
            raise ValueError(f"image {i}: {e}") from None

    curves = compute_curves(maps, gt_boxes, image_sizes, cfg, normalise, class_probs, labels,
                            progress, add_mask if px is not None else None)
    d_loc = cfg.loc_delta
    tau_loc = curves.best_threshold(d_loc)

    # Second pass: boxes at the chosen tau for the error analysis, IoU at the operating point.
    preds_loc, gts, op_ious = [], [], []
    for i in range(len(maps)):
        if progress is not None and i % 16 == 0:
            progress.check()
        size = None if image_sizes is None else image_sizes[i]
        m01, gt = prepare_image(maps[i], gt_boxes[i], size, cfg, normalise, i)
        preds_loc.append(map_to_boxes(m01, tau_loc, True, normalise))
        gts.append(gt)
        if op_tau is not None:
            if op_norm != normalise:
                m01, _ = prepare_image(maps[i], gt_boxes[i], size, cfg, op_norm, i)
            op_ious.append(best_pair(map_to_boxes(m01, op_tau, True, op_norm), gt)[0])
    # both or neither (compute_curves refuses one without the other)
    cls_ok = class_correct(class_probs, labels, 1) if class_probs is not None and labels is not None else None
    loc_ious = np.array([best_pair(p, g)[0] for p, g in zip(preds_loc, gts, strict=True)])

    return EvalResult(
        n_images=curves.n_images,
        iou_thresholds=cfg.iou_thresholds,
        max_box_acc={d: curves.max_box_acc(d) for d in cfg.iou_thresholds},
        max_box_acc_v2=curves.max_box_acc_v2(),
        max_box_acc_v1=curves.max_box_acc(50, multi_contour=False) if 50 in cfg.iou_thresholds else None,
        best_thresholds={d: curves.best_threshold(d) for d in cfg.iou_thresholds},
        thresholds=curves.thresholds,
        box_acc_curves={d: curves.box_acc(d) for d in cfg.iou_thresholds},
        operating_threshold=op_tau,
        operating_normalised=op_norm if op_tau is not None else None,
        box_acc_at_operating=box_acc_from_ious(np.asarray(op_ious), cfg.iou_thresholds) if op_tau is not None else None,
        per_image_iou=np.array(op_ious) if op_tau is not None else loc_ious,
        per_image_iou_threshold=op_tau if op_tau is not None else tau_loc,
        top1_loc=curves.top_k_loc(1, d_loc),
        top5_loc=curves.top_k_loc(5, d_loc),
        pxap=px.compute() if px is not None else None,
        errors=localization_errors(preds_loc, gts, cls_ok, error_thresholds),
        errors_threshold=tau_loc,
        eval_size=cfg.eval_size,
        cam_curve_interval=cfg.cam_curve_interval,
        normalised=normalise,
    )


def evaluate_boxes(pred_boxes: Sequence[np.ndarray], gt_boxes: Sequence[np.ndarray],
                   image_sizes: Sequence[tuple[int, int]] | None, cfg: EvalConfig | None = None,
                   class_probs: np.ndarray | None = None, labels: np.ndarray | None = None,
                   error_thresholds: ErrorThresholds = ErrorThresholds()) -> EvalResult:
    """Evaluate boxes used directly as predictions (e.g. the top-ranked proposal per image).

    pred_boxes ``[M, 4]`` and gt_boxes ``[K, 4]`` are xyxy image pixels; both go on the evaluation
    grid as maps would. Top-1/5 loc use the plain IoU (no threshold to pick).
    """
    cfg = cfg or EvalConfig()
    preds, gts = boxes_on_grid(pred_boxes, gt_boxes, image_sizes, cfg)
    ious = np.array([best_pair(p, g)[0] for p, g in zip(preds, gts, strict=True)])
    acc = box_acc_from_ious(ious, cfg.iou_thresholds)
    top1 = top5 = cls_ok = None
    if (class_probs is None) != (labels is None):
        raise ValueError("class_probs and labels go together: give both or neither")
    if class_probs is not None and labels is not None:
        cls_ok = class_correct(class_probs, labels, 1)
        if len(cls_ok) != len(gts):
            raise ValueError(f"{len(gts)} images but {len(cls_ok)} class labels")
        hit = ious >= cfg.loc_delta / 100
        top1 = float((hit & cls_ok).mean() * 100.0)
        top5 = float((hit & class_correct(class_probs, labels, 5)).mean() * 100.0)
    return EvalResult(
        n_images=len(gts),
        iou_thresholds=cfg.iou_thresholds,
        max_box_acc={d: acc[d] for d in cfg.iou_thresholds},
        max_box_acc_v2=acc["mean"],
        max_box_acc_v1=acc.get(50),
        box_acc_at_operating=acc,
        per_image_iou=ious,
        top1_loc=top1,
        top5_loc=top5,
        errors=localization_errors(preds, gts, cls_ok, error_thresholds),
        eval_size=cfg.eval_size,
        cam_curve_interval=None,
        normalised=None,
    )


# -- plain-text table ----------------------------------------------------------------------------

def _pct(v) -> str:
    return "-" if v is None else f"{float(v):6.2f}"


def _tau(v) -> str:
    return "" if v is None else f"{float(v):.3f}"


def format_table(results: dict) -> str:
    """A readable table of a ``to_json()`` dict (also accepts an ``EvalResult``)."""
    if isinstance(results, EvalResult):
        results = results.to_json(include_curves=False)
    size = results.get("eval_size")
    n = results.get("n_images")
    head = (f"WSOL evaluation: {plural(int(n), 'image') if isinstance(n, int | float) else '? images'}, "
            f"grid {'original image size' if size is None else f'{size}x{size}'}")
    if results.get("cam_curve_interval") is not None:
        head += f", tau step {results['cam_curve_interval']:g}"
    rows = _box_accuracy_rows(results)
    for key, label in (("Top1Loc", "Top-1 Loc"), ("Top5Loc", "Top-5 Loc"), ("PxAP", "PxAP")):
        if key in results:
            rows.append((label, _pct(results[key]), ""))
    et = results.get("errors_threshold")
    error_rows = (("LPE", "LPE (part error)"), ("LME", "LME (more error)"), ("MIns", "MIns (multi-instance)"))
    for key, label in error_rows:
        if results.get(key) is not None:
            rows.append((label, _pct(results[key]), _tau(et)))
    w = max(len(r[0]) for r in rows)
    lines = [head, f"{'metric':<{w}}  {'%':>6}  tau", "-" * (w + 18)]
    lines += [f"{name:<{w}}  {val:>6}  {tau}".rstrip() for name, val, tau in rows]
    return "\n".join(lines)


def _box_accuracy_rows(results: dict) -> list[tuple[str, str, str]]:
    """(metric, percent, tau) rows of MaxBoxAcc per IoU, V2, V1 and BoxAccV2 at the operating threshold."""
    rows: list[tuple[str, str, str]] = []
    best = results.get("best_thresholds") or {}
    for d, v in (results.get("MaxBoxAcc") or {}).items():
        rows.append((f"MaxBoxAcc  IoU>={d}%", _pct(v), _tau(best.get(d))))
    rows.append(("MaxBoxAccV2 (mean)", _pct(results.get("MaxBoxAccV2")), ""))
    if results.get("MaxBoxAccV1") is not None:
        rows.append(("MaxBoxAccV1 (largest box, IoU>=50%)", _pct(results["MaxBoxAccV1"]), ""))
    op = results.get("BoxAccV2AtOperatingThreshold")
    if op is not None:
        tau = results.get("operating_threshold")
        norm = results.get("operating_normalised")
        where = "box" if tau is None else f"tau {tau:g}, {'normalised' if norm else 'raw'} map"
        for k, v in op.items():
            label = "mean" if k == "mean" else f"IoU>={k}%"
            rows.append((f"BoxAccV2 @ operating ({where}) {label}", _pct(v), ""))
    return rows
