from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.data.changed_files import reread_changed_images
from core.data.unreadable import UNREADABLE_KEY, without_unreadable
from core.dips.device import pick_device
from core.dips.map_boxes import BoxDrawConfig, draw_boxes
from core.pipeline.config import PipelineConfig, load_config
from core.pipeline.encoding import encode_records, feature_cache
from core.progress import NULL_PROGRESS, Progress
from core.result_checks import PredictionCheck
from core.run_names import training_run_name
from core.store.project import Project
from core.store.repos.images import ImageFilter
from core.train.feature_cache import FeatureCache
from core.train.predictor import LoadedModel, best_threshold, run_on_cached

# Predicted boxes are drawn where the foreground probability passes the operating threshold. It is chosen
# once per prediction run WITHOUT ground truth: the threshold at which the boxes of the training images
# agree best with their pseudo boxes (curated boxes, else the top-1 proposal). 0.5 (the softmax's natural
# cut) is the fallback when fewer than CALIBRATION_MIN images have pseudo boxes. On the demo data the
# calibrated threshold was 0.85, and box accuracy at it rose from 33-35 % to 46-52 % on train and val. Curated
# boxes choose it (and the drawing) only on images the training run did not learn them from (issue 14, sixth pass).
OPERATING_THRESHOLD = 0.5
THRESHOLD_GRID = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))   # 0.30 ... 0.95: the fit to curated boxes
# The calibration (threshold_on) looks lower too: the workshop U-Net's maps from image labels peak near 0.55 and mark
# the object at about 0.2, where 0.30-0.95 found only fragments (issue 14, eighth pass: 4.2 -> 16.7 % at IoU 0.5 for
# one U-Net seed; the threshold chosen for five token-decoder runs, aerial and demo, was the same on both grids).
CALIBRATION_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))   # 0.05 ... 0.95
CALIBRATION_IMAGES = 200   # at most this many training images (evenly spread) choose the threshold
CALIBRATION_MIN = 5


def boxes_for_map(fg: np.ndarray, width: int, height: int, p_object: float = 1.0,
                  threshold: float = OPERATING_THRESHOLD, draw: BoxDrawConfig | None = None,
                  rgb: np.ndarray | None = None) -> list[tuple[float, float, float, float, float]]:
    """Boxes (image pixels) around the map's regions above the operating threshold, drawn as ``draw`` says
    (core/dips/map_boxes.py: size floor, merging, duplicates, score; ``rgb`` [h, w, 3] for GrabCut).

    Score = the box's score from the map x ``p_object``, the probability that the image shows an object at
    all (see ``_object_probability``); below 0.5 the image gets no boxes.
    """
    if p_object < 0.5:
        return []
    h, w = fg.shape
    return [(x0 / w * width, y0 / h * height, x1 / w * width, y1 / h * height, score * p_object)
            for x0, y0, x1, y1, score in draw_boxes(fg, threshold, draw, rgb)]


