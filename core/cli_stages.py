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

from core.data.unreadable import UNREADABLE_KEY, skipped_lines
from core.events import cancelled_line, done_line, error_line, json_progress
from core.progress import Cancelled, Progress, TextProgressBar
from core.result_checks import first_names, plural
from core.run_figures import describe_training_run, threshold_words
from core.run_names import prediction_run_name, training_run_name
from core.settings_cli import add_stage_options, apply_cli, given
from core.store.project import Project


def open_project(path: str):
    from core.store.project import Project
    return Project.open(path)


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
            result = fn(a, json_progress())
        except Cancelled:
            print(cancelled_line(), flush=True)
            return 130
        except Exception as exc:
            from core.errors import user_message
            print(error_line(user_message(exc) or f"{exc}", traceback.format_exc()), flush=True)
            return 1
        print(done_line(result), flush=True)
        return 0
    return wrapper


def _cfg(project: Project, a: argparse.Namespace):
    """The project's saved settings with the options given on the command line applied (core.settings
    generates and reads the options); saved back when any was given."""
    from core.pipeline.config import load_config, save_config
    cfg = load_config(project)
    before = cfg.background_classes
    if apply_cli(cfg, a) and getattr(a, "save_config", True):
        if cfg.background_classes != before:
            # as in the window: proposals of images that now show no object go, the others are queued
            from core.class_roles import apply_roles, background_names
            apply_roles(project, background_names(cfg, [c.name for c in project.classes()]))
        if cfg.attention.weights and getattr(a, "weights", None) is not None:
            # Saved as an absolute path: the next run may start in another directory.
            cfg.attention.weights = str(Path(cfg.attention.weights).expanduser().resolve())
        if getattr(a, "weights", None) is not None or getattr(a, "backbone", None) is not None:
            # Load the backbone before the settings are saved: a weight file that fails (WeightsError) is
            # reported and never remembered, so the next plain run does not fail on it again. The stage then
            # encodes with this one (``_loaded``): loaded once per command.
            from core.pipeline.encoding import BackboneLoader
            a.loaded_backbone = BackboneLoader(cfg)
            a.loaded_backbone()
        save_config(project, cfg)
    return cfg


def _loaded(a: argparse.Namespace):
    """The backbone ``_cfg`` loaded to check --backbone / --weights (a BackboneLoader), or None: the stage loads
    the configured one when it first needs it."""
    return getattr(a, "loaded_backbone", None)


def _ray(a: argparse.Namespace):
    """RayOptions from --ray [ADDRESS] --ray-batch-size --ray-actors, or None to run here."""
    if getattr(a, "ray", None) is None:
        return None
    from core.pipeline.cluster import RayOptions
    return RayOptions(address=None if a.ray == "local" else a.ray, batch_size=a.ray_batch_size, actors=a.ray_actors)


def unreadable_lines(project: Project, limit: int = 20, retried: bool = False) -> list[str]:
    """What the stages skip because it failed to decode before and has not changed since, each file with its
    reason, and how to have them read again; [] when there is none. ``retried``: they were just read again (attention
    --retry-unreadable), so the hint does not offer that once more."""
    from core.data.unreadable import RETRY_HINT, SKIPPED, unreadable_images
    failures = unreadable_images(project)
    if not failures:
        return []
    lines = [f"unreadable: {plural(len(failures), 'image')} {SKIPPED}:"]
    lines += [f"  {f.rel_path}: {f.reason}" for f in failures[:limit]]
    if len(failures) > limit:
        lines.append(f"  ... and {len(failures) - limit} more")
    if retried:
        return lines + ["  read again just now and still failing: fix or replace the file (a new size or modification "
                        "time retries it)"]
    return lines + [f"  to read them again: {RETRY_HINT}"]


def _reread(project: Project, unreadable: bool = False) -> None:
    """Read again the files changed on disk since they were read (core/data/changed_files.py), before the stage
    does, so that the command names each one whose content is new (and with ``unreadable`` each one that no longer
    decodes, for a stage that does not list those itself)."""
    from core.data.changed_files import reread_changed_images, reread_lines
    for line in reread_lines(reread_changed_images(project), unreadable=unreadable):
        print(line, file=sys.stderr)


