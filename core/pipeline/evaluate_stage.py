from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.data.paths import ImageMatcher
from core.errors import NoMapsError
from core.eval import EvalConfig, evaluate_boxes, evaluate_maps, read_wsol_metadata
from core.pipeline.scorer import class_index
from core.progress import NULL_PROGRESS, Progress
from core.result_checks import small_sample_warning
from core.store.project import Project
from core.store.repos.images import ImageFilter

MAP_TYPES = ("predicted", "attention", "proposal")
# the command that makes each kind of map, said as every other command says it: "run 'predict' first"
NEEDS = {"predicted": "predict", "attention": "attention", "proposal": "proposals"}


def _ground_truth(project: Project, records, metadata: Path | None, split: str
                  ) -> tuple[dict[int, np.ndarray], dict | None]:
    """image id -> [K, 4] GT boxes in image pixels (project GT, or a wsolevaluation metadata folder), and for a
    metadata folder what became of its listed images (see ``metadata_summary``)."""
    if metadata is None:
        by_image: dict[int, list] = {}
        for g in project.boxes.gt():
            by_image.setdefault(g.image_id, []).append(g.xyxy)
        return {k: np.asarray(v, dtype=np.float64) for k, v in by_image.items()}, None
    meta = read_wsol_metadata(Path(metadata))
    matcher = ImageMatcher(project.images.list(ImageFilter()), lambda r: r.rel_path, project.image_root)
    in_split = {r.id for r in records}
    out: dict[int, np.ndarray] = {}
    not_found: list[str] = []
    outside: list[str] = []
    for path, boxes in zip(meta.image_ids, meta.gt_boxes(), strict=True):
        found = matcher.match(path)
        if found.item is None:
            not_found.append(path + (f" ({found.reason})" if found.candidates else ""))
        elif found.item.missing:
            not_found.append(f"{path} (file missing)")
        elif found.item.id not in in_split:
            outside.append(path)
        elif len(boxes):
            out[found.item.id] = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    coverage = {"folder": str(metadata), "listed": len(meta.image_ids), "matched": len(out),
                "not_found": not_found, "outside_split": outside}
    if not out:
        raise ValueError(f"{metadata}: none of the {len(meta.image_ids)} images listed in image_ids.txt is in the "
                         f"'{split}' split of the project ({len(not_found)} not found, {len(outside)} outside the "
                         "split)" + (f"; first not found: {not_found[0]}" if not_found else ""))
    return out, coverage


def metadata_summary(result: dict, limit: int = 10) -> str | None:
    """'4 listed, 3 evaluated; not found: ...; outside the split: ...' for a metadata evaluation, else None."""
    cov = result.get("metadata")
    if not cov:
        return None

    def names(items: list[str]) -> str:
        return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")
    parts = [f"{cov['listed']} listed, {cov['evaluated']} evaluated"]
    if cov["not_found"]:
        parts.append(f"not found: {names(cov['not_found'])}")
    if cov["outside_split"]:
        parts.append(f"outside the '{result.get('split')}' split: {names(cov['outside_split'])}")
    if cov.get("without_maps"):
        parts.append(f"without {result.get('maps')} maps: {names(cov['without_maps'])}")
    return "; ".join(parts)