def _rgb_on_map(cache, content_hash: str, shape: tuple[int, int]) -> np.ndarray:
    """The cached small RGB copy of an image as [h, w, 3] uint8 on the map's grid (for GrabCut)."""
    import cv2
    rgb = np.ascontiguousarray(np.asarray(cache.get(content_hash).rgb, dtype=np.uint8).transpose(1, 2, 0))
    return rgb if rgb.shape[:2] == tuple(shape) else cv2.resize(rgb, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def _object_probability(class_probs: np.ndarray, object_classes: np.ndarray, label: str | None,
                        cfg: PipelineConfig) -> float:
    """How sure we are that the image shows an object: its label when it has one (the GT-known setting of
    WSOL), f_c's probability of the object classes when it has none."""
    if label is not None:
        return 0.0 if cfg.is_background(label) else 1.0
    return float(class_probs[object_classes].sum()) if object_classes.any() else 1.0


def _pseudo_boxes(project: Project, rec) -> np.ndarray | None:
    """What training believed about an image: its curated boxes, else its top-1 kept proposal."""
    curated = project.boxes.list(rec.id)
    if curated:
        return np.array([b.xyxy for b in curated], dtype=np.float64)
    props = project.proposals.list(rec.id, include_rejected=False)
    return np.array([props[0].xyxy], dtype=np.float64) if props else None


def _maps_of(model: LoadedModel, cache, picks) -> list[np.ndarray]:
    """The model's foreground maps [h, w] of the picked images, 16 at a time."""
    maps: list[np.ndarray] = []
    for i in range(0, len(picks), 16):
        maps.extend(run_on_cached(model, cache, [r.content_hash for r, _ in picks[i:i + 16]])[1])
    return maps


def _spread(picks: list) -> list:
    """At most CALIBRATION_IMAGES of ``picks``, evenly spread."""
    if len(picks) > CALIBRATION_IMAGES:
        return [picks[int(i)] for i in np.linspace(0, len(picks) - 1, CALIBRATION_IMAGES)]
    return picks


def threshold_on(model: LoadedModel, cache, picks) -> float:
    """The threshold in CALIBRATION_GRID whose boxes best match the picks' boxes (mean BoxAccV2 at IoU 30/50/70;
    ties go to the one nearest 0.5). ``picks``: (image, boxes [M, 4] in image pixels), at least one."""
    picks = _spread(picks)
    return best_threshold(_maps_of(model, cache, picks), [b for _, b in picks], [(r.width, r.height) for r, _ in picks],
                          CALIBRATION_GRID, prefer=OPERATING_THRESHOLD)


def pseudo_picks(project: Project, records, cache) -> list:
    """(image, what training believed about it [M, 4]) of the train split's images with cached features."""
    return [(r, b) for r in records if r.split == "train" and cache.has(r.content_hash)
            for b in [_pseudo_boxes(project, r)] if b is not None]


def calibrate_threshold(project: Project, model: LoadedModel, cache, records,
                        learned: RunLearned | None = None) -> tuple[float, int]:
    """(operating threshold, images it was chosen on): the threshold in CALIBRATION_GRID whose boxes best
    match the pseudo boxes of the training images (``threshold_on``). Once CALIBRATION_MIN curated images are held
    out for the run (``curated_picks``: the run's localizer did not learn from their boxes; ``learned``: what the
    training run learned from, ``RunLearned``) those alone choose it: they are the inspector's own boxes, while a
    proposal may be a speck (issue 14), and on images it trained on the head is more confident than on new ones.
    Fewer: the training images' pseudo boxes as before. (0.5, 0) when fewer than CALIBRATION_MIN images have
    either. No ground truth is read."""
    picks = curated_picks(project, records, cache, learned).held_out
    if len(picks) < CALIBRATION_MIN:
        picks = pseudo_picks(project, records, cache)
    if len(picks) < CALIBRATION_MIN:
        return OPERATING_THRESHOLD, 0
    return threshold_on(model, cache, picks), len(_spread(picks))


# what fit_to_curated may change in the project's box drawing (each judged at every threshold of the grid)
FIT_VARIANTS: tuple[dict[str, Any], ...] = ({}, {"grabcut": True}, {"split_touching": 0.15})


@dataclass(frozen=True)
class CuratedPicks:
    """Curated images (image, its curated boxes [M, 4] image pixels) split by what a training run learned."""
    held_out: list   # the run's localizer could not have learned from their boxes: the fit is judged on these
    trained: list    # train-split images whose curated boxes (some of them) were there when the run started


@dataclass(frozen=True)
class RunLearned:
    """What a training run's localizer learned curated boxes from: the curated images it trained on, as the run
    recorded them when it drew its samples (``curated_images`` in its metrics, runs since issue 14's sixth pass),
    else the time it started (older runs: an image whose box was created or last moved before then counts)."""
    started: datetime | None = None          # naive UTC, as stored
    curated_images: frozenset[int] | None = None

    @classmethod
    def of(cls, run) -> RunLearned:
        ids = (run.metrics or {}).get("curated_images")
        return cls(run.started_at, frozenset(int(i) for i in ids) if isinstance(ids, list) else None)


def trained_on(rec, boxes, learned: RunLearned | None) -> bool:
    """Whether the training run described by ``learned`` could have learned the image's curated ``boxes``
    (core/pipeline/train_stage.py build_samples: the localizer trains on the train split only, on an image's curated
    boxes where it has some). With the run's own list, exactly the images on it; else a box is new to the run when it
    was created or last moved after the run started, and a box with no time, or an unknown run, counts as learned."""
    if rec.split != "train":
        return False
    if learned is not None and learned.curated_images is not None:
        return rec.id in learned.curated_images
    if learned is None or learned.started is None:
        return True
    started = learned.started
    return any((b.updated_at or b.created_at or datetime.min) <= started for b in boxes)


def curated_picks(project: Project, records, cache, learned: RunLearned | None = None) -> CuratedPicks:
    """The images with curated boxes and cached features, test split excepted (evaluation reports on it, so nothing
    fitted, the localizer, the threshold, the drawing, may learn from it), split into held out / trained on for the
    training run described by ``learned`` (``trained_on``). ``records`` None: every image on disk that carries curated
    boxes (read from the boxes themselves, one query)."""
    curated: dict[int, list] = {}
    for b in project.boxes.all():
        curated.setdefault(b.image_id, []).append(b)
    if records is None:
        records = [r for r in project.images.by_ids(sorted(curated)).values() if not r.missing]
    held: list = []
    trained: list = []
    for r in records:
        if r.id in curated and r.split != "test" and cache.has(r.content_hash):
            pick = (r, np.array([b.xyxy for b in curated[r.id]], dtype=np.float64))
            (trained if trained_on(r, curated[r.id], learned) else held).append(pick)
    return CuratedPicks(held, trained)


def curated_digests(picks) -> dict[str, str]:
    """Per image of ``picks`` ((image, its curated boxes [M, 4] image pixels)), a short digest of its boxes (their
    corners to 0.01 px, in any order): what a prediction run records of the held-out boxes it was fitted on, so that
    ``run`` can tell later which of them were added, moved or deleted since (core/pipeline/refit.py). Keys are image
    ids as strings (JSON)."""
    out = {}
    for rec, boxes in picks:
        corners = np.round(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), 2)
        corners = corners[np.lexsort(corners.T[::-1])]
        out[str(rec.id)] = hashlib.sha1(corners.tobytes()).hexdigest()[:12]
    return out


