from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import torch

from core.class_roles import PROPOSALS_PENDING
from core.data.changed_files import reread_changed_images
from core.data.images import ImageReadError
from core.data.unreadable import UnreadableFiles, without_unreadable
from core.dips.device import pick_device
from core.dips.scoring import propose
from core.pipeline.config import PipelineConfig, load_config
from core.pipeline.encoding import load_rgb, next_up
from core.pipeline.scorer import class_index, get_scorer
from core.progress import NULL_PROGRESS, Progress
from core.store.project import Project
from core.store.repos.images import ImageFilter
from core.store.repos.proposals import NewProposal
from core.work_order import Priority, WorkOrder

# What the stored proposals were made with, and the images still to redo after that changed.
META_SETTINGS = "proposals_settings"
META_PENDING = PROPOSALS_PENDING   # one key: a change of background classes queues images here too
_NOT_RANK_CHANGING = ("K", "scoring_precision")   # K only picks the pool; precision moves scores by ~1e-2


# Settings added after proposals were first recorded: at these values they change nothing, and leaving
# them out of the key keeps existing projects' proposals valid.
_ADDED_LATER = {"deletion": False, "zoom_context": 0.0}


def settings_key(cfg: PipelineConfig) -> str:
    d = {k: v for k, v in asdict(cfg.proposals).items()
         if k not in _NOT_RANK_CHANGING and not (k in _ADDED_LATER and _ADDED_LATER[k] == v)}
    return json.dumps({"backbone": cfg.backbone_key, **d}, sort_keys=True)


def _stale_ids(project: Project, cfg: PipelineConfig, eligible: set[int], force: bool) -> set[int]:
    """Images whose proposals must be (re)made beyond those that have none: every eligible one when forced
    or right after a change of settings, then what a cancelled redo left pending."""
    key = settings_key(cfg)
    if force or project.get_meta(META_SETTINGS) != key:
        pending = eligible if force or project.proposals.count() else set()
        project.set_meta(META_PENDING, json.dumps(sorted(pending)))
        project.set_meta(META_SETTINGS, key)
    return set(json.loads(project.get_meta(META_PENDING) or "[]")) & eligible


def compute_proposals(project: Project, cfg: PipelineConfig | None = None, progress: Progress = NULL_PROGRESS,
                      image_ids: list[int] | None = None, force: bool = False, backbone=None,
                      priority: Priority | None = None) -> int:
    """Ranked discriminative proposals (Alg. 1) for labelled images of object classes.

    Images go in file order, except that before each one the ids ``priority`` returns (core.work_order: the
    image on screen and its neighbours) are taken first.

    Needs attention maps (compute_attention). Images without proposals are done, and all of them again
    when the proposal settings changed since (a cancelled redo resumes where it stopped). Inspectors'
    accept/reject decisions survive a re-run (see ProposalRepo.replace). Returns the number of images
    processed.
    """
    cfg = cfg or load_config(project)
    records, stale = proposal_todo(project, cfg, image_ids, force)
    if not records:
        return 0
    index = class_index(project)
    classify = get_scorer(project, cfg, progress, backbone=backbone)
    device = pick_device(cfg.device)   # blur and compose the perturbed images where the scorer runs
    key = cfg.backbone_key             # once: with a user's weight folder it reads and hashes files
    progress.start("proposals", len(records))
    s = cfg.proposals.scoring_size
    done = 0
    todo = WorkOrder(records, priority)
    unreadable = UnreadableFiles(project, project.image_root)   # broken since its maps were made: not read again
    try:
        for rec in todo:
            try:
                img = load_rgb(project, rec, max_side=2 * s)
            except ImageReadError as exc:
                unreadable.record(rec.rel_path, exc.reason)
                done += 1
                progress.update(done, len(records), f"{rec.rel_path}: {exc.reason}", **next_up(todo))
                continue
            image01 = torch.from_numpy(img).to(device).permute(2, 0, 1).float().div(255)
            maps = project.maps.attention(rec.id, key)
            ranked = propose(image01, maps, index[rec.class_id], classify, cfg.proposals)
            done += 1
            store_proposals(project, rec, [(p.box, p.source_map, p.score, p.class_prob) for p in ranked], stale, done)
            progress.update(done, len(records), rec.rel_path, done_ids=[rec.id], **next_up(todo))
    finally:
        unreadable.save()
        if image_ids is None:   # also on cancel or error: the next run redoes only what is left
            project.set_meta(META_PENDING, json.dumps(sorted(stale)))   # unreadable images stay pending
    return done


def object_class_images(project: Project, cfg: PipelineConfig) -> list:
    """The images on disk labelled with an object class (not a background one): those proposals are made for."""
    names = project.class_names()
    index = class_index(project)
    return [r for r in project.images.list(ImageFilter(include_missing=False))
            if r.class_id in index and not cfg.is_background(names.get(r.class_id))]


def proposal_todo(project: Project, cfg: PipelineConfig, image_ids: list[int] | None = None,
                  force: bool = False) -> tuple[list, set[int]]:
    """(images to propose on, the stale ones among them): labelled images of object classes with attention
    maps that have no proposals, or whose proposals were made with other settings. Shared with the Ray stage. A file
    changed on disk since it was read loses its maps and proposals first (core/data/changed_files.py): it waits for
    the attention stage."""
    reread_changed_images(project, image_ids)
    with_maps = project.maps.image_ids_with_attention(cfg.backbone_key)
    records = [r for r in object_class_images(project, cfg) if r.id in with_maps]
    if image_ids is not None:
        wanted = set(image_ids)
        records = [r for r in records if r.id in wanted]
    stale = _stale_ids(project, cfg, {r.id for r in records}, force) if image_ids is None else set()
    if not force:
        have = project.proposals.image_ids_with_proposals()
        records = [r for r in records if r.id not in have or r.id in stale]
    return without_unreadable(project, records)[0], stale   # failed to decode, unchanged since: would fail again


def store_proposals(project: Project, rec, ranked: list[tuple], stale: set[int], done: int) -> None:
    """Store one image's ranked proposals, ``(box in [0, 1] xyxy, source map, score, class prob)`` in rank
    order, and keep the record of what a cancelled redo has left (every 20 images)."""
    scale = np.array([rec.width, rec.height, rec.width, rec.height], dtype=np.float64)
    project.proposals.replace(rec.id, [NewProposal(_xyxy(np.asarray(box) * scale), int(source), float(score),
                                                   float(prob)) for box, source, score, prob in ranked])
    if rec.id in stale:
        stale.discard(rec.id)
        if done % 20 == 0:   # a killed redo loses at most 20 images of progress
            project.set_meta(META_PENDING, json.dumps(sorted(stale)))


def _xyxy(b: np.ndarray) -> tuple[float, float, float, float]:
    return float(b[0]), float(b[1]), float(b[2]), float(b[3])
