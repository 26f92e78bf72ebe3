"""The wizard's first page: where the images are and how their class is given."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

import app.dialogs as pickers
from app.dialogs.new_project.common import error_label, path_row


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
        self.problem = error_label()

        form = QFormLayout()
        form.addRow(self.by_folder)
        form.addRow(self.by_csv)
        form.addRow("Image folder", path_row(self.folder_edit, self.folder_btn))
        form.addRow("Label CSV", path_row(self.csv_edit, self.csv_btn))
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
