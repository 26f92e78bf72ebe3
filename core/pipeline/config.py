"""One configuration for all stages, saved in the project so the CLI and the GUI agree."""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields

from core.dips.attention import AttentionConfig
from core.dips.backbones.vit import local_timm_snapshot
from core.dips.backbones.weights import weights_fingerprint
from core.dips.map_boxes import BoxDrawConfig
from core.dips.proposals import ProposalConfig
from core.train.config import TrainConfig

# Classes whose images show no object (e.g. "no_site"): no proposals; all pixels are background.
BACKGROUND_CLASS_PATTERN = re.compile(r"^(no|non|not|without)[_\- ]|^(background|negative|none|empty|nothing)$",
                                      re.IGNORECASE)


def _from(cls, d: dict):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in (d or {}).items() if k in names})


@dataclass
class PipelineConfig:
    attention: AttentionConfig = field(default_factory=AttentionConfig)
    proposals: ProposalConfig = field(default_factory=ProposalConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    boxes: BoxDrawConfig = field(default_factory=BoxDrawConfig)   # how predicted boxes are drawn from maps
    background_classes: list[str] | None = None   # None = detect by name (BACKGROUND_CLASS_PATTERN)
    device: str = "auto"                          # for attention / proposals / prediction

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PipelineConfig":
        return cls(attention=_from(AttentionConfig, d.get("attention")),
                   proposals=_from(ProposalConfig, d.get("proposals")),
                   train=TrainConfig.from_dict(d.get("train")),
                   boxes=_from(BoxDrawConfig, d.get("boxes")),
                   background_classes=d.get("background_classes"),
                   device=d.get("device", "auto"))

    def is_background(self, class_name: str | None) -> bool:
        if class_name is None:
            return False
        if self.background_classes is not None:
            return class_name in self.background_classes
        return bool(BACKGROUND_CLASS_PATTERN.search(class_name))

    @property
    def backbone_key(self) -> str:
        """What maps, cached features and trained heads are keyed by: architecture, weights, input size.

        The shipped default weights add nothing (keys of existing projects stay valid); a user's weight
        file (or, for ``timm:<name>`` without one, the snapshot found in the local Hugging Face cache) adds
        its content hash, so other weights under the same name are computed afresh.
        """
        w = self.attention.weights
        if not w and self.attention.backbone.startswith("timm:"):   # timm's own weights, from the local HF cache
            w = local_timm_snapshot(self.attention.backbone[len("timm:"):])
        weights = f"#{weights_fingerprint(w)}" if w else ""
        return f"{self.attention.backbone}{weights}@{self.attention.input_size}"

    @property
    def unhashed_backbone_key(self) -> str:
        """The key as written before weight files were hashed into it (runs trained then carry it)."""
        return f"{self.attention.backbone}@{self.attention.input_size}"


def load_config(project) -> PipelineConfig:
    text = project.get_meta("pipeline_config")
    return PipelineConfig.from_dict(json.loads(text)) if text else PipelineConfig()


def save_config(project, cfg: PipelineConfig) -> None:
    project.set_meta("pipeline_config", json.dumps(cfg.to_dict()))
