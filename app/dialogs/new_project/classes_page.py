"""The wizard's class page: images per class from the file names, and which classes show no object."""
from __future__ import annotations

from collections import Counter

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWizardPage

from app.dialogs.class_roles_table import ClassRolesTable
from app.dialogs.new_project.common import UNLABELLED, error_label
from core.class_roles import by_name_rule
from core.data.importer import ImportReport, read_label_csv, scan_class_folders
from core.result_checks import plural


class ClassesPage(QWizardPage):
    """What the import will find, from file names alone (fast: nothing is decoded here), and a tick for each
    class whose images show no object (pre-filled by the name rule)."""

    def __init__(self):
        super().__init__()
        self.setTitle("Classes found")
        self.setSubTitle("Images per class, from a quick scan of the file names. Tick the classes whose images show "
                         "no object (e.g. 'field' beside 'tower'): no proposals are computed for them and training "
                         "learns them as background. You can change it later (File > Background classes).")
        self.table = ClassRolesTable()
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.notes = QPlainTextEdit()
        self.notes.setReadOnly(True)
        self.notes.setMaximumHeight(120)
        self.problem = error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.notes)
        layout.addWidget(self.problem)
        self.counts: Counter = Counter()
        self.scan_report = ImportReport()
        self.table.changed.connect(self._show_summary)

    def initializePage(self) -> None:
        src = self.wizard().source_page
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
        names = self.class_names()
        self.table.show_classes(rows, set(by_name_rule(names)), tickable=set(names))
        self._show_summary()
        lines = ([f"cannot read folder {d}" for d in report.unreadable]
                 + [f"skipped {p}: {r}" for p, r in report.skipped] + [f"warning: {w}" for w in report.warnings])
        self.notes.setPlainText("\n".join(lines))
        self.notes.setVisible(bool(lines))
        if not sum(self.counts.values()) and not self.problem.text():
            self.problem.setText("No image files found there.")
        self.completeChanged.emit()

    def _show_summary(self) -> None:
        names, total = self.class_names(), sum(self.counts.values())
        text = f"{plural(total, 'image file')} in {plural(len(names), 'class', 'classes')}."
        if self.counts.get(UNLABELLED):
            text += f" {self.counts[UNLABELLED]} without a class (imported unlabelled)."
        if len(names) < 2 and total:
            text += " DiPS learns from image-level classes: two or more (e.g. with and without the object) work best."
        bg = self.background_classes()
        if names and len(bg) == len(names):
            text += " Every class is ticked as showing no object: there would be nothing to learn to find."
        elif bg:
            text += f" No object in: {', '.join(bg)}."
        self.summary.setText(text)

    def isComplete(self) -> bool:
        return sum(self.counts.values()) > 0

    def class_counts(self) -> dict[str, int]:
        return dict(self.counts)

    def class_names(self) -> list[str]:
        return sorted((k for k in self.counts if k != UNLABELLED), key=str.lower)

    def background_classes(self) -> list[str]:
        """The classes ticked as showing no object."""
        return self.table.ticked()
