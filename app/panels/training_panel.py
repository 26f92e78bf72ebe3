"""Training panel: DiPS settings, Start/Cancel, progress with ETA, live loss curves, past runs.

Training runs in a subprocess (``python main.py train PROJECT --events json ...``) through the
task runner, so a crash or an out-of-memory in training never takes the window down and Cancel
kills the whole process tree. When training is done the panel runs prediction with the new
model and emits ``run_finished(training_run_id)``.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRegularExpression, Qt, QTimer, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSpinBox, QSplitter, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from app.dialogs import error_dialog
from app.panels.float_edit import FloatEdit
from app.panels.loss_plot import LossPlot
from app.panels.run_summary import duration, finite, run_summary, when
from app.panels.training_options import (LOCALIZERS, TrainingOptions, light_widths, options_from_config,
                                         saved_train_config)
from app.probe import ask_in_background
from core.dips.decoder_widths import parse_widths
from core.progress import ProgressEvent, format_eta


def _event(ev) -> ProgressEvent:
    """Tasks send ProgressEvents; accept the JSON dict form too."""
    if isinstance(ev, ProgressEvent):
        return ev
    d = dict(ev or {})
    return ProgressEvent(str(d.get("stage", "")), int(d.get("done", 0) or 0), int(d.get("total", 0) or 0),
                         str(d.get("message", "") or ""), d.get("eta_s"), dict(d.get("extra") or {}))


def _torch_facts() -> tuple[list, object]:
    """Devices and the calibrated CRF weight: both need torch (see app.probe)."""
    from core.dips.device import available_devices  # noqa: PLC0415
    from core.dips.losses import LossConfig  # noqa: PLC0415
    return available_devices(), LossConfig().lambda_crf


class TrainingPanel(QWidget):
    """Settings + Start/Cancel + progress + curves + past runs for one project."""

    run_finished = Signal(int)    # training run id, once its predictions are stored

    def __init__(self, project, runner, parent=None):
        super().__init__(parent)
        self.project = project
        self.runner = runner
        self._task = None
        self._phase = "idle"          # idle | training | predicting
        self._run_id: int | None = None
        self._runs_before: set[int] = set()
        self._epochs = 1
        self._n_up = 2                # upsampling blocks of the token decoder: one width each
        self._build()
        self._redraw_timer = QTimer(self, singleShot=True, interval=100)
        self._redraw_timer.timeout.connect(self.plot.redraw)
        self._wanted_device = "auto"
        self.set_project(project)
        ask_in_background(_torch_facts, self._devices_found, (["auto", "cpu"], None), "training-panel-probe")

    def _devices_found(self, facts: tuple) -> None:
        """GPU names and the calibrated CRF weight, from a thread (importing torch takes seconds)."""
        devices, lambda_crf_default = facts
        for name in devices:
            if self.device.findText(name) < 0:
                self.device.addItem(name)
        i = self.device.findText(self._wanted_device)
        if i >= 0:
            self.device.setCurrentIndex(i)
        if lambda_crf_default is not None:
            self.lambda_crf.setPlaceholderText(f"{lambda_crf_default:g}")

    # -- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu"])   # GPUs are added once torch is loaded (see app.probe)
        self.device.setToolTip("auto: CUDA, then Apple MPS, then CPU")
        self.epochs = QSpinBox(minimum=1, maximum=1000)
        self.lr = FloatEdit("learning rate of SGD, e.g. 0.01 or 1e-3")
        self.k = QSpinBox(minimum=1, maximum=50)
        self.k.setToolTip("K: a training box is drawn uniformly from each image's top-K proposals")
        self.n_pos = QSpinBox(minimum=0, maximum=1_000_000)
        self.n_pos.setToolTip("n+: foreground pixels sampled per image and step inside the drawn box")
        self.n_neg = QSpinBox(minimum=0, maximum=1_000_000)
        self.n_neg.setToolTip("n-: background pixels sampled per image and step outside all boxes")
        self.lambda_seed = FloatEdit("λ1: weight of the partial cross-entropy on the sampled pixels")
        self.lambda_crf = FloatEdit("λ2: weight of the CRF loss; empty = the calibrated default",
                                     optional=True, default_text="default")
        self.crf = QCheckBox("CRF λ")
        self.crf.setToolTip("CRF loss on/off, and its weight λ2 (empty = calibrated default)")
        self.crf.toggled.connect(self._crf_toggled)
        self.lambda_cls = FloatEdit("λ_cls: weight of the workshop's classifier term L_CLS (U-Net only): "
                                     "cross-entropy of a frozen classifier on the image times the foreground map")
        self.lambda_cls_label = QLabel("cls λ")
        self.localizer = QComboBox()
        for key, label in LOCALIZERS:
            self.localizer.addItem(label, key)
        self.localizer.setToolTip("f_l. Light: tokens projected to 32 channels first, ~12x cheaper per step on a "
                                  "CPU and as accurate on the demo data. Journal widths: the paper's decoder. "
                                  "U-Net: the workshop paper's localizer on RGB")

        self.widths = QLineEdit()
        self.widths.setValidator(QRegularExpressionValidator(QRegularExpression(r"[0-9, ]*"), self.widths))
        self.widths.setToolTip("Channel widths of the token decoder's upsampling blocks, one per block "
                               "(e.g. 24, 12); empty = the localizer's own")
        self.widths.setMaximumWidth(110)
        self.widths_label = QLabel("widths")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Device", self.device)
        row = QHBoxLayout()
        row.addWidget(self.localizer, 1)
        row.addWidget(self.widths_label)
        row.addWidget(self.widths)
        form.addRow("Localizer", row)
        row = QHBoxLayout()
        row.addWidget(self.epochs)
        row.addWidget(QLabel("LR"))
        row.addWidget(self.lr)
        form.addRow("Epochs", row)
        row = QHBoxLayout()
        row.addWidget(self.k)
        row.addWidget(QLabel("n+"))
        row.addWidget(self.n_pos)
        row.addWidget(QLabel("n-"))
        row.addWidget(self.n_neg)
        form.addRow("Top-K", row)
        row = QHBoxLayout()
        row.addWidget(QLabel("seed λ"))
        row.addWidget(self.lambda_seed)
        row.addWidget(self.crf)
        row.addWidget(self.lambda_crf)
        row.addWidget(self.lambda_cls_label)
        row.addWidget(self.lambda_cls)
        form.addRow("Loss", row)
        self.localizer.currentIndexChanged.connect(lambda _: self._show_localizer_fields())
        self.settings_box = QGroupBox("Settings")
        self.settings_box.setLayout(form)

        self.start_btn = QPushButton("Start training")
        self.start_btn.setToolTip("Train the localizer on the current proposals, then predict every image")
        self.start_btn.clicked.connect(self.start)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_btn, 1)
        buttons.addWidget(self.cancel_btn)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.status = QLabel("Idle")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.plot = LossPlot()
        self.plot.setMinimumHeight(160)

        self.runs = QTreeWidget()
        self.runs.setHeaderLabels(["#", "Status", "Started", "Time", "Result"])
        self.runs.setRootIsDecorated(False)
        self.runs.setAlternatingRowColors(True)
        self.runs.setSortingEnabled(False)
        hdr = self.runs.header()
        for i in range(4):
            hdr.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setStretchLastSection(True)
        self.runs.currentItemChanged.connect(self._show_selected_run)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.settings_box)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.progress)
        top_layout.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.plot)
        runs_box = QGroupBox("Past runs")
        QVBoxLayout(runs_box).addWidget(self.runs)
        split.addWidget(runs_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(top)
        layout.addWidget(split, 1)

    # -- project --------------------------------------------------------------------------
    def set_project(self, project) -> None:
        """Show another project; training or prediction still running for the old one is cancelled."""
        if self._task is not None:
            task, self._task = self._task, None   # its last signals are ignored (not the current task)
            task.cancel()
        self.project = project
        self._n_up = saved_train_config(project).decoder_n_up if project is not None else 2
        self.set_options(options_from_config(project) if project is not None else TrainingOptions())
        self.refresh_runs()
        self._set_phase("idle")

    def options(self) -> TrainingOptions:
        return TrainingOptions(
            device=self.device.currentText(), epochs=self.epochs.value(), lr=self.lr.value(),
            K=self.k.value(), n_pos=self.n_pos.value(), n_neg=self.n_neg.value(),
            lambda_seed=self.lambda_seed.value(), lambda_crf=self.lambda_crf.value(),
            crf=self.crf.isChecked(), localizer=self.localizer.currentData(),
            lambda_cls=self.lambda_cls.value(), decoder_widths=self._widths_or_none())

    def _widths_or_none(self) -> tuple[int, ...] | None:
        try:
            widths = parse_widths(self.widths.text())
        except ValueError:
            return None   # start() refuses the text before it is ever used
        return tuple(widths) if widths else None

    def set_options(self, o: TrainingOptions) -> None:
        self._wanted_device = o.device
        i = self.device.findText(o.device)
        self.device.setCurrentIndex(i if i >= 0 else 0)
        self.epochs.setValue(o.epochs)
        self.lr.set_value(o.lr)
        self.k.setValue(o.K)
        self.n_pos.setValue(o.n_pos)
        self.n_neg.setValue(o.n_neg)
        self.lambda_seed.set_value(o.lambda_seed)
        self.lambda_crf.set_value(o.lambda_crf)
        self.crf.setChecked(o.crf)
        self.lambda_cls.set_value(o.lambda_cls)
        self.widths.setText(", ".join(str(w) for w in o.decoder_widths) if o.decoder_widths else "")
        i = self.localizer.findData(o.localizer)
        self.localizer.setCurrentIndex(i if i >= 0 else 0)
        self._show_localizer_fields()

    def _show_localizer_fields(self) -> None:
        # L_CLS belongs to the workshop's U-Net; decoder widths to the token decoder
        unet = self.localizer.currentData() == "unet"
        self.lambda_cls.setVisible(unet)
        self.lambda_cls_label.setVisible(unet)
        self.widths.setVisible(not unet)
        self.widths_label.setVisible(not unet)
        light = self.localizer.currentData() == "token"
        self.widths.setPlaceholderText(light_widths(self._n_up) if light else "C/2, C/4")

    def _crf_toggled(self, on: bool) -> None:
        self.lambda_crf.setEnabled(on and self._phase == "idle")

    def _widths_problem(self) -> str:
        if self.localizer.currentData() == "unet":
            return ""
        try:
            widths = parse_widths(self.widths.text())
        except ValueError:
            return f"Decoder widths: '{self.widths.text()}' are not whole numbers of at least 1"
        if widths is not None and len(widths) != self._n_up:
            return f"Decoder widths: give {self._n_up} numbers, one per upsampling block"
        return ""

    # -- state ------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._phase != "idle"

    def _set_phase(self, phase: str) -> None:
        self._phase = phase
        idle = phase == "idle"
        self.settings_box.setEnabled(idle)
        self.lambda_crf.setEnabled(idle and self.crf.isChecked())
        self.start_btn.setEnabled(idle and self.project is not None)
        self.cancel_btn.setEnabled(not idle)
        if idle:
            self._task = None

    # -- actions -----------------------------------------------------------------------------
    def start(self) -> None:
        if self.busy or self.project is None:
            return
        opts = self.options()
        bad = [name for name, edit in (("learning rate", self.lr), ("λ seed", self.lambda_seed),
                                       ("λ CRF", self.lambda_crf), ("λ cls", self.lambda_cls)) if not edit.is_valid()]
        if bad:
            self.status.setText("Not a number: " + ", ".join(bad))
            return
        problem = self._widths_problem()
        if problem:
            self.status.setText(problem)
            return
        self._epochs = opts.epochs
        self._run_id = None
        self._runs_before = {r.id for r in self.project.runs.list()}
        self.plot.clear_data()
        self.runs.setCurrentItem(None)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.status.setText("Starting training...")
        self._set_phase("training")
        task = self.runner.run_subprocess(opts.to_argv(self.project.path), "Training")
        self._attach(task, self._training_done)

    def cancel(self) -> None:
        if self._task is not None:
            self.status.setText("Cancelling...")
            self.cancel_btn.setEnabled(False)
            self._task.cancel()

    def _attach(self, task, on_done) -> None:
        self._task = task
        task.progress.connect(self._on_progress)
        task.finished.connect(on_done)
        task.failed.connect(self._on_failed)
        task.cancelled.connect(self._on_cancelled)

    def _is_current(self) -> bool:
        return self._task is not None and self.sender() is self._task

    # -- task signals ---------------------------------------------------------------------------
    def _on_progress(self, raw) -> None:
        if not self._is_current():
            return
        ev = _event(raw)
        frac = min(1.0, ev.done / ev.total) if ev.total > 0 else 0.0
        self.progress.setValue(int(round(frac * 1000)))
        ex = ev.extra or {}
        parts = [ev.stage or self._phase]
        if ex.get("epoch") is not None:
            parts.append(f"epoch {ex['epoch']}/{self._epochs}")
        elif ev.total:
            parts.append(f"{ev.done}/{ev.total}")
        if finite(ex.get("loss")) is not None:
            parts.append(f"loss {float(ex['loss']):.4f}")
        if finite(ex.get("val_acc")) is not None:
            acc = float(ex["val_acc"])
            parts.append(f"val acc {acc * 100 if acc <= 1 else acc:.1f}%")
        self.progress.setFormat(f"%p%  ETA {format_eta(ev.eta_s)}")
        self.status.setText(" · ".join(parts) + (f"\n{ev.message}" if ev.message else ""))
        if self._phase == "training" and ("loss" in ex or "val_acc" in ex):
            x = self._x_of(ev)
            for key in ("loss", "loss_seed", "loss_crf"):
                if key in ex:
                    self.plot.add_point(key, x, ex[key])
            if ex.get("val_acc") is not None:
                epoch = finite(ex.get("epoch"))
                self.plot.add_point("val_acc", epoch if epoch is not None else x, ex["val_acc"])
            if not self._redraw_timer.isActive():
                self._redraw_timer.start()

    def _x_of(self, ev: ProgressEvent) -> float:
        """Training progress in epochs: done/total of the whole run scaled to the epoch count."""
        if ev.total > 0:
            return ev.done / ev.total * self._epochs
        return float(finite(ev.extra.get("epoch")) or 0.0)

    def _training_done(self, result) -> None:
        if not self._is_current():
            return
        self.plot.redraw()
        try:
            self._run_id = int(result)
        except (TypeError, ValueError):
            self._on_failed("Training ended without a run id", f"result: {result!r}")
            return
        self.refresh_runs()
        self.progress.setValue(0)
        self.status.setText(f"Run #{self._run_id} trained; predicting every image...")
        self._set_phase("predicting")
        task = self.runner.run_subprocess(["predict", str(self.project.path), "--run", str(self._run_id),
                                           "--events", "json"], "Prediction")
        self._attach(task, self._prediction_done)

    def _prediction_done(self, _result) -> None:
        if not self._is_current():
            return
        run_id = self._run_id
        self.progress.setValue(1000)
        self.progress.setFormat("done")
        self.status.setText(f"Run #{run_id} finished; predictions stored.")
        self._set_phase("idle")
        self.refresh_runs(select=run_id)
        if run_id is not None:
            self.run_finished.emit(run_id)

    def _on_failed(self, message: str, details: str = "") -> None:
        if self._task is not None and self.sender() is not None and self.sender() is not self._task:
            return
        what = "Prediction" if self._phase == "predicting" else "Training"
        self.status.setText(f"{what} failed: {message}")
        self.progress.setFormat("failed")
        self._set_phase("idle")
        self.refresh_runs()
        error_dialog.show_error(self, f"{what} failed", message, details)

    def _on_cancelled(self) -> None:
        if not self._is_current():
            return
        what = "Prediction" if self._phase == "predicting" else "Training"
        self._mark_killed_runs()
        self.status.setText(f"{what} cancelled.")
        self.progress.setValue(0)
        self.progress.setFormat("cancelled")
        self._set_phase("idle")
        self.refresh_runs()

    def _mark_killed_runs(self) -> None:
        """A killed training process cannot close its run row: say 'cancelled' for it."""
        if self.project is None:
            return
        for r in self.project.runs.list():
            if r.id not in self._runs_before and r.status == "running":
                self.project.runs.update(r.id, status="cancelled", error="cancelled by the user")

    # -- past runs ----------------------------------------------------------------------------
    def refresh_runs(self, select: int | None = None) -> None:
        self.runs.clear()
        if self.project is None:
            return
        runs = self.project.runs.list()
        for r in reversed(runs):      # newest first
            item = QTreeWidgetItem([str(r.id), r.status, when(r.started_at), duration(r.started_at, r.finished_at),
                                    run_summary(r)])
            item.setData(0, Qt.ItemDataRole.UserRole, r.id)
            item.setTextAlignment(0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            tip = (r.error or run_summary(r)).strip()[:2000]
            for c in range(5):
                item.setToolTip(c, tip)
            if r.status == "failed":
                item.setForeground(1, pg.mkColor("#d9534f"))
            self.runs.addTopLevelItem(item)
            if select is not None and r.id == select:
                self.runs.setCurrentItem(item)

    def run_ids(self) -> list[int]:
        return [self.runs.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
                for i in range(self.runs.topLevelItemCount())]

    def _show_selected_run(self, item, _prev=None) -> None:
        """Clicking a past run (while idle) shows its per-epoch history in the plot."""
        if item is None or self.busy or self.project is None:
            return
        run = self.project.runs.get(item.data(0, Qt.ItemDataRole.UserRole))
        self.plot.clear_data()
        for i, h in enumerate(run.history or [], start=1):
            if not isinstance(h, dict):
                continue
            x = finite(h.get("epoch")) or float(i)
            for key in ("loss", "loss_seed", "loss_crf", "val_acc"):
                if key in h:
                    self.plot.add_point(key, x, h[key])
        self.plot.redraw()


