from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.dips.boxes import boxes_from_map
from core.dips.device import pick_device
from core.dips.heads import ClassificationHead, build_localizer
from core.pipeline.config import PipelineConfig, load_config
from core.pipeline.encoding import encode_records, feature_cache
from core.progress import NULL_PROGRESS, Progress
from core.store.repos.images import ImageFilter
from core.train.checkpoint import load_checkpoint
from core.train.config import TrainConfig
from core.train.step import localizer_inputs

# The app draws predicted boxes where the foreground probability passes 0.5: the softmax
# map of f_l is trained towards 0/1 labels, so no per-image threshold search is needed.
OPERATING_THRESHOLD = 0.5
MIN_BOX_FRAC = 0.002   # components below this fraction of the image are noise, not boxes


class LoadedModel:
    def __init__(self, path: Path, device: torch.device):
        state = load_checkpoint(path)
        self.classes = state["classes"]
        self.backbone = state["backbone"]
        self.train_res = int(state["train_config"]["train_res"])
        self.classifier = ClassificationHead(state["embed_dim"], len(self.classes), n_blocks=state["n_blocks"])
        self.classifier.load_state_dict(state["classifier"])
        self.localizer = build_localizer(TrainConfig.from_checkpoint(state["train_config"]).head_config(), state["embed_dim"])
        self.localizer.load_state_dict(state["localizer"])
        self.classifier.to(device).eval()
        self.localizer.to(device).eval()
        self.device = device

    @torch.inference_mode()
    def __call__(self, tokens: torch.Tensor, cls: torch.Tensor, rgb: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(class probabilities [B, C], foreground maps [B, R, R]) from cached encoder outputs."""
        probs = torch.softmax(self.classifier(cls.to(self.device)), -1)
        inputs = localizer_inputs(self.localizer, tokens, rgb.float()).to(self.device)
        logits = self.localizer(inputs).float()
        if logits.shape[-1] != self.train_res:
            logits = F.interpolate(logits, size=(self.train_res, self.train_res), mode="bilinear",
                                   align_corners=False)
        fg = torch.softmax(logits, 1)[:, 1]
        return probs.cpu().numpy(), fg.cpu().numpy()


def boxes_for_map(fg: np.ndarray, width: int, height: int,
                  p_object: float = 1.0) -> list[tuple[float, float, float, float, float]]:
    """Boxes (image pixels) around the map's regions above the operating threshold.

    Score = mean foreground probability inside the box x the classifier's probability that the
    image shows an object at all; an image f_c calls object-free (p_object < 0.5) gets no boxes.
    """
    if p_object < 0.5:
        return []
    h, w = fg.shape
    out = []
    for x0, y0, x1, y1 in boxes_from_map(fg, OPERATING_THRESHOLD):
        if (x1 - x0) * (y1 - y0) < MIN_BOX_FRAC * h * w:
            continue
        score = float(fg[int(y0):int(y1), int(x0):int(x1)].mean()) * p_object
        out.append((x0 / w * width, y0 / h * height, x1 / w * width, y1 / h * height, score))
    return sorted(out, key=lambda b: -b[4])


def predict(project, run_id: int | None = None, progress: Progress = NULL_PROGRESS,
            image_ids: list[int] | None = None, cfg: PipelineConfig | None = None) -> int:
    """Class probabilities, foreground map and boxes for every image, as a new prediction run."""
    cfg = cfg or load_config(project)
    run = project.runs.get(run_id) if run_id is not None else project.runs.latest_finished()
    if run is None or run.status != "finished" or not run.checkpoint_path:
        raise ValueError(f"{project.path}: no finished training run to predict with (run 'train' first)")
    model = LoadedModel(Path(run.checkpoint_path), pick_device(cfg.device))
    if model.backbone != cfg.backbone_key:
        raise ValueError(f"run {run.id} was trained on {model.backbone}, the project now uses {cfg.backbone_key}")
    records = project.images.list(ImageFilter(include_missing=False))
    if image_ids is not None:
        wanted = set(image_ids)
        records = [r for r in records if r.id in wanted]
    cache = feature_cache(project, cfg)
    missing = [r for r in records if not cache.has(r.content_hash)]
    if missing:
        encode_records(project, cfg, missing, progress, stage="features")
    pred_run = project.maps.new_prediction_run(run.id, {"operating_threshold": OPERATING_THRESHOLD})
    object_classes = np.array([not cfg.is_background(name) for name in model.classes])
    progress.start("predict", len(records))
    for i in range(0, len(records), 16):
        chunk = [r for r in records[i:i + 16] if cache.has(r.content_hash)]
        if chunk:
            feats = [cache.get(r.content_hash) for r in chunk]
            tokens = torch.from_numpy(np.stack([np.asarray(f.tokens, dtype=np.float32) for f in feats]))
            cls = torch.from_numpy(np.stack([np.asarray(f.cls, dtype=np.float32) for f in feats]))
            rgb = torch.from_numpy(np.stack([np.asarray(f.rgb, dtype=np.float32) for f in feats]))
            probs, fg = model(tokens, cls, rgb)
            for rec, p, m in zip(chunk, probs, fg):
                p_object = float(p[object_classes].sum()) if object_classes.any() else 1.0
                project.maps.save_prediction(pred_run, rec.id, p.tolist(), m,
                                             boxes_for_map(m, rec.width, rec.height, p_object))
        progress.update(min(i + 16, len(records)), len(records))
    return pred_run
