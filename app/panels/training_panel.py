"""Training panel: DiPS settings, Start/Cancel, progress with ETA, live loss curves, past runs.

Training runs in a subprocess (``python main.py train PROJECT --events json ...``) through the
task runner, so a crash or an out-of-memory in training never takes the window down and Cancel
kills the whole process tree. When training is done the panel runs prediction with the new
model and emits ``run_finished(training_run_id)``.
"""
from __future__ import annotations

import copy

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.dialogs import error_dialog
from app.failure_words import plain_message
from app.jobs import Jobs, torch_devices
from app.panels.loss_plot import LossPlot
from app.panels.run_summary import progress_text
from app.panels.runs_list import RunsList
from app.panels.settings_form import SettingsForm, short_name
from app.panels.training_form import LIGHT_REDUCE, LOCALIZERS, localizer_key, training_grid
from app.probe import ask_in_background
from core.class_roles import runs_notice
from core.events import progress_event
from core.progress import ProgressEvent, format_eta
from core.result_checks import finite, plural
from core.run_figures import threshold_words, unpredicted_training_run
from core.run_names import prediction_run_name, training_run_name
from core.settings import Settings, TrainConfig, default_widths, load_settings, parse_widths
from core.settings_cli import share
from core.stages import next_stage


class TrainingPanel(QWidget):
    """Settings + Start/Cancel + progress + curves + past runs for one project."""

    run_finished = Signal(int)    # training run id, once its predictions are stored

    def __init__(self, project, runner, parent=None):
        super().__init__(parent)
        self.project = project
        self.runner = runner
        self.jobs = Jobs(runner)
        self._task = None
        self._phase = "idle"          # idle | training | predicting
        self._run_id: int | None = None
        self._epochs = 1
        self._settings = Settings()   # the project's saved settings; the editors change a copy of them
        self.gate = None              # app.training_gate.TrainingGate: what is missing is asked before a run
        self._build()
        self._redraw_timer = QTimer(self, singleShot=True, interval=100)
        self._redraw_timer.timeout.connect(self.plot.redraw)
        self._wanted_device = "auto"
        self._unpredicted_run: int | None = None   # the training run the "Predict with" button predicts with
        self.set_project(project)
        ask_in_background(torch_devices, self._devices_found, ["auto", "cpu"], "training-panel-probe")

    @property
    def _n_up(self) -> int:
        """Upsampling blocks of the token decoder: one width each."""
        return self._settings.train.decoder_n_up

    def _devices_found(self, devices: list) -> None:
        """GPU names, from a thread (importing torch takes seconds)."""
        for name in devices:
            if self.device.findText(name) < 0:
                self.device.addItem(name)
        i = self.device.findText(self._wanted_device)
        if i >= 0:
            self.device.setCurrentIndex(i)

    # -- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        # The editors come from core.settings' fields (type, range, tooltip, label); device and localizer are
        # chosen here: the device list needs torch, and one localizer choice sets two fields.
        self.form = SettingsForm("train", skip=("device", "decoder", "decoder_reduce"))
        e, labels = self.form.editors, self.form.labels
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu"])   # GPUs are added once torch is loaded (see app.probe)
        self.device.setToolTip(TrainConfig.__dataclass_fields__["device"].metadata["help"])
        self.epochs, self.lr, self.k = e["epochs"], e["lr"], e["K"]
        self.n_pos, self.n_neg, self.lambda_seed = e["n_pos"], e["n_neg"], e["lambda_seed"]
        self.lambda_crf, self.crf, self.lambda_cls = e["lambda_crf"], e["use_crf"], e["lambda_cls"]
        self.crf.toggled.connect(self._crf_toggled)
        self.lambda_cls_label = labels["lambda_cls"]
        self.localizer = QComboBox()
        for key, label in LOCALIZERS:
            self.localizer.addItem(label, key)
        self.localizer.setToolTip("f_l. Light: tokens projected to 32 channels first, ~12x cheaper per step on a "
                                  "CPU and as accurate on the demo data. Journal widths: the paper's decoder. "
                                  "U-Net: the workshop paper's localizer on RGB")

        self.widths = e["decoder_widths"]
        self.widths_label = labels["decoder_widths"]

        form = training_grid(self.form, self.device, self.localizer)
        self.localizer.currentIndexChanged.connect(lambda _: self._show_localizer_fields())
        self.settings_box = QGroupBox()
        self.settings_box.setLayout(form)
        # the settings fold away to one line once the project has runs, so that at a usual window size (1600 x
        # 1000) the past runs show without scrolling; the arrow opens them again
        self.settings_toggle = QToolButton(objectName="settings_toggle", text="Settings", checkable=True)
        self.settings_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.settings_toggle.setAutoRaise(True)
        self.settings_toggle.setToolTip("Show or hide the training settings (they apply whether shown or not)")
        self.settings_toggle.toggled.connect(self._fold_settings)
        self.settings_summary = QLabel(objectName="settings_summary")
        self.settings_summary.setStyleSheet("color: palette(mid);")
        self._folded_by_user: bool | None = None    # the user's choice beats the default for the session
        self.settings_toggle.clicked.connect(lambda on: setattr(self, "_folded_by_user", not on))
        for editor in e.values():
            for signal in ("valueChanged", "textChanged", "toggled", "currentIndexChanged"):
                if hasattr(editor, signal):
                    getattr(editor, signal).connect(lambda *_: self._summarise_settings())
                    break
        self.localizer.currentIndexChanged.connect(lambda _: self._summarise_settings())
        self.device.currentIndexChanged.connect(lambda _: self._summarise_settings())
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.settings_toggle)
        header.addWidget(self.settings_summary, 1)

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
        self.notice = QLabel(objectName="training_notice")   # trained with other background classes
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b7791f;")
        # a training run trained on the command line (`train`) has not predicted: its boxes are one click away
        self.unpredicted = QLabel(objectName="unpredicted_notice")
        self.unpredicted.setWordWrap(True)
        self.predict_btn = QPushButton(objectName="predict_latest")
        self.predict_btn.setToolTip("Predict every image with this training run's model, without training again "
                                    "(what 'python main.py predict' does)")
        self.predict_btn.clicked.connect(self._predict_latest)
        self.unpredicted_row = QWidget()
        row = QHBoxLayout(self.unpredicted_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.unpredicted, 1)
        row.addWidget(self.predict_btn)
        self.unpredicted_row.hide()
        self.status = QLabel("Idle")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.plot = LossPlot()

        self.runs = RunsList()
        self.runs.currentItemChanged.connect(self._show_selected_run)

        # the controls with the loss curve beside them, then the past runs the whole width under both, in a splitter
        # that gives the runs what is left (a run's result line is long: squeezed beside the curve it wraps into
        # rows too tall to show more than one or two)
        controls = QVBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addLayout(buttons)
        controls.addWidget(self.notice)
        controls.addWidget(self.unpredicted_row)
        controls.addWidget(self.progress)
        controls.addWidget(self.status)
        controls.addStretch(1)
        self.plot.setMinimumHeight(120)
        self.plot.setMinimumWidth(260)
        middle = QWidget()
        row = QHBoxLayout(middle)
        row.setContentsMargins(0, 0, 0, 0)
        row.addLayout(controls, 3)
        row.addWidget(self.plot, 2)
        runs_box = QGroupBox("Past runs")
        runs_box.setFlat(True)                      # no frame around a table that has its own
        box_layout = QVBoxLayout(runs_box)
        box_layout.setContentsMargins(0, 4, 0, 0)
        box_layout.addWidget(self.runs)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(middle)
        split.addWidget(runs_box)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        self.split = split
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.settings_box)
        layout.addWidget(split, 1)

    # -- project --------------------------------------------------------------------------
    def set_project(self, project) -> None:
        """Show another project; training or prediction still running for the old one is cancelled."""
        if self._task is not None:
            task, self._task = self._task, None   # its last signals are ignored (not the current task)
            task.cancel()
        if self._phase == "waiting" and self.gate is not None:
            self.gate.abandon()
        self.project = project
        self.runs.clear()                         # the last project's selection is not this one's
        self._settings = load_settings(project, fallback=True) if project is not None else Settings()
        self.set_options(self._settings)
        self.refresh_runs()
        self._set_phase("idle")
        self._show_unpredicted()
        self.status.setText("Idle")           # a failure or result shown for the last project is not this one's
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.plot.clear_data()
        self._show_stored_curve()

    def options(self) -> Settings:
        """The project's settings with what the editors show: what `main.py train` will run with."""
        s = copy.deepcopy(self._settings)
        t = s.train
        self.form.read(t)                 # a text that is no value keeps the saved one; start() refuses it
        key = self.localizer.currentData()
        t.decoder = "unet" if key == "unet" else "token"
        if key == "token-journal":
            t.decoder_reduce = None
        elif key == "token":
            t.decoder_reduce = t.decoder_reduce or LIGHT_REDUCE
        t.device = self.device.currentText()
        share(s, "train")                 # as the command line does: --K and --device set every field they name
        return s

    def set_options(self, s: Settings) -> None:
        self._wanted_device = s.train.device
        i = self.device.findText(s.train.device)
        self.device.setCurrentIndex(i if i >= 0 else 0)
        self.form.show(s.train)
        i = self.localizer.findData(localizer_key(s.train))
        self.localizer.setCurrentIndex(i if i >= 0 else 0)
        self._show_localizer_fields()

    def _show_localizer_fields(self) -> None:
        # Each field says when it applies (core.settings): L_CLS to the workshop's U-Net, widths to the token decoder
        t = copy.copy(self._settings.train)
        t.decoder = "unet" if self.localizer.currentData() == "unet" else "token"
        self.form.update_visibility(t)
        light = self.localizer.currentData() == "token"
        reduce = self._settings.train.decoder_reduce or LIGHT_REDUCE
        self.widths.setPlaceholderText(", ".join(str(w) for w in default_widths(self._n_up, reduce, 0))
                                       if light else "C/2, C/4")

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
        else:
            self.unpredicted_row.hide()   # a run or a prediction is on: refresh_runs says it again after

    # -- actions -----------------------------------------------------------------------------
    def start(self) -> None:
        if self.busy or self.project is None:
            return
        settings = self.options()
        bad = [short_name(o) for n, o in self.form.options.items()
               if o.base is float and not self.form.editors[n].is_valid()]
        if bad:
            self.status.setText("Not a number: " + ", ".join(bad))
            return
        problem = self._widths_problem()
        if problem:
            self.status.setText(problem)
            return
        if self.gate is not None:     # the window's check of what training needs (app.training_gate)
            self.gate.request(self, settings)
            return
        self.begin(settings)

    def begin(self, settings: Settings) -> None:
        """Start training now with ``settings`` (the gate calls this once the project is ready)."""
        self._epochs = settings.train.epochs
        self._run_id = None
        self.plot.clear_data()
        self.plot.setTitle("This run (live)", size="9pt")
        self.runs.setCurrentItem(None)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.status.setText("Starting training...")
        self._set_phase("training")
        task = self.jobs.start("train", self.project, settings)
        self._attach(task, self._training_done)

    def show_waiting(self, text: str) -> None:
        """Training waits for attention maps or proposals; Cancel stops the wait."""
        self._set_phase("waiting")
        self.progress.setValue(0)
        self.progress.setFormat("waiting")
        self.status.setText(text)

    def not_started(self, text: str) -> None:
        self._set_phase("idle")
        self.progress.setFormat("%p%")
        self.status.setText(text)

    def cancel(self) -> None:
        if self._phase == "waiting":
            computing = self.gate.abandon() if self.gate is not None else False
            self.not_started("Training not started (cancelled); the computing goes on." if computing else
                             "Training not started (cancelled).")
            return
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
        ev = progress_event(raw)
        frac = min(1.0, ev.done / ev.total) if ev.total > 0 else 0.0
        self.progress.setValue(int(round(frac * 1000)))
        ex = ev.extra or {}
        self.progress.setFormat(f"%p%  ETA {format_eta(ev.eta_s)}")
        self.status.setText(progress_text(ev, self._phase, self._epochs))
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
        self.predict(self._run_id)

    def predict(self, run_id: int) -> None:
        """Predict every image with training run ``run_id``'s model (in the worker); ``run_finished`` then."""
        self._run_id = run_id
        self.progress.setValue(0)
        self.status.setText(f"{training_run_name(run_id, capital=True)} trained; predicting every image...")
        self._set_phase("predicting")
        task = self.jobs.start(next_stage("train"), self.project, run_id=run_id)
        self._attach(task, self._prediction_done)

    def _prediction_done(self, result) -> None:
        if not self._is_current():
            return
        run_id = self._run_id
        self.progress.setValue(1000)
        self.progress.setFormat("done")
        pred_run = result if isinstance(result, int) else None
        warning = self.project.maps.prediction_warning(pred_run)
        stored = f"stored as {prediction_run_name(pred_run, run_id)}" if pred_run is not None else "stored"
        # how the run chose its threshold, in predict's words: a fit that draws next to nothing says so here too
        chosen = self.project.maps.prediction_run_config(pred_run) if pred_run is not None else {}
        if chosen:
            stored += f"; {threshold_words(chosen)}"
        self.status.setText(f"{training_run_name(run_id, capital=True)} finished; predictions {stored}."
                            + (f"\n{warning}" if warning else ""))
        self._set_phase("idle")
        self.refresh_runs(select=run_id)
        if run_id is not None:
            self.run_finished.emit(run_id)

    def _on_failed(self, message: str, details: str = "") -> None:
        if self._task is not None and self.sender() is not None and self.sender() is not self._task:
            return
        what = "Prediction" if self._phase == "predicting" else "Training"
        self.status.setText(f"{what} failed: {plain_message(message, details)}")
        self.progress.setFormat("failed")
        self._set_phase("idle")
        self.refresh_runs()
        error_dialog.show_error(self, f"{what} failed", message, details)

    def _on_cancelled(self) -> None:
        if not self._is_current():
            return
        what = "Prediction" if self._phase == "predicting" else "Training"
        self.status.setText(f"{what} cancelled.")
        self.progress.setValue(0)
        self.progress.setFormat("cancelled")
        self._set_phase("idle")
        self.refresh_runs()

    # -- past runs ----------------------------------------------------------------------------
    def _fold_settings(self, shown: bool) -> None:
        self.settings_box.setVisible(shown)
        self.settings_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.settings_summary.setVisible(not shown)
        self._summarise_settings()

    def _summarise_settings(self) -> None:
        """The folded settings in one line: what the next run trains with."""
        if not hasattr(self, "settings_summary") or self.settings_toggle.isChecked():
            return
        t = self.options().train
        self.settings_summary.setText(f"{plural(t.epochs, 'epoch')} \u00b7 K {t.K} \u00b7 lr {t.lr:g} \u00b7 "
                                      f"{self.localizer.currentText()} \u00b7 CRF {'on' if t.use_crf else 'off'} "
                                      f"\u00b7 device {t.device}")

    def show_settings(self, shown: bool) -> None:
        """Unfold (True) or fold the settings."""
        self.settings_toggle.setChecked(shown)
        self._fold_settings(shown)

    def refresh_runs(self, select: int | None = None) -> None:
        if select is None and self.runs.currentItem() is not None:   # a refresh keeps the run the user picked
            select = self.runs.currentItem().data(0, Qt.ItemDataRole.UserRole)
        runs = self.project.runs.list() if self.project is not None else []
        self.runs.show_runs(runs, select)
        # folded once there are runs to look at (the settings were set for them), unless the user chose
        self.show_settings(not runs if self._folded_by_user is None else not self._folded_by_user)
        notes = [runs_notice(self.project, self._settings), self.project.maps.prediction_warning() or ""] \
            if self.project is not None else []
        self.notice.setText("\n".join(n for n in notes if n))
        self.notice.setVisible(bool(self.notice.text()))
        self._show_unpredicted()
        self._show_stored_curve()

    def _show_unpredicted(self) -> None:
        """The latest finished training run, when it has not predicted (trained by `train`): said, with a button
        that predicts with it; hidden otherwise and while a run or a prediction is on."""
        late = unpredicted_training_run(self.project) if self.project is not None and not self.busy else None
        self._unpredicted_run = late[0] if late else None
        if late:
            run, pred_run, pred_from = late
            shown = (f"the boxes shown come from {prediction_run_name(pred_run, pred_from)}" if pred_run is not None
                     else "no predicted boxes are shown yet")
            self.unpredicted.setText(f"{training_run_name(run, capital=True)} has not predicted yet: {shown}.")
            self.predict_btn.setText(f"Predict with {training_run_name(run)}")
        self.unpredicted_row.setVisible(late is not None)

    def _predict_latest(self) -> None:
        if self.busy or self.project is None or self._unpredicted_run is None:
            return
        self.unpredicted_row.hide()
        self.predict(self._unpredicted_run)

    def _show_stored_curve(self) -> None:
        """While idle, the plot is never empty when past runs exist: it shows the selected run's stored curve, else
        the latest run's (selected in the list, so it is clear whose curve it is)."""
        if self.busy or self.project is None:
            return
        item = self.runs.currentItem() or self.runs.topLevelItem(0)   # newest first
        if item is None:
            self.plot.setTitle(None)
            return
        self.runs.setCurrentItem(item)
        self._show_selected_run(item)

    def reload_background(self) -> None:
        """The project's background classes changed (File > Background classes): train with the new ones."""
        saved = load_settings(self.project, fallback=True) if self.project is not None else Settings()
        self._settings.background_classes = saved.background_classes
        self.refresh_runs()

    def run_ids(self) -> list[int]:
        return self.runs.run_ids()

    def _show_selected_run(self, item, _prev=None) -> None:
        """Clicking a past run (while idle) shows its per-epoch history in the plot."""
        if item is None or self.busy or self.project is None:
            return
        run = self.project.runs.get(item.data(0, Qt.ItemDataRole.UserRole))
        self.plot.show_history(run.history or [])
        self.plot.setTitle(f"{training_run_name(run.id, capital=True)} ({run.status})"
                           + ("" if run.history else ": no curve stored"), size="9pt")


