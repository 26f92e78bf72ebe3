"""What the canvas shows: the overlay map (source, colour map, opacity) and the box layers."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from app.canvas.colormaps import COLORMAPS
from app.canvas.items import GT_COLOUR, PREDICTION_COLOUR, PROPOSAL_COLOUR
from app.panels.attention_panel import head_name
from app.panels.review_rows import run_name
from core.run_names import prediction_run_short
from core.store.records import PredictionRecord
from core.store.repos.maps import MEAN_HEAD

PREDICTED_FG = "fg"   # overlay source key of the predicted foreground map
NO_OVERLAY = "none"
DEFAULT_OPACITY = 70  # percent

# layer key -> (label, how it is drawn); the colours match app/canvas/items.py
LAYER_LEGEND = {
    "curated": ("Curated boxes", "solid, class colour"),
    "proposal": ("Proposals", f"dashed <span style='color:{PROPOSAL_COLOUR}'>orange</span>, #rank score"),
    "prediction": ("Predictions", f"dotted <span style='color:{PREDICTION_COLOUR}'>magenta</span>, score"),
    "gt": ("Ground truth", f"thin <span style='color:{GT_COLOUR}'>green</span>"),
}


class LayersPanel(QWidget):
    overlay_changed = Signal()   # source, colour map or opacity changed

    def sizeHint(self) -> QSize:
        return QSize(350, 300)

    def __init__(self, layer_actions: dict[str, QAction], parent=None):
        super().__init__(parent)
        self.setObjectName("layers_panel")
        self.source = QComboBox(objectName="overlay_source")
        self.cmap = QComboBox(objectName="overlay_cmap")
        self.cmap.addItems(COLORMAPS)
        self.opacity = QSlider(Qt.Orientation.Horizontal, objectName="overlay_opacity")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(DEFAULT_OPACITY)
        self.opacity_label = QLabel(f"{DEFAULT_OPACITY}%")
        self.opacity_label.setMinimumWidth(36)
        op = QHBoxLayout()
        op.addWidget(self.opacity, 1)
        op.addWidget(self.opacity_label)
        form = QFormLayout()
        form.addRow("Overlay", self.source)
        form.addRow("Colours", self.cmap)
        form.addRow("Opacity", op)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        self.checks: dict[str, QCheckBox] = {}
        self.legends: dict[str, QLabel] = {}
        for key, act in layer_actions.items():
            box = QCheckBox(objectName=f"layer_{key}")
            label, legend = LAYER_LEGEND.get(key, (act.text().replace("&", ""), ""))
            box.setText(label)
            box.setChecked(act.isChecked())
            box.setToolTip(act.toolTip())
            box.toggled.connect(act.setChecked)
            act.toggled.connect(box.setChecked)
            row = QHBoxLayout()
            row.addWidget(box)
            if legend:
                hint = QLabel(legend)
                hint.setObjectName("legend")
                row.addWidget(hint, 1, Qt.AlignmentFlag.AlignRight)
                self.legends[key] = hint
            lay.addLayout(row)
            self.checks[key] = box
        lay.addStretch(1)
        self._preferred = MEAN_HEAD  # sticky across images: new users see the mean attention at once
        self.set_sources([], has_fg=False)
        self.source.currentIndexChanged.connect(self._source_picked)
        self.cmap.currentIndexChanged.connect(lambda _: self.overlay_changed.emit())
        self.opacity.valueChanged.connect(self._opacity_moved)

    def set_sources(self, heads: list[int], has_fg: bool) -> None:
        """Offer what this image has; show the user's last choice whenever this image has it."""
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItem("none", NO_OVERLAY)
        for h in sorted(heads, key=lambda h: (h != MEAN_HEAD, h)):
            self.source.addItem(f"attention: {head_name(h)}", h)
        if has_fg:
            self.source.addItem("predicted foreground", PREDICTED_FG)
        i = self.source.findData(self._preferred)
        self.source.setCurrentIndex(i if i >= 0 else 0)
        self.source.blockSignals(False)

    def set_prediction_run(self, prediction: PredictionRecord | None, tau: float | None,
                           chosen: str | None = None) -> None:
        """Say which prediction run the magenta boxes come from (its own number, the one evaluate --prediction-run
        takes, and the training run it came from: core/run_names.py), the threshold they were drawn at, and
        ``chosen``: how the run chose it (core.run_figures.threshold_words, the command line's words)."""
        hint = self.legends.get("prediction")
        if hint is None:
            return
        text = LAYER_LEGEND["prediction"][1]
        name = run_name(prediction)
        if prediction is not None:
            text += f" · {prediction_run_short(prediction.run_id)}" + (f", τ {tau:.2f}" if tau is not None else "")
        hint.setText(text)
        hint.setToolTip("" if prediction is None else f"Boxes of {name}." if tau is None else
                        f"Boxes of {name} enclose the regions whose foreground probability passes τ = {tau:.2f}"
                        + (f" ({chosen})" if chosen else "") + ". Box label: how much "
                        "confident foreground the box holds (mean foreground probability inside x sqrt of its "
                        "share of the image's largest foreground mass); on an unlabelled image, times the "
                        "classifier's probability that it shows an object. Higher-scored boxes hit an object more "
                        "often (docs/BENCHMARKS.md).")

    @property
    def preferred_source(self):
        """The overlay the user chose last (shown on every image that has it)."""
        return self._preferred

    def restore(self, source=None, cmap: str | None = None, opacity: int | None = None) -> None:
        """Put back a remembered overlay choice (per project); what is None stays as it is."""
        if source is not None:
            self._preferred = source
            i = self.source.findData(source)
            if i >= 0:
                self.source.setCurrentIndex(i)
        if cmap is not None and self.cmap.findText(cmap) >= 0:
            self.cmap.setCurrentIndex(self.cmap.findText(cmap))
        if opacity is not None:
            self.opacity.setValue(max(0, min(100, opacity)))

    def _source_picked(self, _index: int) -> None:
        self._preferred = self.source.currentData()
        self.overlay_changed.emit()

    def wanted_source(self):
        return self.source.currentData()

    def choose(self, key) -> bool:
        """Pick a source (e.g. a head clicked in the attention panel); False if this image lacks it."""
        i = self.source.findData(key)
        if i >= 0:
            self._preferred = key
            if i == self.source.currentIndex():
                self.overlay_changed.emit()
            self.source.setCurrentIndex(i)
        return i >= 0

    def colormap(self) -> str:
        return self.cmap.currentText()

    def opacity_value(self) -> float:
        return self.opacity.value() / 100.0

    def _opacity_moved(self, v: int) -> None:
        self.opacity_label.setText(f"{v}%")
        self.overlay_changed.emit()
