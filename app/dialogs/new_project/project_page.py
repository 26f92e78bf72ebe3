"""The wizard's commit page: where the project file goes and how images are split; 'Create' makes the file
and saves the classes the user marked as showing no object."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWizard,
    QWizardPage,
)

import app.dialogs as pickers
from app.dialogs.new_project.common import error_label, path_row
from core.store.project import PROJECT_SUFFIX, resolve_project_path


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
        self.problem = error_label()
        splits = QHBoxLayout()
        for label, spin in (("train", self.train), ("val", self.val), ("test", self.test)):
            splits.addWidget(QLabel(label))
            splits.addWidget(spin)
        splits.addStretch(1)
        form = QFormLayout(self)
        form.addRow("Project file", path_row(self.path_edit, self.path_btn))
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
        """'Create': make the project file now, so a bad location is reported on this page, and save the classes
        ticked as showing no object with it (by name when the ticks are what the name rule gives)."""
        from core.class_roles import setting_for
        from core.settings import Settings, save_settings
        from core.store.project import Project, ProjectError
        wizard = self.wizard()
        try:
            project = Project.create(self.project_path(), wizard.source_page.folder())
        except (ProjectError, OSError) as exc:
            self.problem.setText(str(exc))
            return False
        wizard.project = project
        page = wizard.classes_page
        background = setting_for(page.class_names(), page.background_classes())
        if background is not None:
            save_settings(project, Settings(background_classes=background))
        return True
