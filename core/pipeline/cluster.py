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
from core.data.unreadable import UnreadableFiles
from core.pipeline.config import PipelineConfig, load_config
from core.pipeline.encoding import BackboneLoader, encode_into_cache, feature_cache
from core.progress import NULL_PROGRESS, Progress
from core.result_checks import plural
from core.store.project import Project
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
        import ray
        import ray.data
    except ImportError as exc:
        raise ImportError("Ray is not installed: pip install 'ray[data]' (see docs/scale.md)") from exc
    if not ray.is_initialized():
        ray.init(address=opts.address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 ignore_reinit_error=True)
    return ray


def _one_thread_per_cpu() -> None:
    """Inside an actor: as many torch threads as CPUs Ray gave it (1), not one per core of the node, so that
    actors side by side do not fight over the cores."""
    import ray
    import torch
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    torch.set_num_threads(max(1, int(cpus)))


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
        _one_thread_per_cpu()
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
        hashes = [str(h) for h, good in zip(batch["content_hash"], ok, strict=True) if good]
        maps = iter(encode_into_cache(self.backbone, self.cfg, images, hashes, self.cache)) if images else iter(())
        out = np.empty(len(ok), dtype=object)
        for i, good in enumerate(ok):
            out[i] = next(maps) if good else np.zeros((0, 0, 0), np.float32)
        return {"image_id": batch["image_id"], "maps": out, "problem": np.array(problems, dtype=object)}


def compute_attention_on_ray(project: Project, cfg: PipelineConfig | None = None, progress: Progress = NULL_PROGRESS,
                             opts: RayOptions | None = None, image_ids: list[int] | None = None,
                             force: bool = False) -> int:
    """``core.pipeline.compute_attention`` with the encoding done by Ray actors; the same maps and cache entries.

    Returns the number of images encoded; unreadable images are skipped and recorded with their reason
    (core/data/unreadable.py) as the local stage does.
    """
    from core.pipeline.attention_stage import attention_todo

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
                         batch_size=opts.batch_size, batch_format="numpy",
                         compute=ray.data.ActorPoolStrategy(size=n_actors), num_gpus=gpus,
                         num_cpus=1)
    progress.start("attention", len(records),
                   f"on Ray: {plural(n_actors, 'actor')}, {plural(os.cpu_count() or 1, 'local CPU')}")
    done, problems = 0, []
    by_id = {r.id: r for r in records}
    unreadable = UnreadableFiles(project, project.image_root)   # as the local stage: not decoded again while unchanged
    for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
        for image_id, maps, problem in zip(batch["image_id"], batch["maps"], batch["problem"], strict=True):
            if problem:
                problems.append(str(problem))
                rec = by_id[int(image_id)]
                unreadable.record(rec.rel_path, str(problem).removeprefix(f"{project.images.path(rec)}: "))
            else:
                project.maps.save_attention(int(image_id), key, np.asarray(maps, dtype=np.float32))
        done += len(batch["image_id"])
        progress.update(done, len(records))
    unreadable.save()
    return len(records) - len(problems)


class _Proposer:
    """A Ray actor: f_x built once from its cached weights (and the frozen ViT when f_x is the linear scorer);
    ranks the proposals of rows {image_id, path, class_index, heads, maps} (Alg. 1)."""

    def __init__(self, settings: dict, spec: dict):
        import torch

        from core.dips.device import pick_device
        from core.pipeline.scorer import ScorerSpec, scorer_from_spec
        _one_thread_per_cpu()
        self.torch = torch
        self.cfg = PipelineConfig.from_dict(settings)
        self.classify = scorer_from_spec(ScorerSpec(**spec), self.cfg)
        self.device = pick_device(self.cfg.device)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """-> {image_id, ranked: (P, 7) rows [x0, y0, x1, y1, source map, score, class prob] or None where the
        image failed to decode, problem: that failure's reason ('' where it decoded)}."""
        from core.dips.scoring import propose
        s = self.cfg.proposals.scoring_size
        ranked_all = np.empty(len(batch["image_id"]), dtype=object)
        problems = [""] * len(batch["image_id"])
        for i, (path, cls, heads, maps) in enumerate(zip(batch["path"], batch["class_index"], batch["heads"],
                                                         batch["maps"], strict=True)):
            try:
                img = read_image(Path(str(path)), max_side=2 * s)
            except ImageReadError as exc:
                ranked_all[i], problems[i] = None, exc.reason
                continue
            image01 = self.torch.from_numpy(img).to(self.device).permute(2, 0, 1).float().div(255)
            by_head = {int(h): np.asarray(m, dtype=np.float32) for h, m in zip(heads, maps, strict=True)}
            ranked = propose(image01, by_head, int(cls), self.classify, self.cfg.proposals)
            ranked_all[i] = np.array([[*p.box, p.source_map, p.score, p.class_prob] for p in ranked],
                                     dtype=np.float64).reshape(-1, 7)
        return {"image_id": batch["image_id"], "ranked": ranked_all, "problem": np.array(problems, dtype=object)}