def evaluate(project: Project, split: str = "test", maps: str = "predicted", details: bool = False,
             metadata: Path | None = None, progress: Progress = NULL_PROGRESS,
             cfg: EvalConfig | None = None, prediction_run: int | None = None) -> dict:
    """WSOL figures (percent) of one kind of map against ground truth, on one split.

    ``predicted``: the DiPS foreground map of the latest prediction run; ``attention``: the
    raw SST map that the classifier-based selection picked (source map of the top-ranked
    proposal; the paper's Table 4 baseline); ``proposal``: the top-ranked proposal box.
    ``prediction_run`` picks a prediction run (default: each image's latest). With ``metadata`` (a
    wsolevaluation folder) the result has ``metadata``: listed, evaluated, not found, outside the split; a
    folder none of whose images is in the split raises ``ValueError``. For predicted maps ``prediction_warning``
    is the evaluated run's recorded warning (a model that learned nothing), or None. ``small_sample_warning``:
    words saying the split has too few object images with ground truth to trust its percentages (how many), or None.
    """
    if maps not in MAP_TYPES:
        raise ValueError(f"maps must be one of {MAP_TYPES}, not {maps!r}")
    _check_prediction_run(project, prediction_run)
    f = ImageFilter(include_missing=False) if split == "all" else ImageFilter(split=split, include_missing=False)
    records = project.images.list(f)
    gt, coverage = _ground_truth(project, records, metadata, split)
    records = [r for r in records if r.id in gt]
    if not records:
        raise ValueError(f"{project.path}: no ground-truth boxes on the '{split}' split "
                         "(import them with: import-coco PROJECT FILE --as gt)")
    index = class_index(project)
    cfg = cfg or EvalConfig()
    kept, arrays, probs = _collect_maps(project, records, maps, prediction_run)
    if not kept:
        raise NoMapsError(f"{project.path}: no {maps} maps for the '{split}' images with ground truth "
                          f"(run '{NEEDS[maps]}' first)",
                          maps, split)
    sizes = [(r.width, r.height) for r in kept]
    gts = [gt[r.id] for r in kept]
    labels = np.asarray([index.get(r.class_id, -1) if r.class_id is not None else -1 for r in kept])
    class_probs = np.asarray(probs) if maps == "predicted" and probs and all(len(p) for p in probs) else None
    if maps == "proposal":
        result = evaluate_boxes(arrays, gts, sizes, cfg)
    else:
        tau = _operating_threshold(project, prediction_run) if maps == "predicted" else None
        result = evaluate_maps(arrays, gts, sizes, cfg, class_probs=class_probs,
                               labels=labels if class_probs is not None else None, map_type=maps,
                               operating_threshold=tau,
                               progress=progress if progress is not NULL_PROGRESS else None)
    out = result.to_json(include_curves=details)
    out.update({"split": split, "maps": maps, "n_without_maps": len(records) - len(kept)})
    # too few object images with ground truth for the percentages to mean much (core/result_checks.py): the same
    # words in the JSON as on screen, null from MIN_OBJECT_IMAGES on
    out["small_sample_warning"] = small_sample_warning(out["n_images"])
    if maps == "predicted":
        # the run's own check (core/result_checks.py, recorded by predict): a model that learned nothing scores ~0.5
        # like any other, so its figures go out with the same words predict printed
        out["prediction_warning"] = project.maps.prediction_warning(prediction_run)
    if coverage is not None:
        kept_ids = {r.id for r in kept}
        out["metadata"] = {**coverage, "evaluated": len(kept),
                           "without_maps": [r.rel_path for r in records if r.id not in kept_ids]}
    if details:
        _add_details(out, result, kept)
    return out


def _collect_maps(project: Project, records, maps: str, prediction_run: int | None) -> tuple[list, list, list]:
    """(the records that have a map, their maps or boxes, their class probabilities: predicted maps only)."""
    kept, arrays, probs = [], [], []
    for rec in records:
        found = _map_of(project, rec, maps, prediction_run)
        if found is None:
            continue
        arrays.append(found[0])
        if maps == "predicted":
            probs.append(found[1])
        kept.append(rec)
    return kept, arrays, probs


def _check_prediction_run(project: Project, prediction_run: int | None) -> None:
    """A run that does not exist is said as such (ValueError), not as 'no maps: run 'predict' first'."""
    if prediction_run is None:
        return
    runs = [r.id for r in project.maps.prediction_runs()]
    if prediction_run not in runs:
        raise ValueError(f"{project.path}: no prediction run #{prediction_run} (the project's prediction runs: "
                         f"{', '.join(f'#{r}' for r in runs) if runs else 'none'}; 'info' names the latest)")


def _map_of(project: Project, rec, maps: str, prediction_run: int | None) -> tuple[np.ndarray, Any] | None:
    """(map or boxes, class probabilities or None) of one image for ``maps``; None when it has none."""
    if maps == "predicted":
        pred = project.maps.prediction(rec.id, prediction_run)
        return None if pred is None else (pred.fg_map, pred.class_probs)
    if maps == "attention":
        att = project.maps.attention(rec.id)
        if not att:
            return None
        top = project.proposals.list(rec.id)
        head = top[0].source_map if top else -1
        return att.get(head, att[-1]), None
    top = project.proposals.list(rec.id)
    return (np.asarray([top[0].xyxy], dtype=np.float64) if top else np.zeros((0, 4))), None


def _operating_threshold(project: Project, prediction_run: int | None) -> float | None:
    """The threshold the prediction run drew its boxes at (calibrated, no GT)."""
    run_id = prediction_run if prediction_run is not None else project.maps.latest_run_id()
    return project.maps.prediction_run_config(run_id).get("operating_threshold") if run_id else None


def _add_details(out: dict, result, kept: list) -> None:
    """Per-image IoUs (worst first) and the threshold curve, for the evaluation panel."""
    ious = result.per_image_iou if result.per_image_iou is not None else np.full(len(kept), np.nan)
    out["per_image"] = sorted(({"image_id": r.id, "rel_path": r.rel_path, "iou": float(i)}
                               for r, i in zip(kept, ious, strict=True)), key=lambda d: d["iou"])
    if "curves" in out:
        out["curve"] = {"thresholds": out["curves"]["thresholds"], **out["curves"]["BoxAccV2"]}
