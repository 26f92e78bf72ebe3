from __future__ import annotations

import traceback
from dataclasses import replace

import numpy as np
import torch

from core.class_roles import RUN_KEY, run_record
from core.data.changed_files import reread_changed_images
from core.data.unreadable import UNREADABLE_KEY, without_unreadable
from core.dips.device import pick_device
from core.pipeline.config import PipelineConfig, load_config
from core.pipeline.encoding import backbone_loader, encode_records, feature_cache
from core.pipeline.scorer import class_index
from core.progress import NULL_PROGRESS, Cancelled, Progress
from core.run_names import training_run_name
from core.store.repos.images import ImageFilter
from core.store.run_lock import holding_run_lock
from core.train.checkpoint import save_checkpoint
from core.train.config import TrainConfig
from core.train.data import TrainSample
from core.train.loop import train_classifier, train_localizer

NO_BOXES = "no training image has proposals or curated boxes: run 'proposals' first"


def _maps_stack(maps: dict[int, np.ndarray]) -> np.ndarray:
    """[M, gh, gw]: index 0 = mean (head -1), index h+1 = head h."""
    return np.stack([maps[k] for k in sorted(maps)])


def build_samples(project, cfg: PipelineConfig, records) -> list[TrainSample]:
    """Curated boxes take precedence over machine proposals; rejected proposals are never used."""
    names, index = project.class_names(), class_index(project)
    key = cfg.backbone_key   # once: with a user's weight folder it reads and hashes files
    out = []
    for rec in records:
        maps = project.maps.attention(rec.id, key)
        if not maps:
            continue
        stack = _maps_stack(maps)
        w, h = rec.width, rec.height

        def norm(xyxy, w=w, h=h):   # bound now: the loop moves on
            return (xyxy[0] / w, xyxy[1] / h, xyxy[2] / w, xyxy[3] / h)
        if cfg.is_background(names.get(rec.class_id)):
            out.append(TrainSample(rec.content_hash, index[rec.class_id], stack[:1], background_only=True))
            continue
        curated = [norm(b.xyxy) for b in project.boxes.list(rec.id)]
        props = [p for p in project.proposals.list(rec.id, include_rejected=False)][: cfg.train.K]
        pool = [(b, 0) for b in curated] if curated else [(norm(p.xyxy), p.source_map + 1) for p in props]
        if not pool:
            continue
        out.append(TrainSample(rec.content_hash, index[rec.class_id], stack, pool,
                               all_boxes=curated + [norm(p.xyxy) for p in props], curated=bool(curated)))
    return out


def curated_since(project, run) -> int:
    """How many train-split images carry curated boxes that training run ``run`` did not train on (not among the
    ``curated_images`` it recorded): boxes curated since, which only a new training run learns. 0 for a run that
    did not record its images (runs before issue 14's sixth pass) or for None."""
    ids = ((run.metrics or {}) if run is not None else {}).get("curated_images")
    if not isinstance(ids, list):
        return 0
    train = project.images.ids(ImageFilter(split="train", include_missing=False))
    return len({b.image_id for b in project.boxes.all(image_ids=train)} - {int(i) for i in ids})


def _curated_images(project, run_id: int, records, samples: list[TrainSample]) -> list[int]:
    """Ids of the images with curated boxes that the run's localizer trains on (as objects, or as all background for
    a background class), recorded with the run when its samples are drawn, so that the prediction stage fits its
    threshold only on curated images the run did not learn from (core/pipeline/predict_stage.py RunLearned). A
    resumed run keeps the ids it recorded before: its checkpoint learned from those too."""
    sampled = {s.key for s in samples}
    ids = [r.id for r in records if r.content_hash in sampled]
    boxed = {b.image_id for b in project.boxes.all(image_ids=ids)}
    earlier = (project.runs.get(run_id).metrics or {}).get("curated_images") or []
    return sorted(boxed | {int(i) for i in earlier})


def _ensure_cache(project, cfg, records, progress, backbone) -> None:
    cache = feature_cache(project, cfg)
    have_maps = project.maps.image_ids_with_attention(cfg.backbone_key)
    plain = [r for r in records if not cache.has(r.content_hash) or r.id not in have_maps]
    if plain:
        encode_records(project, cfg, plain, progress, stage="features", backbone=backbone)
    if cfg.train.flip:
        flipped = [r for r in records if r.split == "train" and not cache.has(r.content_hash, flipped=True)]
        if flipped:
            encode_records(project, cfg, flipped, progress, flipped=True, store_attention=False,
                           stage="features (flipped)", backbone=backbone)


def _refuse_without_boxes(project, cfg: PipelineConfig) -> None:
    """Fail at once, not after the features are cached, when no object image could teach a box."""
    from core.pipeline.readiness import training_readiness
    ready = training_readiness(project, cfg)
    if ready.labelled and ready.object_classes and ready.object_images and not ready.trainable:
        raise ValueError(f"{project.path}: {NO_BOXES}")


