"""Evaluation panel: WSOL metrics against imported ground truth, the threshold curve, worst images.

Every number comes from ``core.pipeline.evaluate(project, split, maps, details=True)``; this
panel only lays them out. Double-clicking an image row emits ``image_selected(image_id)`` so
the main window can open it on the canvas.
"""
from __future__ import annotations

import contextlib

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from app.failure_words import plain_message
from app.jobs import evaluate
from app.panels.eval_report import DELTAS, fmt_pct, headline_figures, number, threshold_curve
from app.panels.eval_table import fill_image_table
from core.errors import NoMapsError
from core.result_checks import MIN_OBJECT_IMAGES, plural, small_sample_warning  # noqa: F401  (tests read the rule here)

MAP_CHOICES = (("predicted", "Predicted maps (trained localizer)"),
               ("attention", "Attention maps (DINO, mean of heads)"),
               ("proposal", "Top-ranked proposal boxes"))
SPLIT_CHOICES = ("test", "val", "train", "all")
CURVE_COLORS = {30: "#5cb85c", 50: "#4c9be8", 70: "#d9534f"}

NO_GT_TEXT = (
    "<h3>No ground truth in this project</h3>"
    "<p>Evaluation compares maps and boxes with ground-truth boxes, which are kept apart from the "
    "boxes you curate. Import them from a COCO JSON file:</p>"
    "<ul><li>in the app: <b>File &gt; Import COCO...</b>, then <i>Ground truth</i></li>"
    "<li>on the command line:<br><code>python main.py import-coco {project} boxes.json --as gt</code></li></ul>"
    "<p>Images are matched by their path relative to the image folder, classes by name.</p>")


# What to do when the chosen maps do not exist yet, in the app's words (core's message names CLI stages).
NO_MAPS_HINT = {
    "predicted": "no predicted maps yet for the {split} images with ground truth. Train in the Training panel "
                 "(it predicts every image when done), or pick the attention maps.",
    "attention": "no attention maps yet for the {split} images with ground truth: Run > Compute attention maps.",
    "proposal": "no proposals yet for the {split} images with ground truth: Run > Compute proposals.",
}


def run_evaluation(project, split: str, maps: str, progress=None) -> dict:
    """The one call into core (tests replace it)."""
    try:
        return evaluate(project, split, maps, progress)
    except NoMapsError as exc:
        raise NoMapsError(NO_MAPS_HINT[exc.maps].format(split=exc.split), exc.maps, exc.split) from None