def fit_on(model: LoadedModel, cache, picks, draw: BoxDrawConfig) -> tuple[float, BoxDrawConfig, int]:
    """(threshold, box drawing, kept) whose best box the inspector would have kept most often on ``picks`` ((image,
    its curated boxes [M, 4]), at least one): per image the review's gain of that box (core/dips/suggest.py: kept as
    is, adjusted, or rejected), summed; ties go to the threshold nearest 0.5, then to ``draw`` as set. ``kept``: on
    how many of the picks (spread as ``_spread`` does) that box would have been kept (IoU >= 0.5 with a curated box);
    0 says no threshold drew a box the inspector keeps there, so the one chosen draws few boxes or none."""
    from core.dips.suggest import SuggestionGate, box_outcomes
    picks = _spread(picks)
    maps = _maps_of(model, cache, picks)
    gain = SuggestionGate().gain
    best: tuple[tuple[float, float, int], float, BoxDrawConfig, int] | None = None
    for k, change in enumerate(FIT_VARIANTS):
        d = replace(draw, **change)
        rgbs = [_rgb_on_map(cache, r.content_hash, m.shape) if d.grabcut else None
                for (r, _), m in zip(picks, maps, strict=True)]
        for t in THRESHOLD_GRID:
            total, kept = 0.0, 0
            for (r, truth), m, rgb in zip(picks, maps, rgbs, strict=True):
                top = boxes_for_map(m, r.width, r.height, 1.0, t, replace(d, max_boxes=1), rgb)
                if top:
                    outcome = box_outcomes(np.array([b[:4] for b in top]), truth)[0]
                    total += gain(outcome)
                    kept += outcome != "reject"
            key = (total, -abs(t - OPERATING_THRESHOLD), -k)
            if best is None or key > best[0]:
                best = (key, t, d, kept)
    assert best is not None   # FIT_VARIANTS and THRESHOLD_GRID are not empty
    return float(best[1]), best[2], best[3]


