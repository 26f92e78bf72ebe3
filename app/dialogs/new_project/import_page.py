"""The wizard's last page: the import's progress, then its report (or why it failed)."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QProgressBar, QPushButton, QVBoxLayout, QWizardPage

from app.failure_words import plain_message
from core.data.importer import ImportReport
from core.progress import format_eta
from core.result_checks import plural


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
        self.details_btn = QPushButton("Show details...", objectName="import_details")
        self.details_btn.setVisible(False)
        self.details_btn.clicked.connect(lambda: (self.report_view.show(), self.details_btn.hide()))
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(self.details_btn)
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
        self.status.setText(f"Added {plural(report.added, 'image')}; skipped {len(report.skipped)}.")
        self.report_view.setPlainText(format_report(report))
        self.completeChanged.emit()

    def show_failure(self, message: str, details: str = "") -> None:
        """One line in the window's words; a traceback only behind 'Show details'."""
        self.done = True
        self.setTitle("Import failed")
        self.status.setText(f"Import failed: {plain_message(message, details)}. The project file was removed.")
        self.status.setStyleSheet("color: #d9534f;")
        self.report_view.setPlainText(details)
        trace = "Traceback (most recent call last)" in details
        self.report_view.setVisible(not trace)
        self.details_btn.setVisible(trace)
        self.completeChanged.emit()


def format_report(report: ImportReport) -> str:
    lines = [f"Added {plural(report.added, 'image')}."]
    if report.moved:
        lines.append(f"Moved {plural(report.moved, 'image')}: their boxes and review state followed them.")
    if report.classes:
        lines.append("Classes: " + ", ".join(f"{k} ({v})" for k, v in sorted(report.classes.items())))
    if report.unreadable:
        lines.append("")
        lines += [f"Cannot read folder {d}: its images are left as they were." for d in report.unreadable]
    if report.skipped:
        lines.append("")
        lines.append(f"Skipped {plural(len(report.skipped), 'file')}:")
        lines += [f"  {p}: {r}" for p, r in report.skipped]
    if report.warnings:
        lines.append("")
        lines.append("Warnings:")
        lines += [f"  {w}" for w in report.warnings]
    return "\n".join(lines)
