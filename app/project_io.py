"""File menu work: open / new / recent projects, re-scanning the image folder, COCO import and export.

The dialogs for New and COCO live in ``app.dialogs`` and are imported when first used.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from core.store.project import PROJECT_SUFFIX, Project, ProjectError

RECENT_KEY = "recent_projects"
RECENT_MAX = 10


def recent_projects(settings: QSettings | None = None) -> list[str]:
    settings = settings or QSettings()
    value = settings.value(RECENT_KEY, [])
    if isinstance(value, str):  # QSettings returns a bare string for a one-item list on some back ends
        value = [value]
    return [str(v) for v in (value or [])]


def remember_project(path: Path, settings: QSettings | None = None) -> None:
    settings = settings or QSettings()
    p = str(Path(path).resolve())
    items = [p] + [x for x in recent_projects(settings) if x != p]
    settings.setValue(RECENT_KEY, items[:RECENT_MAX])


class ProjectFiles(QObject):
    """Opens projects for the window; ``opened(project)`` is emitted once one is ready."""

    opened = Signal(object)
    rescanned = Signal(object)   # core.data.importer.ImportReport

    def __init__(self, window: QWidget, session, runner, parent=None):
        super().__init__(parent)
        self.window, self.s, self.runner = window, session, runner

    def open_path(self, path: str | Path) -> bool:
        try:
            project = Project.open(path)
        except ProjectError as exc:
            QMessageBox.warning(self.window, "Cannot open project", str(exc))
            return False
        remember_project(project.path)
        self.opened.emit(project)
        return True

    def ask_open(self) -> None:
        import app.dialogs as pickers

        start = str(Path(self.s.project.path).parent) if self.s.project is not None else ""
        path = pickers.pick_open_file(self.window, "Open project", start,
                                      f"DiPS Studio projects (*{PROJECT_SUFFIX});;All files (*)")
        if path is not None:
            self.open_path(path)

    def new_project(self) -> None:
        from app.dialogs.new_project import run_new_project_dialog
        path = run_new_project_dialog(self.window, self.runner)
        if path:
            self.open_path(path)

    def import_coco(self) -> None:
        if self.s.project is None:
            return
        from app.dialogs.coco_dialogs import run_import_coco_dialog
        if run_import_coco_dialog(self.window, self.s.project):
            self._reload_everything()

    def _reload_everything(self) -> None:
        """After an import: classes, images and boxes may all have changed."""
        self.s.reload_classes()
        self.s.project_changed.emit(self.s.project)
        self.s.set_image(self.s.image_id)

    def rescan_folder(self, background) -> None:
        """Import what is new in the image folder on a worker thread, then refresh the views; new images
        get attention maps and proposals in the background as on first open."""
        project = self.s.project
        if project is None:
            return

        def job(progress):
            from core.data.importer import import_images
            return import_images(project, progress=progress)

        def done(report) -> None:
            if self.s.project is not project:
                return
            first = report.summary().splitlines()[0]
            self.s.message.emit(f"Re-scanned {project.image_root}: {first}")
            if report.added or report.updated or report.missing or report.restored:
                self._reload_everything()
                background.auto_start()
            self.rescanned.emit(report)
        background.run(job, "Re-scan image folder", on_done=done)

    def export_coco(self) -> None:
        if self.s.project is None:
            return
        from app.dialogs.coco_dialogs import run_export_coco_dialog
        out = run_export_coco_dialog(self.window, self.s.project)
        if out:
            self.s.message.emit(f"Exported COCO to {out}")

    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        items = [p for p in recent_projects() if Path(p).exists()]
        if not items:
            menu.addAction("(none)").setEnabled(False)
            return
        for p in items:
            act = menu.addAction(Path(p).name)
            act.setToolTip(p)
            act.setStatusTip(p)
            act.triggered.connect(lambda _=False, path=p: self.open_path(path))
        menu.addSeparator()
        menu.addAction("Clear list").triggered.connect(lambda: QSettings().remove(RECENT_KEY))
