"""COCO import (as ground truth or as curated boxes) and export (which boxes) dialogs.

Both only collect choices and show reports; the work is ``core.data.coco.import_coco`` /
``export_coco``. A bad file is reported in the dialog, never as a crash.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

import app.dialogs as pickers
from app.probe import ask_in_background
from core.data.coco import BOX_KINDS, export_counts
from core.result_checks import plural

JSON_FILTER = "COCO JSON (*.json);;All files (*)"
KIND_LABELS = {"curated": "Curated boxes (what inspectors kept: manual, accepted, edited, imported)",
               "accepted": "Accepted predictions (curated boxes that began as a predicted box)",
               "predictions": "Predicted boxes of the latest prediction run",
               "proposals": "Proposals (every ranked proposal, any review status)",
               "all": "All of the above, each tagged with its kind"}


def _file_row(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


class CocoImportDialog(QDialog):
    """Pick a COCO file and what its boxes are; Import shows the report (unknown images/classes)."""

    def __init__(self, project, parent: QWidget | None = None, as_: str = "gt"):
        super().__init__(parent)
        self.project = project
        self.report = None
        self.setWindowTitle("Import COCO boxes")
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("annotations.json")
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        self.as_gt = QRadioButton("Ground truth: kept apart, used only to evaluate")
        self.as_curated = QRadioButton("Curated boxes: shown on the canvas to review and edit")
        group = QButtonGroup(self)
        group.addButton(self.as_gt)
        group.addButton(self.as_curated)
        (self.as_gt if as_ == "gt" else self.as_curated).setChecked(True)
        hint = QLabel("Images are matched by their path relative to the image folder, as other tools write it "
                      "(Windows separators, absolute paths, the folder's own name in front, or a unique file "
                      "name); classes by name. Importing the same file twice adds nothing twice.")
        hint.setWordWrap(True)
        self.report_view = QPlainTextEdit()
        self.report_view.setReadOnly(True)
        self.report_view.setPlaceholderText("The import report appears here.")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.import_btn = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.ApplyRole)
        self.import_btn.setDefault(True)
        self.import_btn.clicked.connect(self.do_import)
        self.buttons.rejected.connect(self.reject)
        self.file_edit.textChanged.connect(self._file_changed)
        self.import_btn.setEnabled(False)

        form = QFormLayout()
        form.addRow("COCO file", _file_row(self.file_edit, browse))
        form.addRow("Boxes are", self.as_gt)
        form.addRow("", self.as_curated)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.report_view, 1)
        layout.addWidget(self.buttons)
        self.resize(560, 420)

    def _file_changed(self, text: str) -> None:
        self.import_btn.setEnabled(bool(text.strip()))

    def as_kind(self) -> str:
        return "gt" if self.as_gt.isChecked() else "curated"

    def _browse(self) -> None:
        start = self.file_edit.text() or str(self.project.path.parent)
        p = pickers.pick_open_file(self, "COCO file", start, JSON_FILTER)
        if p is not None:
            self.file_edit.setText(str(p))

    def do_import(self) -> bool:
        """Import now; True when boxes were added. The report (or the reason) is shown."""
        from core.data.coco import import_coco
        path = Path(self.file_edit.text().strip()).expanduser()
        try:
            report = import_coco(self.project, path, as_=self.as_kind())
        except Exception as exc:
            self.report_view.setPlainText(f"Cannot import: {exc}")
            return False
        self.report = report
        self.report_view.setPlainText(format_import_report(path, report, self.as_kind()))
        return report.added > 0

    def imported(self) -> bool:
        return self.report is not None and self.report.added > 0


def format_import_report(path: Path, report, as_: str) -> str:
    """The CLI's report under a heading: one count per outcome, then the lines naming each skipped entry."""
    what = "ground-truth" if as_ == "gt" else "curated"
    lines = [f"{path.name}: {plural(report.added, what + ' box', what + ' boxes')} added.", ""]
    lines += [f"  {reason:<17} {n}" for reason, n in report.counts().items()]
    details = report.summary().splitlines()[1:]
    if details:
        lines += ["", *details]
    return "\n".join(lines)


def run_import_coco_dialog(parent: QWidget | None, project, as_: str = "gt") -> bool:
    """Modal; True when boxes were added (the caller refreshes its views)."""
    dlg = CocoImportDialog(project, parent, as_=as_)
    dlg.exec()
    return dlg.imported()