@_with_events
def cmd_attention(a, progress) -> int:
    from core.pipeline import compute_attention
    with open_project(a.project) as p:
        _reread(p)
        if a.retry_unreadable:
            from core.data.unreadable import refused_files, retry_unreadable_images
            again = retry_unreadable_images(p)     # the project's images; the files the importer refused stay
            print(f"reading {plural(again, 'image')} that failed to decode before again", file=sys.stderr)
            if refused := refused_files(p):
                print(f"  {plural(len(refused), 'file')} the importer refused: not images of the project yet; "
                      "import-images --retry-unreadable reads them", file=sys.stderr)
        if _ray(a) is not None:
            from core.pipeline.cluster import compute_attention_on_ray
            n = compute_attention_on_ray(p, _cfg(p, a), progress, _ray(a), force=a.force)
        else:
            n = compute_attention(p, _cfg(p, a), progress, force=a.force, backbone=_loaded(a))
        print(f"attention maps for {plural(n, 'image')}", file=sys.stderr)
        for line in unreadable_lines(p, retried=a.retry_unreadable):
            print(line, file=sys.stderr)
    return n


@_with_events
def cmd_proposals(a, progress) -> int:
    from core.pipeline import compute_proposals
    with open_project(a.project) as p:
        _reread(p, unreadable=True)
        if _ray(a) is not None:
            from core.pipeline.cluster import compute_proposals_on_ray
            n = compute_proposals_on_ray(p, _cfg(p, a), progress, _ray(a), force=a.force)
        else:
            n = compute_proposals(p, _cfg(p, a), progress, force=a.force, backbone=_loaded(a))
        print(f"proposals for {plural(n, 'image')}", file=sys.stderr)
        if waiting := _without_attention(p, _cfg(p, a)):
            print(f"note: {plural(waiting, 'image')} of object classes {'has' if waiting == 1 else 'have'} no "
                  f"attention maps yet, so no proposals: run 'attention' first (or 'run' for every stage)",
                  file=sys.stderr)
    return n


def _without_attention(project: Project, cfg) -> int:
    """Labelled images of object classes that have no attention maps of ``cfg``'s backbone (proposals skip them),
    not counting those the attention stage could not decode ('info' names those)."""
    from core.data.unreadable import without_unreadable
    from core.pipeline.proposal_stage import object_class_images

    with_maps = project.maps.image_ids_with_attention(cfg.backbone_key)
    return len(without_unreadable(project, [r for r in object_class_images(project, cfg) if r.id not in with_maps])[0])


@_with_events
def cmd_train(a, progress) -> int:
    from core.pipeline import train
    with open_project(a.project) as p:
        _reread(p)
        cfg = _cfg(p, a)
        run_id = train(p, cfg, progress, resume_run=a.resume, backbone=_loaded(a))
        run = p.runs.get(run_id)
        for line in skipped_lines((run.metrics or {}).get(UNREADABLE_KEY) if run else None):
            print(line, file=sys.stderr)
        if note := _without_proposals_note(p, cfg):
            print(note, file=sys.stderr)
        if a.json:                    # for scripts: the run's number, state and figures
            print(json.dumps({"train_run": run_id, "status": run.status if run else None,
                              "metrics": run.metrics if run else {}}), file=sys.stderr if a.events == "json" else None)
        else:                         # stdout carries only JSON events in events mode: the words go to stderr
            print(f"{describe_training_run(run)}\nnext: python main.py predict {a.project}",
                  file=sys.stderr if a.events == "json" else None)
    return run_id