def train(project, cfg: PipelineConfig | None = None, progress: Progress = NULL_PROGRESS,
          resume_run: int | None = None, backbone=None) -> int:
    """Train f_c then f_l on the cached encoder outputs. Returns the training run id."""
    cfg = cfg or load_config(project)
    if resume_run is not None:
        # a resumed run goes on as it started: same head and schedule (its checkpoint needs the same head);
        # only the device follows today's choice
        run = project.runs.get(resume_run)
        if run is None:
            raise ValueError(f"{project.path}: there is no {training_run_name(resume_run)} to resume")
        cfg = replace(cfg, train=replace(TrainConfig.from_checkpoint(run.config), device=cfg.train.device))
    index = class_index(project)
    if not index:
        raise ValueError(f"{project.path}: the project has no classes to train on")
    if resume_run is None:
        _refuse_without_boxes(project, cfg)
    run_id = resume_run if resume_run is not None else project.runs.start(
        {**cfg.train.to_dict(), "backbone": cfg.backbone_key, RUN_KEY: run_record(project, cfg)})
    run_dir = project.work_dir / "runs" / str(run_id)
    with holding_run_lock(project.work_dir, run_id):   # tells other processes this run is alive
        return _train_run(project, cfg, progress, run_id, run_dir, index, backbone)


def _train_run(project, cfg: PipelineConfig, progress: Progress, run_id: int, run_dir, index, backbone) -> int:
    try:
        device = pick_device(cfg.train.device)
        # a file replaced since it was read trains on its new pixels: read again, its features are encoded afresh
        reread_changed_images(project)
        records = [r for r in project.images.list(ImageFilter(include_missing=False))
                   if r.class_id in index and r.split in ("train", "val")]
        # an image whose file broke after it was encoded still has cached features: recorded as failing to decode
        # (core/data/unreadable.py), it trains nothing; the run keeps which, and the command names each
        records, skipped = without_unreadable(project, records)
        left_out = {UNREADABLE_KEY: {f.rel_path: f.reason for f in skipped}} if skipped else {}
        if left_out:
            project.runs.update(run_id, metrics=left_out)
        train_recs = [r for r in records if r.split == "train"]
        val_recs = [r for r in records if r.split == "val"]
        if not train_recs:
            raise ValueError("no labelled images in the training split")
        _ensure_cache(project, cfg, records, progress, backbone_loader(cfg, backbone))
        cache = feature_cache(project, cfg)
        # an image that fails to decode has no features: it is recorded and named by attention and info
        # (core/data/unreadable.py), and trains nothing, instead of stopping the run on its missing cache files
        flip = cfg.train.flip
        train_recs = [r for r in train_recs
                      if cache.has(r.content_hash) and (not flip or cache.has(r.content_hash, flipped=True))]
        val_recs = [r for r in val_recs if cache.has(r.content_hash)]
        if not train_recs:
            raise ValueError("no image of the training split could be decoded (info lists the unreadable ones)")

        def cls_of(recs):
            x = np.stack([np.asarray(cache.get(r.content_hash).cls, dtype=np.float32) for r in recs])
            return torch.from_numpy(x), torch.tensor([index[r.class_id] for r in recs])
        x, y = cls_of(train_recs)
        xv, yv = cls_of(val_recs) if val_recs else (None, None)
        classifier, val_acc = train_classifier(x, y, xv, yv, len(index), cfg.train, progress, device)
        samples = build_samples(project, cfg, train_recs)
        if not any(not s.background_only for s in samples):
            raise ValueError(NO_BOXES)
        curated_ids = _curated_images(project, run_id, train_recs, samples)
        project.runs.update(run_id, metrics={"curated_images": curated_ids, **left_out})
        embed_dim = x.shape[-1]

        def on_epoch(entry, history):
            project.runs.update(run_id, history=history)
        l_cls_classifier = None  # the workshop's frozen CNN for L_CLS (U-Net variant only)
        if cfg.train.decoder == "unet" and cfg.train.lambda_cls > 0 and len(index) >= 2:
            from core.pipeline.scorer import efficientnet_classifier
            l_cls_classifier = efficientnet_classifier(project, cfg, progress)
        localizer, history = train_localizer(samples, cache, cfg.train, embed_dim, progress, device,
                                             ckpt_path=run_dir / "last.pt", on_epoch=on_epoch,
                                             classifier=l_cls_classifier)
        model_path = run_dir / "model.pt"
        save_checkpoint({"classifier": classifier.state_dict(), "localizer": localizer.state_dict(),
                         "train_config": cfg.train.to_dict(), "backbone": cfg.backbone_key,
                         "attention": cfg.to_dict()["attention"], "embed_dim": embed_dim, "n_blocks": x.shape[1],
                         "classes": [c.name for c in project.classes()]}, model_path)
        metrics = {"val_accuracy": val_acc, "n_train": len(samples),
                   **left_out,
                   "final_loss": history[-1]["loss"] if history else None, "curated_images": curated_ids}
        project.runs.update(run_id, history=history, metrics=metrics, checkpoint_path=str(model_path),
                            status="finished")
        return run_id
    except Cancelled:
        project.runs.update(run_id, status="cancelled")
        raise
    except Exception as exc:
        project.runs.update(run_id, status="failed", error=f"{exc}\n{traceback.format_exc()}")
        raise
