"""The per-image stages on a Ray cluster: Ray Data maps batches of images over actors that load the frozen
networks once; this process is the project's one writer.

SQLite has one writer, and a project file on a network share must not be written from many machines, so the
actors never open the project: they get plain rows (image path, content hash), write what is keyed by content
into the shared work folder (cached encoder outputs, written atomically, so two writers of one entry are
harmless), and return the maps, which this process stores one image per transaction as the local stage does.
A run that stops (a failure, Ctrl+C, a lost node) keeps every image stored so far; the next run computes
only what is missing. Needs the image folder and the work folder at the same paths on every node (a shared
file system); see docs/scale.md.

Source: Ray Data's ``map_batches`` with a callable class (one model load per actor), ray.io docs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.images import ImageReadError, read_image
from core.pipeline.config import PipelineConfig, load_config
from core.pipeline.encoding import BackboneLoader, encode_into_cache, feature_cache
from core.progress import NULL_PROGRESS, Progress
from core.train.feature_cache import FeatureCache


@dataclass
class RayOptions:
    """How a stage runs on Ray (not saved with the project: it is about the machines, not the data)."""
    address: str | None = None   # None: start Ray on this machine; "auto" or "ray://head:10001": join a cluster
    batch_size: int = 8          # images per actor call
    actors: int | None = None    # None: one per GPU where there are GPUs, else one per two CPUs (at least 1)


def connect(opts: RayOptions):
    """Start or join Ray once per process. Raises ImportError with how to install it when Ray is missing."""
    try:
        import ray  # noqa: PLC0415 - optional: only the --ray stages need it
        import ray.data  # noqa: F401,PLC0415
    except ImportError as exc:
        raise ImportError("Ray is not installed: pip install 'ray[data]' (see docs/scale.md)") from exc
    if not ray.is_initialized():
        ray.init(address=opts.address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 ignore_reinit_error=True)
    return ray


def _actors(ray, opts: RayOptions) -> tuple[int, float]:
    """(number of actors, GPUs per actor) from the cluster's resources."""
    res = ray.cluster_resources()
    gpus = int(res.get("GPU", 0))
    if opts.actors:
        return opts.actors, (1.0 if gpus >= opts.actors else 0.0)
    if gpus:
        return gpus, 1.0
    return max(1, int(res.get("CPU", 1)) // 2), 0.0


class _Encoder:
    """A Ray actor: the frozen ViT, loaded once; encodes batches of rows {image_id, path, content_hash}."""

    def __init__(self, settings: dict, work_dir: str, cache_key: str):
        self.cfg = PipelineConfig.from_dict(settings)
        self.backbone = BackboneLoader(self.cfg)()
        self.cache = FeatureCache(Path(work_dir) / "features", cache_key)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        S = self.cfg.attention.input_size
        images, ok, problems = [], [], []
        for path in batch["path"]:
            try:
                images.append(read_image(Path(str(path)), max_side=2 * S))
                ok.append(True)
                problems.append("")
            except ImageReadError as exc:
                ok.append(False)
                problems.append(str(exc))
        hashes = [str(h) for h, good in zip(batch["content_hash"], ok) if good]
        maps = iter(encode_into_cache(self.backbone, self.cfg, images, hashes, self.cache)) if images else iter(())
        out = np.empty(len(ok), dtype=object)
        for i, good in enumerate(ok):
            out[i] = next(maps) if good else np.zeros((0, 0, 0), np.float32)
        return {"image_id": batch["image_id"], "maps": out, "problem": np.array(problems, dtype=object)}


def compute_attention_on_ray(project, cfg: PipelineConfig | None = None, progress: Progress = NULL_PROGRESS,
                             opts: RayOptions | None = None, image_ids: list[int] | None = None,
                             force: bool = False) -> int:
    """``core.pipeline.compute_attention`` with the encoding done by Ray actors; the same maps and cache entries.

    Returns the number of images encoded; unreadable images are skipped and listed in the project's
    ``last_attention_problems`` as the local stage does.
    """
    from core.pipeline.attention_stage import attention_todo  # noqa: PLC0415

    cfg = cfg or load_config(project)
    opts = opts or RayOptions()
    records = attention_todo(project, cfg, image_ids, force)
    if not records:
        return 0
    ray = connect(opts)
    n_actors, gpus = _actors(ray, opts)
    key = feature_cache(project, cfg).key
    rows = [{"image_id": r.id, "path": str(project.images.path(r)), "content_hash": r.content_hash}
            for r in records]
    ds = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows), 4 * n_actors)))
    out = ds.map_batches(_Encoder, fn_constructor_kwargs={"settings": cfg.to_dict(), "work_dir": str(project.work_dir),
                                                          "cache_key": key},
                         batch_size=opts.batch_size, batch_format="numpy", concurrency=n_actors, num_gpus=gpus,
                         num_cpus=1)
    progress.start("attention", len(records), f"on Ray: {n_actors} actor(s), {os.cpu_count()} local CPUs")
    done, problems = 0, []
    for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
        for image_id, maps, problem in zip(batch["image_id"], batch["maps"], batch["problem"]):
            if problem:
                problems.append(str(problem))
            else:
                project.maps.save_attention(int(image_id), key, np.asarray(maps, dtype=np.float32))
        done += len(batch["image_id"])
        progress.update(done, len(records))
    if problems:
        project.set_meta("last_attention_problems", "\n".join(problems))
    return len(records) - len(problems)
