"""New-project wizard: image folder (or flat folder + CSV) -> classes found -> where to save and
how to split -> import in the background with a progress bar -> the import report.

Nothing is decoded before the user says "Create": the class page only lists file names
(``core.data.importer.scan_class_folders`` / ``read_label_csv``). The import itself is
``core.data.importer.import_images`` on a worker thread; cancelling it removes the new file.
"""
from __future__ import annotations

import contextlib
import os
from collections import Counter
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

import app.dialogs as pickers
from core.data.importer import ImportReport, read_label_csv, scan_class_folders
from core.progress import Progress, format_eta
from core.store.project import PROJECT_SUFFIX, resolve_project_path

UNLABELLED = "(no class)"


def _path_row(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


def _error_label() -> QLabel:
    lab = QLabel("")
    lab.setWordWrap(True)
    lab.setStyleSheet("color: #d9534f;")
    return lab


class SourcePage(QWizardPage):
    """Where the images are and how their class is given."""

    def __init__(self):
        super().__init__()
        self.setTitle("Images")
        self.setSubTitle("Pick the folder with the drone images. Each image's class (e.g. 'site' / 'no_site') "
                         "comes from its sub-folder or from a CSV file.")
        self.by_folder = QRadioButton("One sub-folder per class   (images/site/..., images/no_site/...)")
        self.by_csv = QRadioButton("Flat folder + CSV with rows 'path,class'")
        self.by_folder.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.by_folder)
        group.addButton(self.by_csv)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("image folder")
        self.folder_btn = QPushButton("Browse...")
        self.folder_btn.clicked.connect(self._browse_folder)
        self.csv_edit = QLineEdit()
        self.csv_edit.setPlaceholderText("labels.csv (paths relative to the image folder)")
        self.csv_btn = QPushButton("Browse...")
        self.csv_btn.clicked.connect(self._browse_csv)
        self.problem = _error_label()

        form = QFormLayout()
        form.addRow(self.by_folder)
        form.addRow(self.by_csv)
        form.addRow("Image folder", _path_row(self.folder_edit, self.folder_btn))
        form.addRow("Label CSV", _path_row(self.csv_edit, self.csv_btn))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        for sig in (self.folder_edit.textChanged, self.csv_edit.textChanged, self.by_csv.toggled):
            sig.connect(self._changed)
        self._changed()

    def folder(self) -> Path | None:
        t = self.folder_edit.text().strip()
        return Path(t).expanduser() if t else None

    def csv_path(self) -> Path | None:
        t = self.csv_edit.text().strip()
        return Path(t).expanduser() if t and self.by_csv.isChecked() else None

    def _browse_folder(self) -> None:
        p = pickers.pick_folder(self, "Image folder", self.folder_edit.text())
        if p is not None:
            self.folder_edit.setText(str(p))

    def _browse_csv(self) -> None:
        start = self.csv_edit.text() or self.folder_edit.text()
        p = pickers.pick_open_file(self, "Label CSV", start, "CSV files (*.csv *.txt);;All files (*)")
        if p is not None:
            self.csv_edit.setText(str(p))

    def _changed(self, *_a) -> None:
        csv_mode = self.by_csv.isChecked()
        self.csv_edit.setEnabled(csv_mode)
        self.csv_btn.setEnabled(csv_mode)
        self.problem.setText(self.problem_text())
        self.completeChanged.emit()

    def problem_text(self) -> str:
        folder = self.folder()
        if folder is None:
            return ""
        if not folder.is_dir():
            return f"{folder}: no such folder"
        if self.by_csv.isChecked():
            csv = self.csv_path()
            if csv is None:
                return ""
            if not csv.is_file():
                return f"{csv}: no such file"
        return ""

    def isComplete(self) -> bool:
        folder = self.folder()
        if folder is None or not folder.is_dir():
            return False
        return not self.by_csv.isChecked() or (self.csv_path() is not None and self.csv_path().is_file())