def compute_proposals_on_ray(project: Project, cfg: PipelineConfig | None = None, progress: Progress = NULL_PROGRESS,
                             opts: RayOptions | None = None, image_ids: list[int] | None = None,
                             force: bool = False) -> int:
    """``core.pipeline.compute_proposals`` with the ranking done by Ray actors; f_x is trained (or found in
    the cache) here first, the proposals stored here. An image that fails to decode is recorded as the local stage
    records it (core/data/unreadable.py: not read again while unchanged) and named in the progress message.
    Returns the number of images processed."""
    import json
    from dataclasses import asdict

    from core.pipeline.proposal_stage import META_PENDING, proposal_todo, store_proposals
    from core.pipeline.scorer import class_index, prepare_scorer

    cfg = cfg or load_config(project)
    opts = opts or RayOptions()
    records, stale = proposal_todo(project, cfg, image_ids, force)
    if not records:
        return 0
    spec = prepare_scorer(project, cfg, progress)
    index = class_index(project)
    key = cfg.backbone_key
    ray = connect(opts)
    n_actors, gpus = _actors(ray, opts)
    rows = []
    for r in records:
        maps = project.maps.attention(r.id, key)
        rows.append({"image_id": r.id, "path": str(project.images.path(r)), "class_index": index[r.class_id],
                     "heads": np.array(sorted(maps)), "maps": np.stack([maps[h] for h in sorted(maps)])})
    by_id = {r.id: r for r in records}
    ds = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows), 4 * n_actors)))
    out = ds.map_batches(_Proposer, fn_constructor_kwargs={"settings": cfg.to_dict(), "spec": asdict(spec)},
                         batch_size=opts.batch_size, batch_format="numpy",
                         compute=ray.data.ActorPoolStrategy(size=n_actors), num_gpus=gpus,
                         num_cpus=1)
    progress.start("proposals", len(records), f"on Ray: {plural(n_actors, 'actor')}")
    done = 0
    unreadable = UnreadableFiles(project, project.image_root)   # as the local stage: not read again while unchanged
    try:
        for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
            message = ""
            for image_id, ranked, problem in zip(batch["image_id"], batch["ranked"], batch["problem"], strict=True):
                done += 1
                rec = by_id[int(image_id)]
                if problem:
                    unreadable.record(rec.rel_path, str(problem))
                    message = f"{rec.rel_path}: {problem}"
                elif ranked is not None:
                    store_proposals(project, rec, [(row[:4], row[4], row[5], row[6]) for row in np.asarray(ranked)],
                                    stale, done)
            progress.update(done, len(records), message)
    finally:
        unreadable.save()
        if image_ids is None:   # as the local stage: the next run redoes only what is left
            project.set_meta(META_PENDING, json.dumps(sorted(stale)))
    return done


class _Predictor:
    """A Ray actor: the trained heads, loaded once; (class probabilities, foreground map) per cached image."""

    def __init__(self, model_path: str, device: str, work_dir: str, cache_key: str):
        from core.dips.device import pick_device
        from core.train.predictor import LoadedModel
        _one_thread_per_cpu()
        self.model = LoadedModel(Path(model_path), pick_device(device))
        self.cache = FeatureCache(Path(work_dir) / "features", cache_key)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from core.train.predictor import run_on_cached
        probs, fg = run_on_cached(self.model, self.cache, [str(h) for h in batch["content_hash"]])
        return {"image_id": batch["image_id"], "probs": probs, "fg": fg}


def predict_on_ray(project: Project, run_id: int | None = None, progress: Progress = NULL_PROGRESS,
                   opts: RayOptions | None = None, image_ids: list[int] | None = None,
                   cfg: PipelineConfig | None = None) -> int:
    """``core.pipeline.predict`` with the heads run by Ray actors on the cached encoder outputs; the operating
    threshold is chosen here first (on the training images), and the maps and boxes stored here. Returns the
    prediction run id."""
    from core.pipeline.predict_stage import prepare_prediction

    opts = opts or RayOptions()
    job = prepare_prediction(project, run_id, progress, image_ids, cfg)
    records = {r.id: r for r in job.records if job.cache.has(r.content_hash)}
    progress.start("predict", len(job.records))
    if not records:
        job.finish()
        return job.pred_run
    ray = connect(opts)
    n_actors, gpus = _actors(ray, opts)
    rows = [{"image_id": r.id, "content_hash": r.content_hash} for r in records.values()]
    ds = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows), 4 * n_actors)))
    out = ds.map_batches(_Predictor, fn_constructor_kwargs={"model_path": str(job.model_path),
                                                            "device": job.cfg.device,
                                                            "work_dir": str(project.work_dir),
                                                            "cache_key": job.cache.key},
                         batch_size=opts.batch_size, batch_format="numpy",
                         compute=ray.data.ActorPoolStrategy(size=n_actors), num_gpus=gpus,
                         num_cpus=1)
    done = len(job.records) - len(records)   # images without features (unreadable) count as done, as locally
    for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
        for image_id, p, m in zip(batch["image_id"], batch["probs"], batch["fg"], strict=True):
            job.store(records[int(image_id)], np.asarray(p), np.asarray(m))
        done += len(batch["image_id"])
        progress.update(done, len(job.records))
    job.finish()
    return job.pred_run
