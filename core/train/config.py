"""Training configuration: every value in one place, with the paper's symbols."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class TrainConfig:
    # -- schedule (journal Sec. 4.1 / authors' code: SGD, Nesterov momentum 0.9, step decay) --
    epochs: int = 10
    batch_size: int = 16
    lr: float = 0.0465            # authors' searched value (range 1e-6..0.1)
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4
    lr_step: int = 5              # StepLR step (epochs); authors: 3 of 10 epochs
    lr_gamma: float = 0.1
    # -- classification head f_c (cross-entropy on the CLS tokens, then frozen) --
    cls_epochs: int = 30
    cls_lr: float = 1e-3
    # -- pseudo-labels (Sec. 3.3) --
    K: int = 3                    # top-K proposals: one drawn uniformly per image and step
    n_pos: int = 48               # n+: foreground pixels sampled per image and step
    n_neg: int = 48               # n-: background pixels sampled per image and step
    pos_top_frac: float = 0.3     # fg candidates: top fraction of activations inside the drawn box
    neg_low_frac: float = 0.3     # bg candidates: lowest fraction of activations outside all boxes
    # -- loss (Eq. 4): lambda_1 * partial CE + lambda_2 * CRF --
    lambda_seed: float = 1.0      # lambda_1
    lambda_crf: float | None = None  # lambda_2; None = the calibrated default of core.dips.losses.LossConfig
    use_crf: bool = True
    lambda_cls: float = 0.669     # workshop L_CLS weight (authors' ILSVRC value); used with decoder="unet" only
    # -- model --
    decoder: str = "token"        # "token" (journal) or "unet" (workshop)
    train_res: int = 224          # label / output resolution of f_l during training (S/2 at S=448: CPU-friendly)
    decoder_n_up: int = 2         # x2 blocks of the token decoder: a 32x32 grid (S=448) -> 128, upsampled to
                                  # train_res. Each block costs about the same; the journal's x16 (4 blocks)
                                  # at full size costs ~2x more per step on CPU (bench/bench_head_step.py).
    decoder_widths: list[int] | None = None  # block widths; None = the journal's C/2, C/4, ... On CPU the head,
                                  # not the frozen ViT, dominates a step: e.g. [96, 48] is ~3x cheaper.
    flip: bool = True             # horizontal flips; the feature cache holds both orientations
    # -- run --
    device: str = "auto"
    seed: int = 0
    amp: bool = True              # mixed precision on CUDA only

    def to_dict(self) -> dict:
        return asdict(self)

    def head_config(self):
        from core.dips.heads import HeadConfig  # noqa: PLC0415 - keep this module import-light
        return HeadConfig(decoder=self.decoder, n_up=self.decoder_n_up, out_size=self.train_res,
                          widths=tuple(self.decoder_widths) if self.decoder_widths else None)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in names})


@dataclass
class EpochLog:
    epoch: int
    loss: float
    loss_seed: float
    loss_crf: float
    lr: float
    seconds: float
    extra: dict = field(default_factory=dict)
