from __future__ import annotations

from core.data.changed_files import reread_changed_images
from core.data.unreadable import without_unreadable
from core.pipeline.config import PipelineConfig, load_config
from core.pipeline.encoding import backbone_loader, encode_records, feature_cache
from core.progress import NULL_PROGRESS, Progress
from core.store.project import Project
from core.store.repos.images import ImageFilter
from core.work_order import Priority, objects_first


def compute_attention(project: Project, cfg: PipelineConfig | None = None, progress: Progress = NULL_PROGRESS,
                      image_ids: list[int] | None = None, force: bool = False, backbone=None,
                      priority: Priority | None = None, skip_background: bool = False) -> int:
    """Per-head CLS attention (and cached encoder outputs) for images that lack them.

    Images of object classes go first, then unlabelled ones, then background classes; before each batch the
    ids ``priority`` returns (core.work_order: the image on screen and its neighbours) are taken first.
    ``skip_background``: leave images of background classes for a later run unless ``priority`` names them (the
    window computes proposals, which need only object images' maps, before them).

    Returns the number of images encoded; unreadable images are skipped and reported
    through the progress message, never stopping the stage. ``backbone``: a loaded Backbone or a
    core.pipeline.encoding.BackboneLoader to share one between stages; None loads the configured one if needed.
    """
    cfg = cfg or load_config(project)
    records, later = attention_todo(project, cfg, image_ids, force), []
    if skip_background:
        background = background_class_ids(project, cfg)
        later = [r for r in records if r.class_id in background]
        records = [r for r in records if r.class_id not in background]
    if not records:
        return 0
    # each image that fails to decode is recorded with its reason (core/data/unreadable.py): `info` and the
    # `attention` command list them from there, as long as the file is unchanged
    problems = encode_records(project, cfg, records, progress, backbone=backbone_loader(cfg, backbone),
                              priority=priority, on_request=later)
    if later:   # the background images the user looked at meanwhile were encoded too (with force: all that have maps)
        have = project.maps.image_ids_with_attention(cfg.backbone_key)
        records += [r for r in later if r.id in have]
    return len(records) - len(problems)


def attention_todo(project: Project, cfg: PipelineConfig, image_ids: list[int] | None = None,
                   force: bool = False) -> list:
    """The images the attention stage has to encode: those without maps or cached features (every one when
    ``force``) less those that failed to decode and have not changed since (``retry_unreadable``), among
    ``image_ids`` when given, object classes first (core.work_order.objects_first). Shared by the local stage and
    the Ray one. Files changed on disk since they were read are read again first (core/data/changed_files.py): a new
    content drops the old maps, so they are among those to encode."""
    reread_changed_images(project, image_ids)
    records = project.images.list(ImageFilter(include_missing=False))
    if image_ids is not None:
        wanted = set(image_ids)
        records = [r for r in records if r.id in wanted]
    if not force:
        have = project.maps.image_ids_with_attention(cfg.backbone_key)
        cache = feature_cache(project, cfg)
        records = [r for r in records if r.id not in have or not cache.has(r.content_hash)]
    records, _ = without_unreadable(project, records)   # failed before, unchanged since: would fail again
    return objects_first(records, background_class_ids(project, cfg))


def background_class_ids(project, cfg: PipelineConfig) -> set[int]:
    """The ids of the project's classes whose images show no object (settings' background_classes or the name
    rule)."""
    return {cid for cid, name in project.class_names().items() if cfg.is_background(name)}
