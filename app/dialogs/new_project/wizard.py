"""The new-project wizard itself: its four pages, the import on a worker thread, and what Cancel leaves."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from PySide6.QtWidgets import QWidget, QWizard

from app.dialogs.new_project.classes_page import ClassesPage
from app.dialogs.new_project.import_page import ImportPage, format_report
from app.dialogs.new_project.project_page import ProjectPage
from app.dialogs.new_project.source_page import SourcePage
from core.progress import Progress


class NewProjectWizard(QWizard):
    """Fill the pages (or let the user do it); ``project_path`` is set once the import succeeded."""

    def __init__(self, parent: QWidget | None = None, runner=None):
        super().__init__(parent)
        self.setWindowTitle("New project")
        self.runner = runner
        self.project = None          # the Project being created (open during the import)
        self.project_path: Path | None = None
        self.task = None
        self._rejected = False
        self.source_page = SourcePage()
        self.classes_page = ClassesPage()
        self.project_page = ProjectPage()
        self.import_page = ImportPage()
        for page in (self.source_page, self.classes_page, self.project_page, self.import_page):
            self.addPage(page)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, False)
        self.resize(640, 520)

    # -- import ----------------------------------------------------------------------------
    def start_import(self) -> None:
        from core.data.importer import import_images
        project, csv, splits = self.project, self.source_page.csv_path(), self.project_page.split_config()

        def job(progress):
            return import_images(project, csv_path=csv, splits=splits, progress=progress)

        if self.runner is None:
            try:
                report = job(Progress())
            except Exception as exc:
                self._import_failed(str(exc), "")
            else:
                self._import_done(report)
            return
        self.task = self.runner.run_in_thread(job, "Import images")
        self.task.progress.connect(self.import_page.show_progress)
        self.task.finished.connect(self._import_done)
        self.task.failed.connect(self._import_failed)
        self.task.cancelled.connect(self._discard_project)

    def _import_done(self, report) -> None:
        self.task = None
        path = self.project.path
        self.project.close()
        self.project = None
        if self._rejected:             # finished just as the user cancelled: still no project
            self._discard_project(path)
            return
        if report.added == 0 and report.unchanged == 0:
            self._discard_project(path)
            self.import_page.show_failure("no usable images were found", format_report(report))
            return
        self.project_path = path
        self.import_page.show_report(report)

    def _import_failed(self, message: str, details: str) -> None:
        self.task = None
        self._discard_project()
        self.import_page.show_failure(message, details)

    def _discard_project(self, path: Path | None = None) -> None:
        """Remove the file this wizard created (cancelled or failed import)."""
        if self.project is not None:
            path = self.project.path
            self.project.close()
            self.project = None
        if path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{path}{suffix}")
        self.project_path = None

    def reject(self) -> None:
        self._rejected = True
        if self.task is not None:      # cancel the import; the file goes once the worker stopped
            self.task.cancel()
        elif self.project is not None:
            self._discard_project()
        super().reject()


def run_new_project_dialog(parent: QWidget | None, runner) -> Path | None:
    """Modal wizard; the new project's path, or None when cancelled or nothing was imported.

    Cancel after the import has finished still returns the path: the project is on disk and whole, and
    leaving it unopened would look like nothing happened."""
    wiz = NewProjectWizard(parent, runner)
    wiz.exec()
    return wiz.project_path
