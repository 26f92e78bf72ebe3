"""Which per-image stages a project has left unfinished (a run cancelled, the window closed mid-way, images
added): what the window resumes on its own when the project opens. Read-only: nothing is written."""
from __future__ import annotations

import json

from core.data.unreadable import UnreadableFiles
from core.pipeline.attention_stage import attention_todo, background_class_ids
from core.pipeline.config import PipelineConfig, load_config
from core.pipeline.proposal_stage import META_PENDING
from core.pipeline.scorer import class_index
from core.store.repos.images import ImageFilter


def proposals_left(project, cfg: PipelineConfig) -> int:
    """Images of object classes with attention maps that have no proposals yet, plus those a cancelled redo of
    the proposals (after a change of settings) left pending."""
    index, background = class_index(project), background_class_ids(project, cfg)
    with_maps = project.maps.image_ids_with_attention(cfg.backbone_key)
    eligible = {r.id for r in project.images.list(ImageFilter(include_missing=False))
                if r.class_id in index and r.class_id not in background and r.id in with_maps}
    pending = set(json.loads(project.get_meta(META_PENDING) or "[]"))
    left = (eligible - project.proposals.image_ids_with_proposals()) | (eligible & pending)
    if left:      # images that failed to decode and have not changed since are not work left: they would fail again
        unreadable = UnreadableFiles(project, project.image_root)
        bad = {r.id for r in project.images.list(ImageFilter(include_missing=False))
               if r.id in left and unreadable.still_unreadable(r.rel_path) is not None}
        left -= bad
    return len(left)


def unfinished_stages(project, cfg: PipelineConfig | None = None) -> list[str]:
    """The stages of ``attention -> proposals`` to run again, in order: attention when an image lacks its maps or
    cached features, then proposals when one of those is of an object class (new maps, new proposals) or when
    ``proposals_left``."""
    cfg = cfg or load_config(project)
    todo = attention_todo(project, cfg)
    background = background_class_ids(project, cfg)
    new_objects = any(r.class_id is not None and r.class_id not in background for r in todo)
    stages = ["attention"] if todo else []
    return stages + (["proposals"] if new_objects or proposals_left(project, cfg) else [])
