"""The headless command line: every stage of the product without the GUI.

Each subcommand has ``--help``, shows a progress bar on long work and exits non-zero
with a one-line reason on bad input.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from core.cli_stages import describe_prediction_run, unreadable_lines
from core.cli_stages import register as _register_stages
from core.errors import USER_ERRORS, CliError, user_message
from core.progress import Cancelled, Progress, TextProgressBar
from core.result_checks import plural
from core.run_figures import unpredicted_training_run
from core.run_names import training_run_name
from core.store.project import Project

__all__ = ["CliError", "build_parser", "open_project", "run_cli"]


def _progress() -> Progress:
    return Progress(TextProgressBar())


def open_project(path: str):
    from core.store.project import Project
    return Project.open(path)


# -- foundation commands -----------------------------------------------------------------

def cmd_new(a: argparse.Namespace) -> int:
    from core.data.importer import import_images
    from core.data.splits import SplitConfig
    from core.store.project import Project

    images = Path(a.images)
    if not images.is_dir():
        raise CliError(f"{images}: image folder does not exist")
    if a.labels and not Path(a.labels).is_file():
        raise CliError(f"{a.labels}: label CSV does not exist")
    splits = SplitConfig.parse(a.split, seed=a.seed)
    background = _background_option(a.background_classes)
    project = Project.create(a.project, images)
    try:      # a creation that fails leaves no file behind, so the same command works once the folder is fixed
        report = import_images(project, csv_path=Path(a.labels) if a.labels else None, splits=splits,
                               progress=_progress())
        if report.added == 0:
            print(report.summary())
            raise CliError(f"{images}: no usable images found; no project was created")
        if background is not None:
            _declare_background(project, background)
    except BaseException:
        project.discard()
        raise
    from core.class_roles import background_names
    from core.settings import load_settings
    bg = background_names(load_settings(project), [c.name for c in project.classes()])
    project.close()
    print(f"created {project.path}")
    print(report.summary())
    print("background classes (no object): " + (", ".join(bg) or "none"))
    return 0


def _background_option(text: str | None) -> list[str] | None:
    """``--background-classes``: None (not given, or 'default': by name), else the names ('' = none)."""
    if text is None or text.strip() == "default":
        return None
    from core.settings import parse_names
    return parse_names(text) or []


def _declare_background(project, names: list[str]) -> None:
    from core.class_roles import apply_roles
    known = [c.name for c in project.classes()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CliError(f"--background-classes: no class named {', '.join(unknown)} (classes: {', '.join(known)})")
    apply_roles(project, names)


def cmd_import_images(a: argparse.Namespace) -> int:
    from core.data.importer import import_images
    with open_project(a.project) as project:
        report = import_images(project, csv_path=Path(a.labels) if a.labels else None, progress=_progress(),
                               rehash=a.rehash, retry_unreadable=a.retry_unreadable)
        print(report.summary())
    return 0


def cmd_import_coco(a: argparse.Namespace) -> int:
    from core.data.coco import import_coco
    with open_project(a.project) as project:
        report = import_coco(project, Path(a.file), as_=a.as_)
        print(report.summary())
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from core.data.coco import export_coco
    with open_project(a.project) as project:
        leave_out = ()
        if a.no_background_categories:
            from core.pipeline.config import load_config
            cfg = load_config(project)
            leave_out = tuple(c.name for c in project.classes() if cfg.is_background(c.name))
        report = export_coco(project, Path(a.out), boxes=a.boxes, reviewed_only=a.reviewed_only,
                             split=None if a.split == "all" else a.split, leave_out_classes=leave_out)
        print(f"wrote {a.out}: {plural(report.images, 'image')}, {plural(report.annotations, 'annotation')} "
              f"({a.boxes})")
        for line in report.skipped[:20]:
            print(f"skipped {line}")
        if a.reviewed_only and not report.images:   # an empty file is no surprise once the reason is said
            where = "" if a.split == "all" else f" in the {a.split} split"
            print(f"note: no image{where} is marked reviewed yet, so the file holds none: mark an image reviewed in "
                  "the window (Space) once its boxes are done ('info' counts them under 'review')")
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    with open_project(a.project) as project:
        print(project_info(project))
    return 0


INFO_LABEL_WIDTH = 10   # the longest label, "unreadable"; every value starts one column after it


def _field(label: str, value: str) -> str:
    """One line of ``info``: the label padded so that every value starts in the same column."""
    return f"{label:<{INFO_LABEL_WIDTH}} {value}"


def project_info(project: Project) -> str:
    counts = project.images.counts()
    names = project.class_names()
    lines = [_field("project", str(project.path)), _field("images", f"{counts['total']} in {project.image_root}")]
    if counts["missing"]:
        lines.append(_field("missing", f"{plural(counts['missing'], 'file')} no longer on disk"))
    if bad := unreadable_lines(project):
        lines += [_field("unreadable", bad[0].removeprefix("unreadable:").lstrip()), *bad[1:]]
    from core.data.unreadable import REFUSED_HINT, refused_files
    if refused := refused_files(project):
        lines.append(_field("refused", f"{plural(len(refused), 'file')} that failed to decode at import, skipped by "
                                       "re-scans until the file changes:"))
        lines += [f"  {f.rel_path}: {f.reason}" for f in refused[:20]]
        if len(refused) > 20:
            lines.append(f"  ... and {len(refused) - 20} more")
        lines.append(f"  to read them again: {REFUSED_HINT}")
    lines.append(_field("classes", ", ".join(f"{names.get(k, 'unlabelled') if k is not None else 'unlabelled'} {v}"
                                             for k, v in sorted(counts["class"].items(), key=lambda kv: str(kv[0])))))
    lines.append(_field("splits", ", ".join(f"{k} {v}" for k, v in sorted(counts["split"].items()))))
    lines.append(_field("review", ", ".join(f"{k} {v}" for k, v in sorted(counts["review"].items()))))
    by_source = project.boxes.counts_by_source()
    lines.append(_field("boxes", ", ".join(f"{k} {v}" for k, v in sorted(by_source.items())) or "none"))
    lines.append(_field("gt boxes", str(project.boxes.gt_count())))
    lines.append(_field("proposals", str(project.proposals.count())))
    runs = project.runs.list()
    if runs:
        last = runs[-1]
        lines.append(_field("training", f"{plural(len(runs), 'run')}; last {training_run_name(last.id)} {last.status}"))
    pred_run = project.maps.latest_run_id()
    if pred_run is not None:
        lines.append(_field("predicted", describe_prediction_run(project, pred_run)))
        if warning := project.maps.prediction_warning(pred_run):
            lines.append(_field("warning", warning))
    if unpredicted := unpredicted_training_run(project):
        # the boxes the window shows are not the latest model's: say so, and how to get them
        lines.append(_field("" if pred_run is not None else "predicted",
                            f"{training_run_name(unpredicted[0])} has not predicted yet: 'predict' (or 'run') draws "
                            "its boxes"))
    return "\n".join(lines)


def cmd_demo(a: argparse.Namespace) -> int:
    from core.data.demo import write_demo
    progress = _progress()
    progress.start("demo", a.n)
    info = write_demo(Path(a.out), n_images=a.n, seed=a.seed, progress=lambda d, t: progress.update(d, t))
    print(f"wrote {info.n_images} images to {info.image_dir} and ground truth to {info.gt_path}")
    return 0


# -- registry ---------------------------------------------------------------------------------

def _add_foundation(sub) -> None:
    p = sub.add_parser("new", help="create a project over an image folder",
                       description="Create a project file over an image folder (folder-per-class, or flat + CSV).")
    p.add_argument("project", help="project file to create (e.g. sites.dips)")
    p.add_argument("--images", required=True, help="image folder: <class>/... sub-folders, or flat with --labels")
    p.add_argument("--labels", help="CSV with rows 'path,class' for a flat folder")
    p.add_argument("--split", default="0.7,0.15,0.15", help="train,val,test ratios (default 0.7,0.15,0.15)")
    p.add_argument("--seed", type=int, default=0, help="seed of the stratified split")
    p.add_argument("--background-classes", metavar="NAMES",
                   help="classes whose images show no object, comma-separated (e.g. field,meadow); '' = none; "
                        "default: by name (no_*, non_*, background, negative, none, empty)")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("import-images", help="re-scan the image folder: add new files, flag missing ones")
    p.add_argument("project", help="project file (.dips)")
    p.add_argument("--labels", help="CSV with rows 'path,class' for a flat folder")
    p.add_argument("--rehash", action="store_true",
                   help="read every known file again, even if its size and modification time are unchanged "
                        "(and the files that failed to decode before)")
    p.add_argument("--retry-unreadable", action="store_true",
                   help="read the files that failed to decode at an earlier import again, even if unchanged (a "
                        "changed file is read anyway); the project's images that failed in a stage: attention "
                        "--retry-unreadable")
    p.set_defaults(func=cmd_import_images)

    p = sub.add_parser("import-coco", help="import boxes from a COCO JSON file")
    p.add_argument("project", help="project file (.dips)")
    p.add_argument("file", help="COCO JSON file")
    p.add_argument("--as", dest="as_", choices=("gt", "curated"), default="curated",
                   help="gt: ground truth kept apart for evaluation; curated: boxes to review (default)")
    p.set_defaults(func=cmd_import_coco)

    p = sub.add_parser("export", help="export boxes to COCO JSON")
    p.add_argument("project", help="project file (.dips)")
    p.add_argument("--out", required=True, help="output .json file")
    p.add_argument("--boxes", choices=("curated", "accepted", "predictions", "proposals", "all"), default="curated",
                   help="which boxes to export (default: curated; accepted: curated boxes that were accepted "
                        "predictions)")
    p.add_argument("--reviewed-only", action="store_true", help="only images marked reviewed")
    p.add_argument("--split", choices=("all", "train", "val", "test"), default="all",
                   help="only the images of this split (default: all)")
    p.add_argument("--no-background-categories", action="store_true",
                   help="background classes (their images show no object) are no category")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("info", help="counts per class, split, review state; boxes by source")
    p.add_argument("project", help="project file (.dips)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="write the built-in synthetic drone demo data set")
    p.add_argument("--out", default="demo_data", help="output folder (default: demo_data)")
    p.add_argument("--n", type=int, default=240, help="number of images (default 240)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the synthetic scenes: the same seed and number write the same images (default 0)")
    p.set_defaults(func=cmd_demo)


REGISTRARS: list[Callable] = [_add_foundation, _register_stages]
COMMANDS = ("new", "import-images", "import-coco", "export", "info", "demo",
            "attention", "proposals", "train", "predict", "evaluate", "run")


# words a newcomer types for a command that has another name here
COMMAND_SYNONYMS = {"scan": "import-images", "rescan": "import-images", "import": "import-images",
                    "maps": "attention", "fit": "train", "eval": "evaluate", "status": "info"}


def unknown_command(word: str) -> str | None:
    """The error for ``python main.py WORD ...`` when WORD is neither a command nor a project file, else None.

    Without it the word was taken for a project to open in the window: on a machine without a display that is Qt's
    abort, elsewhere a window saying a project is missing, neither of which says the command was mistyped."""
    from difflib import get_close_matches
    from pathlib import Path

    if word.startswith("-") or word in COMMANDS or word == "screenshot" or Path(word).suffix or "/" in word \
            or os.sep in word or Path(word).exists():
        return None
    close = [COMMAND_SYNONYMS[word]] if word in COMMAND_SYNONYMS else get_close_matches(
        word, [*COMMANDS, "screenshot"], n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return (f"error: '{word}' is neither a command nor a project file; {hint}the commands: {', '.join(COMMANDS)}, "
            "screenshot ('python main.py --help' says what each does; 'python main.py PROJECT.dips' opens a project)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="DiPS Studio: weakly supervised boxes for drone imagery.",
        epilog="Without a command the GUI starts (on the demo project, or on PROJECT if given). "
               "'python main.py screenshot --out FILE.png [PROJECT]' renders the main window to a PNG.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in REGISTRARS:
        register(sub)
    return parser


def _stdout_to_devnull() -> None:
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
    except (OSError, ValueError):   # no real file descriptor (stdout captured in-process): nothing to redirect
        pass


def run_cli(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()   # here, not at exit: a reader that stopped early is then caught below
        return code
    except BrokenPipeError:
        # the reader stopped early (`info | head`): nothing is wrong, and nothing more is said; stdout goes to
        # devnull so that the interpreter's last flush does not fail again
        _stdout_to_devnull()
        return 141   # 128 + SIGPIPE, as a shell reports a command whose reader went away
    except Cancelled:
        print("\ncancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as exc:
        # an OS error in words ("FILE: No such file or directory"), not Python's "[Errno 2] ..."
        print(f"error: {user_message(exc) if isinstance(exc, OSError) else exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        message = user_message(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