def fit_drawing(project: Project, model: LoadedModel, cache, records, draw: BoxDrawConfig,
                learned: RunLearned | None = None) -> tuple[float, BoxDrawConfig, int]:
    """(threshold, box drawing, images fitted on): ``fit_on`` the curated images held out for the training run
    described by ``learned`` (``curated_picks``). (OPERATING_THRESHOLD, ``draw``, 0) when fewer than
    CALIBRATION_MIN are: fitted on the images the run trained on, the head's maps are over-confident and the fit
    picks a threshold and drawing that leave most new images without a box (docs/BENCHMARKS.md, issue 14 sixth pass)."""
    picks = curated_picks(project, records, cache, learned).held_out
    if len(picks) < CALIBRATION_MIN:
        return OPERATING_THRESHOLD, draw, 0
    tau, chosen, _ = fit_on(model, cache, picks, draw)
    return tau, chosen, len(_spread(picks))


def choose_operating_point(project: Project, model: LoadedModel, cache, records, cfg: PipelineConfig,
                           learned: RunLearned | None) -> tuple[float, PipelineConfig, dict[str, Any]]:
    """(operating threshold, ``cfg`` with the drawing to use, how they were chosen) for a prediction run of the
    training run described by ``learned`` (``RunLearned``). The project's own threshold is used as is; else the
    drawing and threshold are fitted to the curated images held out for the run (``fit_drawing``) when the project
    fits to curated boxes and CALIBRATION_MIN are, else the threshold is calibrated (``calibrate_threshold``) and the
    drawing is the project's. The record (stored in the run's config, worded by core.run_figures.threshold_words):
    ``threshold_source`` ("project", "fit", "curated", "pseudo" or "default"), ``calibrated_on`` / ``fitted_to_curated``
    (images chosen on; 0 when not), ``curated_held_out`` / ``curated_trained_on`` (curated images of the train and val
    splits the run did not / did learn from), ``curated_held_out_boxes`` (``curated_digests`` of the held-out ones),
    ``curated_needed`` (CALIBRATION_MIN), and after a fit ``fit_kept`` (0 says the run's boxes were wrong on all of
    them)."""
    picks = curated_picks(project, records, cache, learned)
    record: dict[str, Any] = {"calibrated_on": 0, "fitted_to_curated": 0, "curated_held_out": len(picks.held_out),
                              "curated_trained_on": len(picks.trained), "curated_needed": CALIBRATION_MIN,
                              "curated_held_out_boxes": curated_digests(picks.held_out)}
    if cfg.boxes.threshold is not None:   # the project's own choice
        return float(cfg.boxes.threshold), cfg, {**record, "threshold_source": "project"}
    if cfg.boxes.fit_to_curated and len(picks.held_out) >= CALIBRATION_MIN:   # as fit_drawing, keeping ``kept``
        tau, draw, kept = fit_on(model, cache, picks.held_out, cfg.boxes)
        fitted = len(_spread(picks.held_out))
        return tau, replace(cfg, boxes=draw), {**record, "threshold_source": "fit", "calibrated_on": fitted,
                                               "fitted_to_curated": fitted, "fit_kept": kept}
    tau, n_cal = calibrate_threshold(project, model, cache, records, learned)
    source = "default" if not n_cal else "curated" if len(picks.held_out) >= CALIBRATION_MIN else "pseudo"
    return tau, cfg, {**record, "threshold_source": source, "calibrated_on": n_cal}


def predict(project: Project, run_id: int | None = None, progress: Progress = NULL_PROGRESS,
            image_ids: list[int] | None = None, cfg: PipelineConfig | None = None, backbone=None) -> int:
    """Class probabilities, foreground map and boxes for every image, as a new prediction run."""
    job = prepare_prediction(project, run_id, progress, image_ids, cfg, backbone)
    progress.start("predict", len(job.records))
    for i in range(0, len(job.records), 16):
        chunk = [r for r in job.records[i:i + 16] if job.cache.has(r.content_hash)]
        if chunk:
            probs, fg = run_on_cached(job.model, job.cache, [r.content_hash for r in chunk])
            for rec, p, m in zip(chunk, probs, fg, strict=True):
                job.store(rec, p, m)
        progress.update(min(i + 16, len(job.records)), len(job.records))
    job.finish()
    return job.pred_run


