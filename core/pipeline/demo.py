"""The built-in demo project: synthetic drone data, imported once, with its ground truth."""
from __future__ import annotations

from pathlib import Path

from core.data.coco import import_coco
from core.data.demo import write_demo
from core.data.importer import import_images
from core.progress import NULL_PROGRESS, Progress
from core.store.project import Project

DEMO_IMAGES = 240


def ensure_demo_project(folder: Path, n_images: int = DEMO_IMAGES, progress: Progress = NULL_PROGRESS) -> Path:
    """Create ``folder/demo.dips`` over freshly generated demo data, unless it exists. Returns its path."""
    folder = Path(folder)
    path = folder / "demo.dips"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    progress.start("demo data", n_images)
    info = write_demo(folder / "data", n_images=n_images, progress=lambda d, t: progress.update(d, t))
    tmp = folder / "demo.dips.partial"
    for leftover in folder.glob("demo.dips.partial*"):
        leftover.unlink()
    with Project.create(tmp, info.image_dir) as project:
        import_images(project, progress=progress)
        import_coco(project, info.gt_path, as_="gt")
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    tmp.rename(path)  # only a complete demo project ever appears under its final name
    return path
