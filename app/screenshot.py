"""``python main.py screenshot --out FILE.png [PROJECT] [--size 1600x1000] [--image REL_PATH] [--panel NAME]``

Renders the real main window to a PNG without a display (Qt's offscreen platform): the
project (default: the built-in demo) is opened, one image selected with its layers shown,
thumbnails and pixels awaited, then the window is grabbed at exactly the requested size.
No background computation is started (files replaced since they were read are read again, as the window does on
opening, so none is shown under the old file's boxes); ``--compute`` first runs the attention and proposal
stages (skipping what is up to date) so the picture shows proposals, and ``--predict`` also trains
with the project's settings and predicts (core.pipeline.run_all: nothing again that is up to date,
no training when the project has a finished run and a prediction) so it shows predicted boxes.

The window's settings (dock layout, recent files) go to a throw-away folder, so a screenshot
neither depends on nor changes the user's own layout.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

PANEL_DOCKS = {"layers": "layers_dock", "attention": "attention_dock", "training": "training_dock",
               "evaluation": "eval_dock"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python main.py screenshot",
                                description="Render the DiPS Studio main window to a PNG (no display needed).")
    p.add_argument("project", nargs="?", help="project file (default: the built-in demo project)")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--size", default="1600x1000", help="window size WIDTHxHEIGHT in pixels (default 1600x1000)")
    p.add_argument("--image", help="image to show, by its path relative to the image folder")
    p.add_argument("--panel", choices=sorted(PANEL_DOCKS),
                   help="dock tab to bring to the front on the right (default: as the window opens)")
    p.add_argument("--compute", action="store_true",
                   help="compute attention maps and proposals first (slow on CPU for a big project)")
    p.add_argument("--predict", action="store_true",
                   help="also train (the project's settings) and predict first, unless the project has a prediction "
                        "(implies --compute; on the demo about a minute of training on a CPU)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for pixels and thumbnails")
    a = p.parse_args(argv)
    try:
        w, h = (int(v) for v in a.size.lower().split("x"))
        if w < 200 or h < 150:
            raise ValueError
    except ValueError:
        p.error(f"--size must be WIDTHxHEIGHT with at least 200x150, got {a.size!r}")
    a.width, a.height = w, h
    return a


def pick_image(project, rel_path: str | None = None):
    """The image to show: ``rel_path`` if given; else the first image of an object class with
    proposals; else the first with ground truth or curated boxes; else the first image."""
    if rel_path:
        rec = project.images.by_path(rel_path)
        if rec is None:
            raise ValueError(f"{rel_path}: no such image in {project.path}")
        return rec
    images = project.images.list()
    if not images:
        return None
    try:
        from core.pipeline.config import load_config
        is_bg = load_config(project).is_background
    except Exception:
        def is_bg(_name):
            return False
    names = project.class_names()
    with_props = project.proposals.image_ids_with_proposals()
    for rec in images:
        if rec.id in with_props and not is_bg(names.get(rec.class_id)):
            return rec
    with_gt = {b.image_id for b in project.boxes.gt()}
    for rec in images:
        if rec.id in with_gt or rec.n_boxes:
            return rec
    return images[0]


def _settle(app, done, timeout_s: float) -> bool:
    """Process events until ``done()`` or the timeout; True when done."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        app.processEvents()
        if done():
            return True
        time.sleep(0.02)
    app.processEvents()
    return done()


def _thumbnails_pending(window) -> bool:
    thumbs = getattr(window.browser, "thumbs", None)
    return bool(getattr(thumbs, "_pending", None))


def _centre_in_browser(window, image_id: int) -> None:
    """Scroll the image list so the shown image's row is in view (rows arrive lazily)."""
    from PySide6.QtWidgets import QAbstractItemView
    try:
        browser = window.browser
        row = browser.model.row_of(image_id)
        if row >= 0:
            browser.view.scrollTo(browser.model.index(row), QAbstractItemView.ScrollHint.PositionAtCenter)
    except AttributeError:  # another browser layout: the screenshot is still worth having
        pass


