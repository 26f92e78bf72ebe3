"""The demo project the proposal benches read: the one ``bench/quality.py`` builds with its defaults (``make bench``
runs that first). Its folder is named here once, so the two cannot drift apart."""
from __future__ import annotations

from pathlib import Path

WORK, N_IMAGES, SEED = "/tmp/dips_quality", 240, 0   # quality.py's defaults for --work, --n and --seed


def demo_folder(work: str | Path = WORK, n: int = N_IMAGES, seed: int = SEED) -> Path:
    """The folder quality.py builds its demo project in (core.pipeline.demo.ensure_demo_project adds demo.dips)."""
    return Path(work) / f"demo_{n}_{seed}"


DEMO_PROJECT = str(demo_folder() / "demo.dips")


def open_demo_project(path: str | Path):
    """The project at ``path``; exits with a message naming the file and the bench that builds it when it is not
    there (a traceback said only 'no such project file')."""
    from core.store.project import Project
    if not Path(path).is_file():
        raise SystemExit(f"{path}: no such project file; build it first with `.venv/bin/python bench/quality.py` "
                         "(its default --work, --n and --seed), or give another project with --project")
    return Project.open(path)