def _without_proposals_note(project: Project, cfg) -> str | None:
    """A note when training images of object classes taught no box because they have neither proposals nor curated
    boxes (a file replaced since its proposals were made loses them, and ``train`` does not make proposals), with the
    command that makes them; None when every such image had some."""
    from core.pipeline.readiness import training_readiness
    n = training_readiness(project, cfg).without_boxes
    if not n:
        return None
    return (f"note: {plural(n, 'training image')} of object classes {'has' if n == 1 else 'have'} no proposals or "
            f"curated boxes, so {'it' if n == 1 else 'they'} taught the classifier but no boxes: run 'proposals', "
            "then train again (or 'run', which does both)")


@_with_events
def cmd_predict(a, progress) -> int:
    from core.pipeline import predict
    with open_project(a.project) as p:
        _reread(p)
        if _ray(a) is not None:
            from core.pipeline.cluster import predict_on_ray
            run = predict_on_ray(p, a.run, progress, _ray(a), cfg=_cfg(p, a))
        else:
            run = predict(p, a.run, progress, cfg=_cfg(p, a), backbone=_loaded(a))
        trained = {r.id: r.training_run_id for r in p.maps.prediction_runs()}.get(run)
        for line in skipped_lines(p.maps.prediction_run_config(run).get(UNREADABLE_KEY)):
            print(line, file=sys.stderr)
        print(f"{prediction_run_name(run, trained)} stored (evaluate --prediction-run {run} scores it); "
              f"{threshold_words(p.maps.prediction_run_config(run))}", file=sys.stderr)
        _warn_degenerate(p, run)
    return run


def warning_line(text: str) -> str:
    """How every stage words a warning on its own line: 'warning: ...'."""
    return f"warning: {text}"


def _warn_degenerate(project: Project, pred_run: int | None, file=None) -> None:
    """A model that learned nothing (flat maps, full-frame boxes) is said in words, not left to the scores: the
    warning the prediction run recorded (core/result_checks.py), on stderr unless ``file`` is given."""
    if pred_run is not None and (warning := project.maps.prediction_warning(pred_run)):
        print(warning_line(warning), file=file or sys.stderr)


def describe_prediction_run(project: Project, pred_run: int) -> str:
    """One line on a prediction run as every place names it (core/run_names.py: its own number, the one
    ``evaluate --prediction-run`` takes, then the training run it came from), with what it holds, how much of it
    is reviewed and how it chose its threshold, e.g. 'prediction run #5 (from training run #3): 34 boxes on 20 of
    24 images; reviewed 7 (5 accepted, 2 rejected), 27 pending; τ 0.80 and drawing (as set) fitted to 7 curated
    images the run did not train on' (core.run_figures.threshold_words)."""
    trained = {r.id: r.training_run_id for r in project.maps.prediction_runs()}.get(pred_run)
    c = project.maps.prediction_run_counts(pred_run)
    return (f"{prediction_run_name(pred_run, trained)}: "
            f"{plural(c['boxes'], 'box', 'boxes')} on {c['images_with_boxes']} of {plural(c['images'], 'image')}; "
            f"reviewed {c['accepted'] + c['rejected']} ({c['accepted']} accepted, {c['rejected']} rejected), "
            f"{c['pending']} pending; {threshold_words(project.maps.prediction_run_config(pred_run))}")


def _unlearned_since(project: Project, run) -> str | None:
    """What training run ``run`` did not learn that the project now has, in words, or None: boxes curated on
    training images since it trained, and images it left out as unreadable whose files read again now (repaired)."""
    from core.data.unreadable import readable_again
    from core.pipeline.train_stage import curated_since
    parts = []
    if n_new := curated_since(project, run):
        parts.append(f"{plural(n_new, 'training image')} curated since it trained")
    left_out = ((run.metrics or {}) if run is not None else {}).get(UNREADABLE_KEY) or {}
    if readable := readable_again(project, left_out):
        parts.append(f"{plural(len(readable), 'image')} it left out as unreadable "
                     f"{'reads' if len(readable) == 1 else 'read'} again now ({first_names(readable)})")
    return " and ".join(parts) or None