def _compute(project_path: Path, predict: bool = False) -> None:
    from core.pipeline import compute_attention, compute_proposals, run_all
    from core.progress import Progress, TextProgressBar
    from core.store.project import Project
    with Project.open(project_path) as project:
        if predict:   # attention -> proposals -> train -> predict, each skipping what is up to date
            run_all(project, progress=Progress(TextProgressBar()))
            return
        compute_attention(project, progress=Progress(TextProgressBar()))
        compute_proposals(project, progress=Progress(TextProgressBar()))


def _project_path(a, demo_folder) -> Path:
    """The project to show (the demo's unless named), opened once and, with --compute, computed."""
    from core.store.project import Project, resolve_project_path
    if a.project:
        path = resolve_project_path(a.project)
    else:
        from core.pipeline import ensure_demo_project
        path = ensure_demo_project(demo_folder())
    with Project.open(path) as project:   # checked here: the window would ask with a modal box nobody sees
        # as the window does on opening: a file replaced since it was read is read again, so the picture shows the
        # new file with its own boxes, not the old file's maps and proposals over its pixels (a stat per image)
        from core.data.changed_files import reread_changed_images, reread_lines
        for line in reread_lines(reread_changed_images(project), unreadable=True):
            print(line, file=sys.stderr)
    if a.compute or a.predict:
        _compute(path, predict=a.predict)
    return path


def _show(window, rec, panel: str | None) -> None:
    """Go to the picked image and raise the asked-for panel."""
    if rec is not None:
        window.go_to_image(rec.id)
    if panel in ("training", "evaluation"):      # as Run > Training / Evaluation opens them: sized as a user sees
        getattr(window, f"on_show_{panel}")()
    elif panel:
        dock = getattr(window, PANEL_DOCKS[panel], None)
        if dock is not None:
            dock.show()
            dock.raise_()


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings, QSize, Qt

    settings_dir = tempfile.mkdtemp(prefix="dips-screenshot-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)

    from app.launch import demo_folder, make_app
    app = make_app([])

    from core.store.project import ProjectError
    try:
        path = _project_path(a, demo_folder)
    except (ProjectError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        shutil.rmtree(settings_dir, ignore_errors=True)
        return 2

    from app.main_window import MainWindow
    window = MainWindow(auto_compute=False, probe_device=False)
    with contextlib.suppress(Exception):   # no device line is no reason to lose the screenshot
        from core.dips.device import describe_device
        window.status.set_device(describe_device("auto"))
    window.resize(a.width, a.height)
    window.show()
    app.processEvents()
    try:
        if not window.files.open_path(path):
            print(f"error: cannot open {path}", file=sys.stderr)
            return 2
        try:
            rec = pick_image(window.session.project, a.image)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        _show(window, rec, a.panel)
        canvas = window.canvas
        _settle(app, lambda: rec is None or bool(canvas.levels_shown), a.timeout)
        _settle(app, lambda: not _thumbnails_pending(window), a.timeout)
        if a.panel == "evaluation" and window.eval_panel is not None:   # its figures, not "Evaluating..." and dashes
            ev = window.eval_panel                                       # started by a timer, then on a thread
            _settle(app, lambda: not ev._stale and ev._task is None, a.timeout)
        canvas.fit()
        if rec is not None:
            _centre_in_browser(window, rec.id)
        _settle(app, lambda: False, 0.2)   # let layouts and repaints finish

        img = window.grab().toImage()
        if img.size() != QSize(a.width, a.height):   # a high-DPI screen grabs at device pixels
            img = img.scaled(a.width, a.height, Qt.AspectRatioMode.IgnoreAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
        out = Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not img.save(str(out), "PNG"):
            print(f"error: cannot write {out}", file=sys.stderr)
            return 2
        print(f"wrote {out} ({img.width()}x{img.height()})")
        return 0
    finally:
        window.shutdown()
        project = window.session.project
        window.hide()
        window.deleteLater()
        app.processEvents()
        if project is not None:
            project.close()
        QSettings().sync()   # written now, or Qt writes it again at exit, after the folder is gone
        shutil.rmtree(settings_dir, ignore_errors=True)


if __name__ == "__main__":   # `python -m app.screenshot ...` works as `python main.py screenshot ...` does
    sys.exit(main(sys.argv[1:]))