@dataclass
class PredictionJob:
    """A prediction run under way: the trained model, the images to predict, the run's operating threshold.
    The local stage and the Ray one (core.pipeline.cluster) compute (class probabilities, map) per image
    their own way and hand each to ``store``."""
    project: Project
    cfg: PipelineConfig
    model: LoadedModel
    model_path: Path
    records: list
    cache: FeatureCache
    tau: float
    pred_run: int
    object_classes: np.ndarray
    names: dict
    check: PredictionCheck = field(default_factory=PredictionCheck)

    def store(self, rec, class_probs: np.ndarray, fg: np.ndarray) -> None:
        """Draw the image's boxes from its map with the project's box settings and store map and boxes."""
        p_object = _object_probability(class_probs, self.object_classes, self.names.get(rec.class_id), self.cfg)
        draw = self.cfg.boxes
        rgb = _rgb_on_map(self.cache, rec.content_hash, fg.shape) if draw.grabcut and p_object >= 0.5 else None
        boxes = boxes_for_map(fg, rec.width, rec.height, p_object, self.tau, draw, rgb)
        self.project.maps.save_prediction(self.pred_run, rec.id, class_probs.tolist(), fg, boxes)
        label = self.names.get(rec.class_id)
        if label is not None and not self.cfg.is_background(label):
            self.check.add(fg, boxes, rec.width, rec.height)

    def finish(self) -> str | None:
        """Record the check of the run's output (a model that learned nothing: flat maps, full-frame boxes) with
        the run; returns its warning in plain words, or None."""
        self.project.maps.update_prediction_run_config(self.pred_run, {"check": self.check.record()})
        return self.check.warning()


def prepare_prediction(project: Project, run_id: int | None = None, progress: Progress = NULL_PROGRESS,
                       image_ids: list[int] | None = None, cfg: PipelineConfig | None = None,
                       backbone=None) -> PredictionJob:
    """Load the run's model, encode the images missing from the feature cache, take the project's operating
    threshold or choose one on the training images, and open a new prediction run that records it and the box
    settings. Raises ValueError (no finished run; a run trained
    on another backbone)."""
    cfg = cfg or load_config(project)
    run = project.runs.get(run_id) if run_id is not None else project.runs.latest_finished()
    if run is None or run.status != "finished" or not run.checkpoint_path:
        raise ValueError(f"{project.path}: no finished training run to predict with (run 'train' first)")
    model = LoadedModel(Path(run.checkpoint_path), pick_device(cfg.device))
    # runs trained before weight files were hashed into the key carry the plain "name@size": they were
    # trained on the same name with whatever weights were configured, as today
    if model.backbone not in (cfg.backbone_key, cfg.unhashed_backbone_key):
        raise ValueError(f"{training_run_name(run.id, capital=True)} was trained on {model.backbone}, the project now "
                         f"uses {cfg.backbone_key}")
    # a file replaced since it was read is read again: its new content is encoded, not the old one's features used
    reread_changed_images(project)
    # images recorded as failing to decode (replaced or cut short since their features were cached) are left out
    # of the run and of the threshold's choice; the run keeps which, and the command names each
    every, skipped = without_unreadable(project, project.images.list(ImageFilter(include_missing=False)))
    wanted = None if image_ids is None else set(image_ids)
    records = every if wanted is None else [r for r in every if r.id in wanted]
    cache = feature_cache(project, cfg)
    missing = [r for r in records if not cache.has(r.content_hash)]
    if missing:
        encode_records(project, cfg, missing, progress, stage="features", backbone=backbone)
    tau, cfg, chosen = choose_operating_point(project, model, cache, every, cfg, RunLearned.of(run))
    if wanted is not None:
        skipped = [f for f in skipped if (r := project.images.by_path(f.rel_path)) is not None and r.id in wanted]
    pred_run = project.maps.new_prediction_run(run.id, {"operating_threshold": tau, "boxes": asdict(cfg.boxes),
                                                        **chosen,
                                                        **({UNREADABLE_KEY: {f.rel_path: f.reason for f in skipped}}
                                                           if skipped else {})})
    object_classes = np.array([not cfg.is_background(name) for name in model.classes])
    return PredictionJob(project, cfg, model, Path(run.checkpoint_path), records, cache, tau, pred_run,
                         object_classes, project.class_names())
