"""Stage subcommands of the CLI: attention, proposals, train, predict, evaluate, run.

With ``--events json`` a stage prints one JSON object per line on stdout (progress, then
done or error) for the GUI's subprocess worker; otherwise a text progress bar on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from core.cli import open_project
from core.dips.decoder_widths import parse_widths
from core.dips.precision import PRECISIONS
from core.progress import Cancelled, Progress, ProgressEvent, TextProgressBar


def _json_progress() -> Progress:
    def emit(ev: ProgressEvent) -> None:
        print(json.dumps({"event": "progress", "stage": ev.stage, "done": ev.done, "total": ev.total,
                          "message": ev.message, "eta_s": ev.eta_s, "extra": ev.extra}), flush=True)
    return Progress(emit)


def _with_events(fn):
    """Run ``fn(args, progress) -> result``; exit code 0, and in JSON mode done/error events instead of raising."""
    def wrapper(a: argparse.Namespace) -> int:
        if getattr(a, "events", "text") != "json":
            bar = TextProgressBar()
            try:
                fn(a, Progress(bar))
            finally:
                bar.close()
            return 0
        try:
            result = fn(a, _json_progress())
        except Cancelled:
            print(json.dumps({"event": "cancelled"}), flush=True)
            return 130
        except Exception as exc:  # noqa: BLE001 - reported to the GUI with the details
            from core.errors import user_message  # noqa: PLC0415
            message = user_message(exc) or f"{exc}"
            print(json.dumps({"event": "error", "message": message, "details": traceback.format_exc()}), flush=True)
            return 1
        print(json.dumps({"event": "done", "result": result}), flush=True)
        return 0
    return wrapper


# An option given as 'default' puts the setting back to core's default. The GUI always passes every option it
# shows, so a value the inspector cleared or re-ticked is not silently kept from the project's last run.
DEFAULT = "default"
_RESETTABLE = ("lambda_crf", "weights")   # options whose 'default' means None in the config


def _float_or_default(text: str) -> float | str:
    return DEFAULT if text.strip().lower() == DEFAULT else float(text)


def _widths_or_default(text: str) -> list[int] | str:
    if text.strip().lower() == DEFAULT:
        return DEFAULT
    try:
        widths = parse_widths(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if widths is None:   # an empty value is a slip, not a request for the default
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of channel widths")
    return widths


def _cfg(project, a: argparse.Namespace):
    from core.pipeline.config import load_config, save_config  # noqa: PLC0415
    cfg = load_config(project)
    changed = False
    for attr, section, field in (("backbone", "attention", "backbone"), ("weights", "attention", "weights"),
                                 ("size", "attention", "input_size"), ("K", "proposals", "K"),
                                 ("epochs", "train", "epochs"), ("lr", "train", "lr"), ("n_pos", "train", "n_pos"),
                                 ("n_neg", "train", "n_neg"), ("lambda_crf", "train", "lambda_crf"),
                                 ("lambda_seed", "train", "lambda_seed"), ("lambda_cls", "train", "lambda_cls"),
                                 ("decoder", "train", "decoder"), ("batch_size", "train", "batch_size"),
                                 ("seed", "train", "seed")):
        value = getattr(a, attr, None)
        if attr == "weights" and value not in (None, DEFAULT):
            # Saved as an absolute path: the next run may start in another directory.
            value = str(Path(value).expanduser().resolve())
        if value is not None:
            setattr(getattr(cfg, section), field, None if value == DEFAULT and attr in _RESETTABLE else value)
            changed = True
    if getattr(a, "K", None) is not None:
        cfg.train.K = a.K
    if getattr(a, "decoder_widths", None) is not None:
        cfg.train.decoder_widths = None if a.decoder_widths == DEFAULT else a.decoder_widths
        changed = True
    if getattr(a, "decoder_reduce", None) is not None:
        cfg.train.decoder_reduce = a.decoder_reduce or None     # 0: no projection, the journal's decoder
        changed = True
    if getattr(a, "deletion", None) is not None:
        cfg.proposals.deletion = a.deletion
        changed = True
    if getattr(a, "zoom_context", None) is not None:
        cfg.proposals.zoom_context = a.zoom_context
        changed = True
    if getattr(a, "crf", None) is not None:
        cfg.train.use_crf = a.crf
        changed = True
    if getattr(a, "precision", None):
        cfg.attention.precision = cfg.proposals.scoring_precision = a.precision
        changed = True
    if getattr(a, "device", None):
        cfg.device = cfg.train.device = a.device
        changed = True
    if changed and getattr(a, "save_config", True):
        if getattr(a, "weights", None) is not None or getattr(a, "backbone", None) is not None:
            # Load the backbone before the settings are saved: a weight file that fails (WeightsError) is
            # reported and never remembered, so the next plain run does not fail on it again. The loaded
            # backbone is cached for the stage that follows.
            from core.pipeline.encoding import backbone_for  # noqa: PLC0415
            backbone_for(cfg)
        save_config(project, cfg)
    return cfg


@_with_events
def cmd_attention(a, progress) -> int:
    from core.pipeline import compute_attention  # noqa: PLC0415
    with open_project(a.project) as p:
        n = compute_attention(p, _cfg(p, a), progress, force=a.force)
        print(f"attention maps for {n} image(s)", file=sys.stderr)
    return n


@_with_events
def cmd_proposals(a, progress) -> int:
    from core.pipeline import compute_proposals  # noqa: PLC0415
    with open_project(a.project) as p:
        n = compute_proposals(p, _cfg(p, a), progress, force=a.force)
        print(f"proposals for {n} image(s)", file=sys.stderr)
    return n


@_with_events
def cmd_train(a, progress) -> int:
    from core.pipeline import train  # noqa: PLC0415
    with open_project(a.project) as p:
        run_id = train(p, _cfg(p, a), progress, resume_run=a.resume)
        run = p.runs.get(run_id)
        print(f"training run {run_id} {run.status}: {json.dumps(run.metrics)}", file=sys.stderr)
    return run_id


@_with_events
def cmd_predict(a, progress) -> int:
    from core.pipeline import predict  # noqa: PLC0415
    with open_project(a.project) as p:
        run = predict(p, a.run, progress, cfg=_cfg(p, a))
        print(f"prediction run {run}", file=sys.stderr)
    return run


@_with_events
def cmd_run(a, progress) -> dict:
    from core.pipeline import run_all  # noqa: PLC0415
    with open_project(a.project) as p:
        out = run_all(p, _cfg(p, a), progress, retrain=a.retrain)
        print(json.dumps(out), file=sys.stderr)
    return out


def cmd_evaluate(a) -> int:
    from core.eval.report import format_table  # noqa: PLC0415
    from core.pipeline import evaluate  # noqa: PLC0415
    with open_project(a.project) as p:
        result = evaluate(p, split=a.split, maps=a.maps, metadata=Path(a.metadata) if a.metadata else None,
                          prediction_run=a.prediction_run)
    print(format_table(result))
    if a.json:
        from core.data.coco import write_json_atomic  # noqa: PLC0415
        write_json_atomic(result, Path(a.json))
    return 0


def _common(p: argparse.ArgumentParser, events: bool = True) -> None:
    p.add_argument("project", help="project file (.dips)")
    p.add_argument("--device", help="auto (default), cpu, cuda:N or mps")
    if events:
        p.add_argument("--events", choices=("text", "json"), default="text",
                       help="json: one JSON event per line on stdout (for the GUI)")


def _model_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backbone", help="dinov2_s14 (default, offline), dino_vits16, dino_vits8, timm:<name>")
    p.add_argument("--weights", help="local weight file for the backbone (DINO .pth, timm, safetensors, HF cache); "
                                     "'default': the shipped weights")
    p.add_argument("--size", type=int, help="input size S of the ViT (multiple of the patch; default 448)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="frozen ViT and scorer forwards: auto (default) = bfloat16 on CUDA and AMX CPUs, else float32")


def register(sub) -> None:
    p = sub.add_parser("attention", help="per-head attention maps of the frozen ViT for every image")
    _common(p)
    _model_opts(p)
    p.add_argument("--force", action="store_true", help="recompute maps that exist")
    p.set_defaults(func=cmd_attention)

    p = sub.add_parser("proposals", help="ranked discriminative proposals (Alg. 1) from the attention maps")
    _common(p)
    p.add_argument("--K", type=int, help="top-K proposals kept as the training pool")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="scorer forward: auto (default) = bfloat16 on CUDA and AMX CPUs, else float32")
    p.add_argument("--deletion", action=argparse.BooleanOptionalAction,
                   help="also score each box with its content blurred away and rank by score x (1 - that "
                        "probability); one more scorer forward per box (default: off)")
    p.add_argument("--zoom-context", type=float, metavar="C",
                   help="also classify a square crop around each box, (1 + C) x its longer side, and rank by "
                        "the product of both probabilities; one more scorer forward per box; 0 = off")
    p.add_argument("--force", action="store_true", help="recompute (inspectors' decisions are kept)")
    p.set_defaults(func=cmd_proposals)

    p = sub.add_parser("train", help="train the classification and localization heads")
    _common(p)
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float, help="learning rate of f_l (SGD)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--K", type=int, help="top-K pool a box is drawn from at each step")
    p.add_argument("--n-pos", type=int, help="n+: foreground pixels per image and step")
    p.add_argument("--n-neg", type=int, help="n-: background pixels per image and step")
    p.add_argument("--lambda-seed", type=float, help="lambda_1: weight of the partial cross-entropy")
    p.add_argument("--lambda-crf", type=_float_or_default,
                   help="lambda_2: weight of the CRF loss ('default': the calibrated value)")
    p.add_argument("--crf", action=argparse.BooleanOptionalAction,
                   help="train with the CRF loss, or without it (--no-crf, the ablation)")
    p.add_argument("--lambda-cls", type=float,
                   help="weight of the workshop's classifier term L_CLS (U-Net localizer only; default 0.669)")
    p.add_argument("--decoder", choices=("token", "unet"), help="token decoder (journal) or U-Net (workshop)")
    p.add_argument("--decoder-reduce", type=int, metavar="R",
                   help="token decoder: project the tokens to R channels (1x1 conv) before upsampling; "
                        "0 = the journal's decoder (C/2, C/4 widths, ~10x costlier per step on CPU)")
    p.add_argument("--decoder-widths", type=_widths_or_default,
                   help="token decoder block widths, one per block, e.g. 32,16 ('default': R, R/2; with "
                        "--decoder-reduce 0 the journal's C/2, C/4)")
    p.add_argument("--seed", type=int)
    p.add_argument("--resume", type=int, help="resume training run N from its last checkpoint")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="class probabilities, foreground maps and boxes for every image")
    _common(p)
    p.add_argument("--run", type=int, help="training run to use (default: the latest finished)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("run", help="every stage in order, skipping what is up to date")
    _common(p)
    _model_opts(p)
    p.add_argument("--epochs", type=int)
    p.add_argument("--K", type=int)
    p.add_argument("--retrain", action="store_true", help="train again even if nothing changed")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("evaluate", help="WSOL metrics against imported ground truth")
    p.add_argument("project", help="project file (.dips)")
    p.add_argument("--split", default="test", choices=("train", "val", "test", "all"))
    p.add_argument("--maps", default="predicted", choices=("predicted", "attention", "proposal"),
                   help="predicted: DiPS maps; attention: raw SST map picked by the classifier (Table 4 "
                        "baseline); proposal: the top-ranked proposal box itself")
    p.add_argument("--metadata", help="wsolevaluation metadata folder (image_ids.txt, class_labels.txt, "
                                      "localization.txt) instead of the project's ground truth")
    p.add_argument("--prediction-run", type=int, help="prediction run to evaluate (default: the latest)")
    p.add_argument("--json", help="also write the figures as JSON to this file")
    p.set_defaults(func=cmd_evaluate)