def run_summary(project: Project, out: dict) -> str:
    """What ``run`` did, in words: images computed per stage, the images skipped as unreadable (one line each, as
    ``train`` and ``predict`` print them), the training run, the prediction run."""
    from core.data.changed_files import reread_words
    resized = out.get("resized", {})
    lines = [f"re-read         {path}: {reread_words(resized.get(path))}" for path in out.get("reread", [])]
    lines += [f"attention maps  {plural(out.get('attention', 0), 'image')} computed",
             f"proposals       {plural(out.get('proposals', 0), 'image')} computed"]
    from core.data.unreadable import skipped_line, unreadable_images
    lines += [skipped_line(f) for f in unreadable_images(project)]   # one line per file, worded as train and predict do
    if out.get("train_run") is not None:
        run = project.runs.get(out["train_run"])
        if out.get("trained", True):
            lines.append(f"training        {describe_training_run(run)}")
        elif unlearned := _unlearned_since(project, run):   # run retrains on new maps or proposals only
            lines.append(f"training        none: no new maps or proposals since "
                         f"{training_run_name(out['train_run'])}; {unlearned}, which only a new training run "
                         "learns (--retrain)")
        else:                         # nothing new to learn from: the model the project has is kept
            lines.append(f"training        none: nothing new to learn from since "
                         f"{training_run_name(out['train_run'])} "
                         "(--retrain trains again)")
    if unpredicted := out.get("unpredicted"):   # `train` ran since the last prediction: its model predicts now
        lines.append(f"prediction      {training_run_name(unpredicted['train_run'])} has not predicted yet (the latest "
                     f"prediction is prediction run #{unpredicted['since_prediction_run']}, from "
                     f"{training_run_name(unpredicted['since_train_run'])}): predicting with it")
    if readable := out.get("readable_again"):   # files repaired since the prediction left them out
        lines.append(f"prediction      prediction run #{readable['since_prediction_run']} left out "
                     f"{plural(len(readable['images']), 'unreadable image')} whose "
                     f"{'file' if len(readable['images']) == 1 else 'files'} changed since "
                     f"({first_names(readable['images'])}): "
                     f"predicting again to draw {'its' if len(readable['images']) == 1 else 'their'} boxes")
    if refit := out.get("refit"):   # predicted again without training: say why, before what it made
        lines.append(f"prediction      {plural(refit['curated_images'], 'curated image')} changed since prediction "
                     f"run #{refit['since_prediction_run']}: predicting again to refit the threshold")
    if out.get("prediction_run") is not None:
        lines.append(f"prediction      {describe_prediction_run(project, out['prediction_run'])}")
    elif out.get("train_run") is not None:
        lines.append("prediction      up to date (nothing changed since the last run)")
    return "\n".join(lines)


@_with_events
def cmd_run(a, progress) -> dict:
    from core.pipeline import run_all
    with open_project(a.project) as p:
        # boxes drawn another way are not up to date: new box-drawing options draw them again from the model
        out = run_all(p, _cfg(p, a), progress, retrain=a.retrain, ray=_ray(a), redraw=given(a, "boxes"),
                      backbone=_loaded(a))
        from core.data.unreadable import unreadable_images
        if skipped := unreadable_images(p):   # --json says what the summary's 'skipped' lines say: file and reason
            out[UNREADABLE_KEY] = {f.rel_path: f.reason for f in skipped}
        if a.events == "json":       # stdout carries only JSON events; the result is in the 'done' event
            print(run_summary(p, out), file=sys.stderr)
        else:                         # --json: for scripts, the stages' counts and run ids
            print(json.dumps(out) if a.json else run_summary(p, out))
        _warn_degenerate(p, out.get("prediction_run"))
    return out


def cmd_evaluate(a) -> int:
    from core.eval.report import format_table
    from core.pipeline import evaluate
    with open_project(a.project) as p:
        result = evaluate(p, split=a.split, maps=a.maps, metadata=Path(a.metadata) if a.metadata else None,
                          prediction_run=a.prediction_run)
    print(format_table(result))
    if learned_nothing := result.get("prediction_warning"):  # recorded by predict: the same words it printed
        print(warning_line(learned_nothing))
    if few := result.get("small_sample_warning"):     # the evaluation panel's rule (core/result_checks.py)
        print(warning_line(few))
    from core.pipeline.evaluate_stage import metadata_summary
    if metadata_summary(result):
        print(metadata_summary(result))
    if a.json:
        from core.data.coco import write_json_atomic
        write_json_atomic(result, Path(a.json))
    return 0


