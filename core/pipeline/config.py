"""The project's settings as the stages use them: core.settings' fields plus the backbone key, which hashes
weight files (core.dips.backbones) and so cannot live in the torch-free settings module."""
from __future__ import annotations

from pathlib import Path

from core.dips.backbones.vit import local_timm_snapshot
from core.dips.backbones.weights import weights_fingerprint
from core.settings import BACKGROUND_CLASS_PATTERN, Settings, load_settings, save_settings
from core.store.project import Project

__all__ = ["BACKGROUND_CLASS_PATTERN", "PipelineConfig", "load_config", "save_config"]


class PipelineConfig(Settings):
    """:class:`core.settings.Settings` with the key that maps, cached features and trained heads are stored under."""

    @property
    def backbone_key(self) -> str:
        """What maps, cached features and trained heads are keyed by: architecture, weights, input size.

        The shipped default weights add nothing (keys of existing projects stay valid); a user's weight
        file (or, for ``timm:<name>`` without one, the snapshot found in the local Hugging Face cache) adds
        its content hash, so other weights under the same name are computed afresh.
        """
        w: str | Path | None = self.attention.weights
        if not w and self.attention.backbone.startswith("timm:"):   # timm's own weights, from the local HF cache
            w = local_timm_snapshot(self.attention.backbone[len("timm:"):])
        weights = f"#{weights_fingerprint(w)}" if w else ""
        return f"{self.attention.backbone}{weights}@{self.attention.input_size}"

    @property
    def unhashed_backbone_key(self) -> str:
        """The key as written before weight files were hashed into it (runs trained then carry it)."""
        return f"{self.attention.backbone}@{self.attention.input_size}"


def load_config(project: Project) -> PipelineConfig:
    return load_settings(project, PipelineConfig)


def save_config(project: Project, cfg: Settings) -> None:
    save_settings(project, cfg)