class EvaluationPanel(QWidget):
    image_selected = Signal(int)

    def __init__(self, project, parent=None, runner=None):
        super().__init__(parent)
        self.project = project
        self.runner = runner
        self.report: dict | None = None
        self._task = None
        self._request = 0
        self._stale = True
        self._maps_picked = False     # until the user picks maps, the panel shows the best that exist
        self._eval_timer = QTimer(self, singleShot=True, interval=0)
        self._eval_timer.timeout.connect(self._evaluate_if_stale)
        self._build()
        self.refresh()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.maps = QComboBox()
        for key, label in MAP_CHOICES:
            self.maps.addItem(label, key)
        self.split = QComboBox()
        self.split.addItems(SPLIT_CHOICES)
        self.evaluate_btn = QPushButton("Evaluate")
        self.evaluate_btn.clicked.connect(self.refresh)
        # any change but the panel's own (made with signals blocked) is a choice to keep
        self.maps.currentIndexChanged.connect(self._user_picked_maps)
        self.maps.currentIndexChanged.connect(self.refresh)
        self.split.currentIndexChanged.connect(self.refresh)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Maps"))
        bar.addWidget(self.maps, 1)
        bar.addWidget(QLabel("Split"))
        bar.addWidget(self.split)
        bar.addWidget(self.evaluate_btn)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # headline figures: a grid of name over big value
        self.figure_labels: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 1.5)
        big.setBold(True)
        names = [f"MaxBoxAcc {d}" for d in DELTAS] + ["MaxBoxAccV2", "BoxAccV2 @ τ", "Top-1 loc", "Top-5 loc"]
        tips = {"MaxBoxAccV2": "mean of MaxBoxAcc at IoU 30, 50, 70 (multi-contour boxes), %",
                "BoxAccV2 @ τ": "box accuracy (mean over IoU 30/50/70) at the operating threshold τ the boxes "
                                "are drawn at: for DiPS maps, chosen by the prediction run on its training "
                                "images' pseudo boxes, without ground truth, %",
                "Top-1 loc": "right class AND IoU >= 0.5, %", "Top-5 loc": "true class in the top 5 AND IoU >= 0.5, %"}
        for i, name in enumerate(names):
            cap = QLabel(name)
            cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
            val = QLabel("–")
            val.setFont(big)
            val.setAlignment(Qt.AlignmentFlag.AlignCenter)
            tip = tips.get(name, f"best box accuracy over thresholds at IoU >= {name.split()[-1]}%, %")
            cap.setToolTip(tip)
            val.setToolTip(tip)
            r, c = divmod(i, 4)
            grid.addWidget(cap, 2 * r, c)
            grid.addWidget(val, 2 * r + 1, c)
            self.figure_labels[name] = val
        figures = QWidget()
        figures.setLayout(grid)

        self.plot = pg.PlotWidget()
        pal = self.palette()
        self.plot.setBackground(pal.color(QPalette.ColorRole.Base))
        fg = pal.color(QPalette.ColorRole.Text)
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setLabel("bottom", "threshold τ")
        item.setLabel("left", "accuracy", units="%")   # short: a long vertical label is cut on a low plot
        for name in ("left", "bottom"):
            item.getAxis(name).setPen(fg)
            item.getAxis(name).setTextPen(fg)
        item.setYRange(0, 100)
        item.setXRange(0, 1)
        legend = item.addLegend(offset=(-10, 10), labelTextColor=fg)
        self.curves = {d: item.plot([], [], pen=pg.mkPen(CURVE_COLORS[d], width=2), name=f"IoU ≥ {d / 100:.1f}")
                       for d in DELTAS}
        self.tau_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(fg, width=1, style=Qt.PenStyle.DashLine),
                                        label="τ op", labelOpts={"position": 0.95, "color": fg})
        self.tau_line.hide()
        item.addItem(self.tau_line)
        legend.setVisible(True)
        self.plot.setMinimumHeight(150)

        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["IoU", "Image"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip("Worst localised images first; double-click to open one")
        self.table.cellDoubleClicked.connect(self._row_activated)

        results = QSplitter(Qt.Orientation.Vertical)
        results.addWidget(self.plot)
        table_box = QWidget()
        tl = QVBoxLayout(table_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(QLabel("Per image (worst first, double-click to open)"))
        tl.addWidget(self.table)
        results.addWidget(table_box)
        results.setStretchFactor(0, 2)
        results.setStretchFactor(1, 3)

        page = QWidget()
        pl = QVBoxLayout(page)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(figures)
        pl.addWidget(results, 1)

        self.no_gt = QLabel(NO_GT_TEXT)
        self.no_gt.setWordWrap(True)
        self.no_gt.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.no_gt.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.no_gt.setMargin(12)

        self.pages = QStackedWidget()
        self.pages.addWidget(page)
        self.pages.addWidget(self.no_gt)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.pages, 1)

    # -- public ------------------------------------------------------------------------------------
    def set_project(self, project) -> None:
        self.project = project
        self._maps_picked = False
        self.refresh()

    def _user_picked_maps(self, _index: int) -> None:
        self._maps_picked = True

    def _follow_what_exists(self) -> None:
        """Predicted maps once a prediction run exists, the attention maps before: a new project opens on
        figures, not on 'train first'. A choice of the user's is kept."""
        if self._maps_picked or self.project is None:
            return
        key = "predicted" if self.project.maps.latest_run_id() is not None else "attention"
        i = self.maps.findData(key)
        if i != self.maps.currentIndex():
            self.maps.blockSignals(True)      # refresh() below evaluates once, with the new choice
            self.maps.setCurrentIndex(i)
            self.maps.blockSignals(False)

    @property
    def has_ground_truth(self) -> bool:
        return self.project is not None and self.project.boxes.gt_count() > 0

    def current_maps(self) -> str:
        return self.maps.currentData()

    def current_split(self) -> str:
        return self.split.currentText()

    def refresh(self) -> None:
        """Re-run the evaluation for the chosen maps and split (in the background with a runner).

        While the panel is hidden (a dock tab behind another) it only remembers to evaluate when shown:
        opening a project or finishing a run must not cost an evaluation nobody looks at.
        """
        self._stale = True
        self._drop_task()
        self._follow_what_exists()
        if not self.isVisible():
            self._show_gt_state()
            return
        self._eval_timer.start()

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if self._stale:
            self._eval_timer.start()

    def _evaluate_if_stale(self) -> None:
        """Several refresh() / show in one go (e.g. raise the dock, then refresh) evaluate once."""
        if self._stale and self.isVisible():
            self._evaluate()

    def _show_gt_state(self) -> bool:
        """The no-ground-truth help page when there is none; False then."""
        if self.has_ground_truth:
            self.pages.setCurrentIndex(0)
            return True
        name = self.project.path.name if self.project is not None else "PROJECT.dips"
        self.no_gt.setText(NO_GT_TEXT.format(project=name))
        self.pages.setCurrentWidget(self.no_gt)
        self.status.setText("")
        self.evaluate_btn.setEnabled(self.project is not None)
        self._show(None)
        return False

    def _drop_task(self) -> None:
        """Forget the evaluation in flight: its result, when it comes, is ignored."""
        self._request += 1
        if self._task is not None:
            with contextlib.suppress(Exception):
                self._task.cancel()
            self._task = None

    def _evaluate(self) -> None:
        self._stale = False
        self._drop_task()
        if not self._show_gt_state():
            return
        project, split, maps, req = self.project, self.current_split(), self.current_maps(), self._request

        def job(progress=None):
            return run_evaluation(project, split, maps, progress)

        self.status.setText(f"Evaluating {maps} on the {split} split...")
        if self.runner is None:
            try:
                result = job()
            except Exception as exc:
                self._failed(req, _one_line(exc), "")
            else:
                self._done(req, result)
            return
        task = self.runner.run_in_thread(job, "Evaluation")
        self._task = task
        # bound methods, not lambdas over self: a lambda would keep the panel alive as long as the task
        task.finished.connect(self._task_finished)
        task.failed.connect(self._task_failed)

    def _task_finished(self, result) -> None:
        if self._task is not None and self.sender() is self._task:
            self._done(self._request, result)

    def _task_failed(self, message: str, details: str) -> None:
        if self._task is not None and self.sender() is self._task:
            self._failed(self._request, message, details)

    # -- results ------------------------------------------------------------------------------------
    def _done(self, req: int, report) -> None:
        if req != self._request:
            return  # a newer request replaced this one
        self._task = None
        self._show(report if isinstance(report, dict) else None)
        n = number(report.get("n_images")) if isinstance(report, dict) else None
        tau = number(report.get("operating_threshold")) if isinstance(report, dict) else None
        bits = [f"{self.current_maps()} on {self.current_split()}"]
        if n is not None:
            bits.append(plural(int(n), "image"))
        few = small_sample_warning(n)
        if tau is not None:
            bits.append(f"operating τ = {tau:.2f}")
        missing = number(report.get("n_without_maps")) if isinstance(report, dict) else None
        if missing:
            bits.append(f"{plural(int(missing), 'image')} with ground truth but no {self.current_maps()} map left out")
        if few:
            bits.append(f"\u26a0 {few}")
        self.status.setText(" · ".join(bits))
        self.status.setStyleSheet("color: #d97706;" if few else "")

    def _failed(self, req: int, message: str, details: str) -> None:
        if req != self._request:
            return
        self._task = None
        self._show(None)
        self.status.setText(f"Cannot evaluate: {plain_message(message, details)}")
        self.status.setToolTip(details or "")

    def _show(self, report: dict | None) -> None:
        self.report = report
        figs = headline_figures(report) if report else {}
        for name, label in self.figure_labels.items():
            label.setText(fmt_pct(figs.get(name)))
        self._show_curve(report or {})
        self._show_table((report or {}).get("per_image") or [])

    def _show_curve(self, report: dict) -> None:
        ts, curves = threshold_curve(report)
        for d, item in self.curves.items():
            if d in curves:
                item.setData(ts, curves[d])
            else:
                item.setData([], [])
        tau = number(report.get("operating_threshold"))
        if tau is not None and curves:
            self.tau_line.setValue(tau)
            self.tau_line.show()
        else:
            self.tau_line.hide()
        title = None
        if report and not curves:
            title = ("boxes have no threshold: no curve" if self.current_maps() == "proposal"
                     else "no threshold curve in this evaluation")
        self.plot.getPlotItem().setTitle(title)

    def _show_table(self, rows: list[dict]) -> None:
        fill_image_table(self.table, rows)

    def table_rows(self) -> list[tuple[int, float]]:
        """(image_id, IoU) in the table's current order (-1 stands for 'no box')."""
        return [(self.table.item(i, 0).data(Qt.ItemDataRole.UserRole), self.table.item(i, 0).value)
                for i in range(self.table.rowCount())]

    def figure_text(self, name: str) -> str:
        return self.figure_labels[name].text()

    def _row_activated(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            image_id = item.data(Qt.ItemDataRole.UserRole)
            if image_id is not None and image_id >= 0:
                self.image_selected.emit(int(image_id))


def _one_line(exc: BaseException) -> str:
    s = str(exc).strip().splitlines()
    return s[0] if s else exc.__class__.__name__
