"""Running the frozen encoder over project images: attention maps into the store,
tokens into the feature cache, one ViT forward per image (and per flip)."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from core.data.images import ImageReadError, read_image
from core.data.unreadable import UnreadableFiles
from core.dips.attention import attention_maps, extract_batch
from core.dips.backbones import load_backbone
from core.dips.device import inference_autocast, pick_device
from core.pipeline.config import PipelineConfig
from core.progress import Progress
from core.store.project import Project
from core.store.records import ImageRecord
from core.train.feature_cache import FeatureCache
from core.work_order import Priority, WorkOrder


def _backbone(name: str, weights: str | None, device: str):
    return load_backbone(name, weights=weights, device=device)


class BackboneLoader:
    """The frozen ViT for one piece of work, loaded on first use (nothing to encode: nothing loaded) and kept by
    whoever holds this object: a stage for its steps, ``run_all`` across its stages. No process-wide cache: a
    window that ran a stage does not keep a model in memory, and other weights are never served stale."""

    def __init__(self, cfg: PipelineConfig, backbone=None):
        self.cfg, self._backbone = cfg, backbone

    def __call__(self):
        if self._backbone is None:
            a = self.cfg.attention
            self._backbone = _backbone(a.backbone, a.weights, str(pick_device(self.cfg.device)))
        return self._backbone


def backbone_loader(cfg: PipelineConfig, backbone=None) -> BackboneLoader:
    """``backbone`` as a loader: a BackboneLoader as given, a loaded Backbone wrapped, None: a new loader."""
    return backbone if isinstance(backbone, BackboneLoader) else BackboneLoader(cfg, backbone)


def backbone_for(cfg: PipelineConfig):
    """The configured backbone, loaded now (benchmarks; stages take a BackboneLoader)."""
    return BackboneLoader(cfg)()


def feature_cache(project: Project, cfg: PipelineConfig) -> FeatureCache:
    return FeatureCache(project.work_dir / "features", cfg.backbone_key)


def load_rgb(project: Project, rec: ImageRecord, max_side: int) -> np.ndarray:
    return read_image(project.images.path(rec), max_side=max_side)


def encode_into_cache(backbone, cfg: PipelineConfig, images: list[np.ndarray], content_hashes: list[str],
                      cache: FeatureCache, *, flipped: bool = False) -> np.ndarray:
    """One batch through the frozen ViT: its tokens (and the image at the training resolution) go into
    ``cache`` under each content hash; returns the per-head CLS attention ``[B, heads, gh, gw]`` float32.

    Used in-process by ``encode_records`` and by the Ray actors of ``core.pipeline.cluster``, so both write
    exactly the same cache entries and maps. ``images``: HxWx3 uint8 RGB (already flipped when ``flipped``).
    """
    device = next(backbone.parameters()).device
    S, R = cfg.attention.input_size, cfg.train.train_res
    with torch.inference_mode(), inference_autocast(device, cfg.attention.precision):
        feats = extract_batch(backbone, images, S)
    maps = attention_maps(feats)
    tokens = feats.patch_tokens.float().cpu().numpy()
    cls = feats.cls_tokens.float().cpu().numpy()
    for j, content_hash in enumerate(content_hashes):
        rgb = None
        if not flipped:
            rgb = cv2.resize(images[j], (R, R), interpolation=cv2.INTER_AREA).transpose(2, 0, 1)
        cache.put(content_hash, tokens[j], cls[j], rgb, flipped=flipped)
    return maps


def encode_records(project: Project, cfg: PipelineConfig, records: list[ImageRecord], progress: Progress, *,
                   flipped: bool = False, store_attention: bool = True, stage: str = "attention",
                   backbone=None, priority: Priority | None = None,
                   on_request: Sequence[ImageRecord] = ()) -> list[str]:
    """Encode ``records`` in batches with ``backbone`` (a Backbone, a BackboneLoader, or None: the configured
    one), in their order except for the image ids ``priority`` names before each batch (core.work_order), which
    may also name images of ``on_request`` (done only when named).
    Returns the list of problems ('path: reason') skipped; each is recorded (core/data/unreadable.py), and a file
    recorded so and unchanged since is not decoded again (training and prediction skip it too). Each progress
    event's extra holds ``done_ids`` (the batch just stored) and ``next_id``, ``next_path``: the image the next
    batch starts with (None at the end)."""
    backbone = backbone_loader(cfg, backbone)()
    cache = feature_cache(project, cfg)
    key = cache.key   # the backbone key, computed once (a user's weight folder is read to hash it)
    S = cfg.attention.input_size
    problems: list[str] = []
    unreadable = UnreadableFiles(project, project.image_root)   # failures kept, so a resume does not decode again
    progress.start(stage, len(records), f"{backbone.key} at {S}px on {next(backbone.parameters()).device}")
    done = 0
    bs = max(1, cfg.attention.batch_size)
    todo = WorkOrder(records, priority, on_request=on_request)
    while len(todo):
        batch = todo.take(bs)
        chunk, images = [], []
        for rec in batch:
            if (failed := unreadable.still_unreadable(rec.rel_path)) is not None:   # as it was when it failed
                problems.append(f"{project.images.path(rec)}: {failed.reason}")
                continue
            try:
                img = load_rgb(project, rec, max_side=2 * S)
            except ImageReadError as exc:
                problems.append(str(exc))
                unreadable.record(rec.rel_path, exc.reason)
                continue
            unreadable.forget(rec.rel_path)
            if flipped:
                img = np.ascontiguousarray(img[:, ::-1])
            chunk.append(rec)
            images.append(img)
        if images:
            maps = encode_into_cache(backbone, cfg, images, [r.content_hash for r in chunk], cache, flipped=flipped)
            if store_attention:
                for j, rec in enumerate(chunk):
                    project.maps.save_attention(rec.id, key, maps[j])
        done += len(batch)
        progress.update(done, todo.total, batch[-1].rel_path, done_ids=[r.id for r in batch], **next_up(todo))
        unreadable.save()      # per batch, as the maps are: a cancelled stage keeps what it learned
    return problems


def next_up(todo: WorkOrder) -> dict:
    """What a stage says it does next, for the status bar: ``{"next_id", "next_path"}`` (None when done)."""
    rec = todo.peek()
    return {"next_id": rec.id if rec is not None else None, "next_path": rec.rel_path if rec is not None else None}
