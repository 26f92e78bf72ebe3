"""Training configuration: the fields live in core.settings with every other setting; here what needs the model."""
from __future__ import annotations

from core.dips.heads import HeadConfig
from core.settings import TrainConfig

__all__ = ["TrainConfig", "head_config"]


def head_config(cfg: TrainConfig) -> HeadConfig:
    """The localizer f_l that ``cfg`` trains (core.dips.heads.build_localizer takes it)."""
    return HeadConfig(decoder=cfg.decoder, n_up=cfg.decoder_n_up, out_size=cfg.train_res,
                      widths=tuple(cfg.decoder_widths) if cfg.decoder_widths else None, reduce=cfg.decoder_reduce)