class ClassesPage(QWizardPage):
    """What the import will find, from file names alone (fast: nothing is decoded here)."""

    def __init__(self):
        super().__init__()
        self.setTitle("Classes found")
        self.setSubTitle("Images per class, from a quick scan of the file names. Unreadable images are found "
                         "(and reported) during the import.")
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Class", "Images"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.notes = QPlainTextEdit()
        self.notes.setReadOnly(True)
        self.notes.setMaximumHeight(120)
        self.problem = _error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.notes)
        layout.addWidget(self.problem)
        self.counts: Counter = Counter()
        self.scan_report = ImportReport()

    def initializePage(self) -> None:
        src: SourcePage = self.wizard().source_page
        report = ImportReport()
        self.problem.setText("")
        try:
            if src.csv_path() is not None:
                cands = read_label_csv(src.csv_path(), src.folder(), report)
            else:
                cands = scan_class_folders(src.folder(), report)
        except Exception as exc:
            cands = []
            self.problem.setText(str(exc))
        self.scan_report = report
        self.counts = Counter(c.class_name or UNLABELLED for c in cands)
        rows = sorted(self.counts.items(), key=lambda kv: (kv[0] == UNLABELLED, kv[0].lower()))
        self.table.setRowCount(len(rows))
        for i, (name, n) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(name))
            num = QTableWidgetItem(str(n))
            num.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(i, 1, num)
        n_classes = len([k for k in self.counts if k != UNLABELLED])
        total = sum(self.counts.values())
        text = f"{total} image file(s) in {n_classes} class(es)."
        if self.counts.get(UNLABELLED):
            text += f" {self.counts[UNLABELLED]} without a class (imported unlabelled)."
        if n_classes < 2 and total:
            text += " DiPS learns from image-level classes: two or more (e.g. with and without the object) work best."
        self.summary.setText(text)
        lines = ([f"cannot read folder {d}" for d in report.unreadable]
                 + [f"skipped {p}: {r}" for p, r in report.skipped] + [f"warning: {w}" for w in report.warnings])
        self.notes.setPlainText("\n".join(lines))
        self.notes.setVisible(bool(lines))
        if not total and not self.problem.text():
            self.problem.setText("No image files found there.")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return sum(self.counts.values()) > 0

    def class_counts(self) -> dict[str, int]:
        return dict(self.counts)


class ProjectPage(QWizardPage):
    """Where the project file goes and how images are split into train / val / test."""

    def __init__(self):
        super().__init__()
        self.setTitle("Project file and splits")
        self.setSubTitle("The project is one file (SQLite) that refers to the image folder; images are not copied.")
        self.path_edit = QLineEdit()
        self.path_btn = QPushButton("Browse...")
        self.path_btn.clicked.connect(self._browse)
        self.train = self._ratio(0.7)
        self.val = self._ratio(0.15)
        self.test = self._ratio(0.15)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed.setMaximumWidth(120)
        self.problem = _error_label()
        splits = QHBoxLayout()
        for label, spin in (("train", self.train), ("val", self.val), ("test", self.test)):
            splits.addWidget(QLabel(label))
            splits.addWidget(spin)
        splits.addStretch(1)
        form = QFormLayout(self)
        form.addRow("Project file", _path_row(self.path_edit, self.path_btn))
        form.addRow("Split", splits)
        form.addRow("Seed", self.seed)
        hint = QLabel("The split is stratified per class and stays fixed when images are added later.")
        hint.setWordWrap(True)
        form.addRow(hint)
        form.addRow(self.problem)
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Create")
        for sig in (self.path_edit.textChanged, self.train.valueChanged, self.val.valueChanged,
                    self.test.valueChanged):
            sig.connect(self._changed)

    @staticmethod
    def _ratio(v: float) -> QDoubleSpinBox:
        s = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
        s.setValue(v)
        return s

    def initializePage(self) -> None:
        if not self.path_edit.text().strip():
            folder = self.wizard().source_page.folder().resolve()
            name = pickers.dataset_name(folder)   # "images" says nothing: the data set's folder does
            candidate = folder.parent / f"{name}{PROJECT_SUFFIX}"
            n = 2
            while candidate.exists():
                candidate = folder.parent / f"{name}_{n}{PROJECT_SUFFIX}"
                n += 1
            self.path_edit.setText(str(candidate))
        self._changed()

    def project_path(self) -> Path | None:
        t = self.path_edit.text().strip()
        return resolve_project_path(t) if t else None

    def split_config(self):
        from core.data.splits import SplitConfig
        return SplitConfig(self.train.value(), self.val.value(), self.test.value(), seed=self.seed.value())

    def _browse(self) -> None:
        p = pickers.pick_save_file(self, "Save project as", self.path_edit.text(),
                                   f"DiPS Studio projects (*{PROJECT_SUFFIX})")
        if p is not None:
            self.path_edit.setText(str(p))

    def problem_text(self) -> str:
        p = self.project_path()
        if p is None:
            return "Choose where to save the project file."
        if p.exists():
            return f"{p}: a file already exists there; choose another name."
        total = self.train.value() + self.val.value() + self.test.value()
        if abs(total - 1.0) > 1e-6:
            return f"The split ratios add up to {total:.2f}; they must add up to 1."
        return ""

    def _changed(self, *_a) -> None:
        self.problem.setText(self.problem_text())
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return not self.problem_text()

    def validatePage(self) -> bool:
        """'Create': make the project file now, so a bad location is reported on this page."""
        from core.store.project import Project, ProjectError
        try:
            self.wizard().project = Project.create(self.project_path(), self.wizard().source_page.folder())
        except (ProjectError, OSError) as exc:
            self.problem.setText(str(exc))
            return False
        return True


