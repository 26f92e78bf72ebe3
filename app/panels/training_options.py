"""What the training panel asks of ``main.py train``: the options, their command line, and the project's
saved settings read back. No Qt and no torch: the panel builds these on the GUI thread."""
from __future__ import annotations

import json
from dataclasses import dataclass

from core.dips.decoder_widths import default_widths

# f_l choices: (key, label). "token" projects the tokens to core's default R channels first (fast on CPU);
# "token-journal" is the journal's decoder (C/2, C/4 widths); "unet" the workshop's U-Net on RGB.
LOCALIZERS = (("token", "Token decoder (light)"), ("token-journal", "Token decoder (journal widths)"),
              ("unet", "U-Net on RGB (workshop)"))


@dataclass
class TrainingOptions:
    """What the panel passes to ``main.py train`` (the paper's symbols in comments)."""
    device: str = "auto"
    epochs: int = 10
    lr: float = 0.0465          # SGD learning rate of f_l
    K: int = 1                  # K: top-K proposals form the pool a training box is drawn from
    n_pos: int = 48             # n+: foreground pixels sampled per image per step
    n_neg: int = 48             # n-: background pixels sampled per image per step
    lambda_seed: float = 1.0    # lambda_1 on the partial cross-entropy of the sampled seeds
    lambda_crf: float | None = None  # lambda_2 on the CRF loss; None = the calibrated default of core
    crf: bool = True            # CRF loss on/off
    lambda_cls: float = 0.669   # lambda of the workshop's classifier term L_CLS (U-Net only)
    localizer: str = "token"    # f_l: a key of LOCALIZERS
    decoder_widths: tuple[int, ...] | None = None  # token decoder block widths; None = the localizer's own

    def to_argv(self, project_path) -> list[str]:
        """Arguments of ``main.py train`` (core/cli_stages.py; the subprocess prints JSON events)."""
        argv = ["train", str(project_path), "--events", "json",
                "--device", self.device, "--epochs", str(self.epochs), "--lr", _num(self.lr),
                "--K", str(self.K), "--n-pos", str(self.n_pos), "--n-neg", str(self.n_neg),
                "--lambda-seed", _num(self.lambda_seed),
                "--decoder", "unet" if self.localizer == "unet" else "token"]
        if self.localizer == "token-journal":
            argv += ["--decoder-reduce", "0"]
        elif self.localizer == "token":
            argv += ["--decoder-reduce", str(_light_reduce())]
        if self.localizer != "unet":
            widths = ",".join(str(w) for w in self.decoder_widths) if self.decoder_widths else "default"
            argv += ["--decoder-widths", widths]
        # Every shown setting is passed, its default included: the project keeps the last run's settings,
        # and a field the inspector emptied or a box re-ticked must not fall back to them.
        argv += ["--lambda-crf", "default" if self.lambda_crf is None else _num(self.lambda_crf)]
        argv.append("--crf" if self.crf else "--no-crf")
        if self.localizer == "unet":
            argv += ["--lambda-cls", _num(self.lambda_cls)]
        return argv


def _num(v: float) -> str:
    return repr(float(v))


def _light_reduce() -> int:
    from core.train.config import TrainConfig  # noqa: PLC0415 - dataclasses only, no torch
    return TrainConfig().decoder_reduce or 32


def light_widths(n_up: int) -> str:
    """The light decoder's default block widths as text: R, R/2, ..."""
    return ", ".join(str(w) for w in default_widths(n_up, _light_reduce(), embed_dim=0))


def _localizer_key(t) -> str:
    if t.decoder == "unet":
        return "unet"
    return "token" if t.decoder_reduce else "token-journal"


def saved_train_config(project):
    """The project's saved training settings (core.pipeline.load_config's), or the defaults when none or unreadable."""
    # Read the saved JSON with TrainConfig alone: core.pipeline.config would import torch on the GUI thread.
    from core.train.config import TrainConfig  # noqa: PLC0415
    try:
        saved = json.loads(project.get_meta("pipeline_config") or "{}")
        return TrainConfig.from_dict(saved.get("train") or {})
    except Exception:  # noqa: BLE001 - an unreadable saved config: start from the defaults
        return TrainConfig()


def options_from_config(project) -> TrainingOptions:
    """The project's saved pipeline settings, so GUI and CLI agree."""
    t = saved_train_config(project)
    return TrainingOptions(device=t.device, epochs=t.epochs, lr=t.lr, K=t.K, n_pos=t.n_pos, n_neg=t.n_neg,
                           lambda_seed=t.lambda_seed, lambda_crf=t.lambda_crf, crf=t.use_crf,
                           localizer=_localizer_key(t), lambda_cls=t.lambda_cls,
                           decoder_widths=tuple(t.decoder_widths) if t.decoder_widths else None)