class CocoExportDialog(QDialog):
    """Pick which boxes and where; Export writes the file and shows what it contains."""

    def __init__(self, project, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.written: Path | None = None
        self.report = None
        self.setWindowTitle("Export COCO")
        self.kind_buttons: dict[str, QRadioButton] = {}
        group = QButtonGroup(self)
        kinds = QVBoxLayout()
        for kind in BOX_KINDS:
            b = QRadioButton(KIND_LABELS[kind])
            group.addButton(b)
            kinds.addWidget(b)
            b.toggled.connect(self._kind_changed)
            self.kind_buttons[kind] = b
        # the counts follow the image choices below; counted off the GUI thread (a large project takes a moment)
        self.counts_note = QLabel("[counts]: what the export writes with the image choices below",
                                  objectName="export_counts_note")
        self.counts_note.setStyleSheet("color: gray")
        kinds.addWidget(self.counts_note)
        self.counts: dict[str, str] | None = None   # kind -> the count shown; None while counting
        self._count_round = 0
        self.file_edit = QLineEdit()
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        self.result_view = QPlainTextEdit()
        self.result_view.setReadOnly(True)
        self.result_view.setMaximumHeight(140)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_btn = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.ApplyRole)
        self.export_btn.setDefault(True)
        self.export_btn.clicked.connect(self.do_export)
        self.buttons.rejected.connect(self.reject)
        self.file_edit.textChanged.connect(self._file_changed)

        self.reviewed_only = QCheckBox("Only images marked reviewed", objectName="export_reviewed_only")
        self.split = QComboBox(objectName="export_split")
        for s in ("all", "train", "val", "test"):
            self.split.addItem("every split" if s == "all" else f"{s} only", s)
        self.background = QCheckBox("Background classes as categories", objectName="export_background")
        self.background.setChecked(True)
        self.background_names = self._background_names()
        self.background.setToolTip(
            "Background classes (their images show no object): "
            + (", ".join(self.background_names) if self.background_names else "none in this project")
            + ". Unticked, they are no COCO category; their images are still listed.")
        self.background.setEnabled(bool(self.background_names))
        images = QVBoxLayout()
        images.addWidget(self.reviewed_only)
        images.addWidget(self.split)
        images.addWidget(self.background)

        form = QFormLayout()
        form.addRow("Boxes", kinds)
        form.addRow("Images", images)
        form.addRow("File", _file_row(self.file_edit, browse))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        note = QLabel("Every image chosen is listed (also those without boxes); category ids are the project's "
                      "class ids; file_name is relative to the image folder; coordinates to 0.01 px.")
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.result_view, 1)
        layout.addWidget(self.buttons)
        self.kind_buttons["curated"].setChecked(True)
        self.reviewed_only.toggled.connect(self.recount)
        self.split.currentIndexChanged.connect(self.recount)
        self.background.toggled.connect(self.recount)
        self.recount()
        self.resize(600, 380)

    def _background_names(self) -> list[str]:
        try:
            from core.settings import load_settings
            cfg = load_settings(self.project, fallback=True)
            return [c.name for c in self.project.classes() if cfg.is_background(c.name)]
        except Exception:
            return []

    def options(self) -> dict:
        """The image choices, as ``export_coco`` keywords."""
        split = self.split.currentData()
        return {"reviewed_only": self.reviewed_only.isChecked(), "split": None if split == "all" else split,
                "leave_out_classes": () if self.background.isChecked() else tuple(self.background_names)}

    def recount(self, *_) -> None:
        """Count what the export would write with the current image choices, on a worker thread; the choices'
        labels say "counting" until the answer comes (an answer to older choices is dropped)."""
        self._count_round += 1
        self.counts = None
        self._label_counts({k: "counting\u2026" for k in BOX_KINDS})
        project, options, round_ = self.project, self.options(), self._count_round
        ask_in_background(lambda: (round_, export_counts(project, **options)), self._counted, (round_, None),
                          "export-counts")

    def _counted(self, answer) -> None:
        round_, c = answer
        if round_ != self._count_round:
            return   # the choices changed since: a newer count is on its way
        if c is None:   # the count failed: the choices without figures (the export itself says what it wrote)
            self.counts = {}
        else:
            self.counts = {"curated": f"{c.curated:,}", "accepted": f"{c.accepted:,}",
                           "predictions": f"{plural(c.predictions, 'box', 'boxes')} on "
                                          f"{plural(c.predicted_images, 'image')}",
                           "proposals": f"{c.proposals:,}", "all": f"{c.curated + c.predictions + c.proposals:,}"}
        self._label_counts(self.counts)

    def _label_counts(self, counts: dict[str, str]) -> None:
        for kind, b in self.kind_buttons.items():
            b.setText(KIND_LABELS[kind] + (f"  [{counts[kind]}]" if kind in counts else ""))

    def _file_changed(self, text: str) -> None:
        self.export_btn.setEnabled(bool(text.strip()))

    def kind(self) -> str:
        return next(k for k, b in self.kind_buttons.items() if b.isChecked())

    def set_kind(self, kind: str) -> None:
        self.kind_buttons[kind].setChecked(True)

    def _default_path(self, kind: str) -> Path:
        p = self.project.path
        return p.with_name(f"{p.stem}_{kind}.json")

    def _kind_changed(self, checked: bool) -> None:
        if not checked:
            return
        text = self.file_edit.text().strip()
        # follow the choice while the name is still one we suggested
        if not text or any(text == str(self._default_path(k)) for k in BOX_KINDS):
            self.file_edit.setText(str(self._default_path(self.kind())))

    def _browse(self) -> None:
        p = pickers.pick_save_file(self, "Export COCO as", self.file_edit.text(), JSON_FILTER)
        if p is not None:
            self.file_edit.setText(str(p if p.suffix else p.with_suffix(".json")))

    def do_export(self) -> Path | None:
        from core.data.coco import export_coco
        out = Path(self.file_edit.text().strip()).expanduser()
        kind = self.kind()
        try:
            report = export_coco(self.project, out, boxes=kind, **self.options())
        except Exception as exc:
            self.result_view.setPlainText(f"Cannot export: {exc}")
            return None
        self.report, self.written = report, out
        lines = [f"Wrote {out}",
                 f"{plural(report.images, 'image')}, {plural(report.annotations, kind + ' annotation')}."]
        if report.skipped:
            lines.append(f"Left out {plural(len(report.skipped), 'box', 'boxes')}:")
            lines += [f"  {s}" for s in report.skipped[:50]]
        self.result_view.setPlainText("\n".join(lines))
        return out


def run_export_coco_dialog(parent: QWidget | None, project) -> Path | None:
    """Modal; the written file, or None when nothing was exported."""
    dlg = CocoExportDialog(project, parent)
    dlg.exec()
    return dlg.written