def _events(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", help="project file (.dips)")
    p.add_argument("--events", choices=("text", "json"), default="text",
                   help="json: one JSON event per line on stdout (for the GUI)")


def _stage(sub, name: str, help_: str, func) -> argparse.ArgumentParser:
    """A stage subcommand: its settings options come from core.settings (the fields that name the stage)."""
    p = sub.add_parser(name, help=help_)
    _events(p)
    add_stage_options(p, name)
    p.set_defaults(func=func)
    return p


def _ray_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run the per-image work on Ray: alone, a Ray started on this machine; 'auto' or "
                        "ray://HOST:10001 joins a cluster (docs/scale.md)")
    p.add_argument("--ray-batch-size", type=int, default=8, help="images per actor call (default 8)")
    p.add_argument("--ray-actors", type=int, help="actors (default: one per GPU, else one per two CPUs)")


def register(sub) -> None:
    p = _stage(sub, "attention", "per-head attention maps of the frozen ViT for every image", cmd_attention)
    p.add_argument("--force", action="store_true", help="recompute maps that exist")
    p.add_argument("--retry-unreadable", action="store_true",
                   help="read the project's images that failed to decode before again (in attention, and in the "
                        "next proposals run), even if their file has not changed (a changed file is read anyway); "
                        "files the importer refused: import-images --retry-unreadable")
    _ray_options(p)

    p = _stage(sub, "proposals", "ranked discriminative proposals (Alg. 1) from the attention maps", cmd_proposals)
    p.add_argument("--force", action="store_true", help="recompute (inspectors' decisions are kept)")
    _ray_options(p)

    p = _stage(sub, "train", "train the classification and localization heads", cmd_train)
    p.add_argument("--resume", type=int, help="resume training run N from its last checkpoint")
    p.add_argument("--json", action="store_true",
                   help="print the run as one JSON object on stdout (its number, state, figures) instead of a summary")

    p = _stage(sub, "predict", "class probabilities, foreground maps and boxes for every image", cmd_predict)
    p.add_argument("--run", type=int, help="training run to use (default: the latest finished)")
    _ray_options(p)

    p = _stage(sub, "run", "every stage in order, skipping what is up to date", cmd_run)
    p.add_argument("--retrain", action="store_true", help="train again even if nothing changed")
    p.add_argument("--json", action="store_true",
                   help="print what ran as one JSON object on stdout (image counts, run ids) instead of a summary")
    _ray_options(p)   # attention, proposals and prediction on Ray; training here

    p = sub.add_parser("evaluate", help="WSOL metrics against imported ground truth")
    p.add_argument("project", help="project file (.dips)")
    p.add_argument("--split", default="test", choices=("train", "val", "test", "all"),
                   help="the images evaluated: one split, or all of them (default: test)")
    # 'proposals', as the stage and export --boxes spell it, is the same choice
    p.add_argument("--maps", default="predicted", choices=("predicted", "attention", "proposal"),
                   type=lambda text: "proposal" if text == "proposals" else text,
                   help="predicted: DiPS maps; attention: raw SST map picked by the classifier (Table 4 "
                        "baseline); proposal (or proposals): the top-ranked proposal box itself")
    p.add_argument("--metadata", help="wsolevaluation metadata folder (image_ids.txt, class_labels.txt, "
                                      "localization.txt) instead of the project's ground truth")
    p.add_argument("--prediction-run", type=int, help="prediction run N to evaluate, as predict and info name it: "
                   "'prediction run #N (from training run #M)' (default: each image's latest)")
    p.add_argument("--json", help="also write the figures as JSON to this file")
    p.set_defaults(func=cmd_evaluate)
