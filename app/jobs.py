"""The job layer: the one way the window and its panels start a stage.

``Jobs.start(stage, project, settings)`` runs a stage of core.stages.ORDER with a typed settings object
(core.settings.Settings), on a worker thread or as ``python main.py STAGE ... --events json`` in a child
process, and returns the ``app.workers.Task`` whose signals (progress, finished, failed, cancelled) arrive on
the GUI thread. The command line of a child comes from the settings (core.settings.stage_argv), its event lines
are read with core.events, the stage titles and order come from core.stages. Panels only display and edit:
they never build a command line or write to the store about a job.

Why a child process for training: a crash or an out-of-memory there never takes the window down, and Cancel
kills the whole process tree. Attention maps and proposals run on a thread, so their results show live.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.workers import Task, TaskRunner
from core.settings import Settings
from core.settings_cli import stage_argv
from core.stages import TITLES

# The core.pipeline function of each stage of core.stages.ORDER.
FUNCTIONS = {"attention": "compute_attention", "proposals": "compute_proposals", "train": "train",
             "predict": "predict"}

# The stages that take a priority source (core.work_order) and compute the images it names first.
PRIORITISED = ("attention", "proposals")


def _pipeline():
    import core.pipeline as pipeline
    return pipeline


def _stage_function(stage: str) -> Callable:
    return getattr(_pipeline(), FUNCTIONS[stage])


class Jobs:
    """Starts stages through a TaskRunner (anything with ``run_in_thread`` and ``run_subprocess``)."""

    def __init__(self, runner: TaskRunner):
        self.runner = runner

    def start(self, stage: str, project, settings: Settings | None = None, *, in_process: bool = False,
              run_id: int | None = None, title: str | None = None, priority=None,
              skip_background: bool = False) -> Task:
        """Run ``stage`` on ``project``.

        ``settings``: the settings to run with (saved with the project by the child, as the CLI does); None =
        the project's saved ones. ``in_process``: on a worker thread instead of a child process (the stage
        then uses the window's open project). ``run_id``: the training run a prediction uses. ``priority``: for
        attention and proposals on a thread, the image ids to compute first (a core.work_order.Priority, read
        between images). ``skip_background``: attention on a thread leaves background classes' images for later.
        """
        title = title or TITLES[stage]
        if in_process:
            fn = _stage_function(stage)
            kwargs: dict[str, Any] = {}
            if settings is not None:
                kwargs["cfg"] = settings
            if priority is not None and stage in PRIORITISED:
                kwargs["priority"] = priority
            if skip_background and stage == "attention":
                kwargs["skip_background"] = True
            return self.runner.run_in_thread(lambda progress: fn(project, progress=progress, **kwargs), title)
        if settings is not None:
            argv = stage_argv(settings, stage, project.path)
        else:
            argv = [stage, str(project.path)]
            if run_id is not None:
                argv += ["--run", str(run_id)]
            argv += ["--events", "json"]
        runs_before = {r.id for r in project.runs.list()} if stage == "train" else set()
        task = self.runner.run_subprocess(argv, title)
        if stage == "train":
            # A killed training process cannot close its run row: the job says 'cancelled' for it, before the
            # panel hears of the cancel (this slot is connected first).
            task.cancelled.connect(lambda p=project, before=runs_before: close_killed_runs(p, before))
        return task


def reread_changed(project) -> list:
    """Read again the images whose files changed on disk since they were read (core/data/changed_files.py): new
    content drops what was computed from the old file, an undecodable one is recorded. Returns the
    core.data.changed_files.Reread of each file read again; run it on a thread (a stat per image)."""
    from core.data.changed_files import reread_changed_images
    return reread_changed_images(project)


def unfinished_stages(project) -> list[str]:
    """The stages of attention -> proposals the project has left unfinished, in order (core.pipeline.unfinished;
    reads the store and the feature cache: run it on a thread)."""
    return _pipeline().unfinished_stages(project)


def evaluate(project, split: str, maps: str, progress=None) -> dict:
    """WSOL figures of ``maps`` on ``split`` with per-image details (core.pipeline.evaluate); run it on a thread."""
    if progress is None:
        return _pipeline().evaluate(project, split, maps, details=True)
    return _pipeline().evaluate(project, split, maps, details=True, progress=progress)


def torch_devices() -> list:
    """The devices a stage can run on (needs torch: ask with app.probe, off the GUI thread)."""
    from core.dips.device import available_devices
    return available_devices()


def close_killed_runs(project, runs_before: set[int]) -> None:
    """Runs opened by a training process that was killed are still 'running': mark them cancelled."""
    for r in project.runs.list():
        if r.id not in runs_before and r.status == "running":
            project.runs.update(r.id, status="cancelled", error="cancelled by the user")


def training_readiness(project, settings: Settings | None = None):
    """What training would find (core.pipeline.readiness.TrainingReadiness) with ``settings`` (default: the
    project's saved ones). Reads every image record of the training split (and the backbone key may hash a weight
    file): run it on a thread, as app.training_gate does."""
    from core.pipeline.config import PipelineConfig
    from core.pipeline.readiness import training_readiness as readiness
    cfg = PipelineConfig.from_dict(settings.to_dict()) if settings is not None else None
    return readiness(project, cfg)