class ImportPage(QWizardPage):
    """Runs the import on a worker thread and shows its report."""

    def __init__(self):
        super().__init__()
        self.setTitle("Importing")
        self.setSubTitle("Each image is read once (size, EXIF orientation, content hash).")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.report_view = QPlainTextEdit()
        self.report_view.setReadOnly(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(self.report_view, 1)
        self.done = False
        self.report: ImportReport | None = None

    def initializePage(self) -> None:
        self.wizard().start_import()

    def isComplete(self) -> bool:
        return self.done

    def show_progress(self, ev) -> None:
        frac = min(1.0, ev.done / ev.total) if ev.total > 0 else 0.0
        self.bar.setValue(int(round(frac * 1000)))
        self.status.setText(f"{ev.done}/{ev.total} · ETA {format_eta(ev.eta_s)} · {ev.message}")

    def show_report(self, report: ImportReport) -> None:
        self.report = report
        self.done = True
        self.setTitle("Import finished")
        self.bar.setValue(1000)
        self.status.setText(f"Added {report.added} image(s); skipped {len(report.skipped)}.")
        self.report_view.setPlainText(format_report(report))
        self.completeChanged.emit()

    def show_failure(self, message: str, details: str = "") -> None:
        self.done = True
        self.setTitle("Import failed")
        self.status.setText(f"Import failed: {message}. The project file was removed.")
        self.status.setStyleSheet("color: #d9534f;")
        self.report_view.setPlainText(details)
        self.completeChanged.emit()


def format_report(report: ImportReport) -> str:
    lines = [f"Added {report.added} image(s)."]
    if report.moved:
        lines.append(f"Moved {report.moved} image(s): their boxes and review state followed them.")
    if report.classes:
        lines.append("Classes: " + ", ".join(f"{k} ({v})" for k, v in sorted(report.classes.items())))
    if report.unreadable:
        lines.append("")
        lines += [f"Cannot read folder {d}: its images are left as they were." for d in report.unreadable]
    if report.skipped:
        lines.append("")
        lines.append(f"Skipped {len(report.skipped)} file(s):")
        lines += [f"  {p}: {r}" for p, r in report.skipped]
    if report.warnings:
        lines.append("")
        lines.append("Warnings:")
        lines += [f"  {w}" for w in report.warnings]
    return "\n".join(lines)


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
