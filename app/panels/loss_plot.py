"""Live training curves: losses over epochs on the left axis, validation accuracy on the right."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QPalette

from core.result_checks import finite
from core.run_figures import ACCURACY_SHORT


class LossPlot(pg.PlotWidget):
    """Losses (left axis) over training progress in epochs, validation accuracy (right axis, %)."""

    COLORS = {"loss": "#4c9be8", "loss_seed": "#f0a030", "loss_crf": "#5cb85c", "val_acc": "#d9534f"}
    NAMES = {"loss": "total loss", "loss_seed": "seed CE", "loss_crf": "CRF", "val_acc": f"{ACCURACY_SHORT} (%)"}

    def __init__(self, parent=None):
        super().__init__(parent)
        pal = self.palette()
        self.setBackground(pal.color(QPalette.ColorRole.Base))
        fg = pal.color(QPalette.ColorRole.Text)
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setLabel("bottom", "epoch")
        item.setLabel("left", "loss")
        # losses below 1 otherwise read "loss (x0.001)" with ticks in the hundreds
        item.getAxis("left").enableAutoSIPrefix(False)
        item.showAxis("right")
        item.setLabel("right", ACCURACY_SHORT, units="%")
        for name in ("left", "bottom", "right"):
            ax = item.getAxis(name)
            ax.setPen(fg)
            ax.setTextPen(fg)
        self.setToolTip(f"Losses over the epochs (left axis); {ACCURACY_SHORT} (right axis, red): the share of the "
                        "validation images the classifier names the right class of")
        self.legend = item.addLegend(offset=(-10, 10), labelTextColor=fg)
        self.curves = {k: item.plot([], [], pen=pg.mkPen(self.COLORS[k], width=2), name=self.NAMES[k])
                       for k in ("loss", "loss_seed", "loss_crf")}
        # validation accuracy lives in its own view box on the right axis, sharing the x axis
        self.acc_view = pg.ViewBox()
        item.scene().addItem(self.acc_view)
        item.getAxis("right").linkToView(self.acc_view)
        self.acc_view.setXLink(item)
        self.acc_view.setYRange(0, 100)
        self.acc_curve = pg.PlotDataItem([], [], pen=pg.mkPen(self.COLORS["val_acc"], width=2),
                                         symbol="o", symbolSize=6, symbolBrush=self.COLORS["val_acc"])
        self.acc_view.addItem(self.acc_curve)
        self._acc_shown = True
        item.vb.sigResized.connect(self._sync_views)
        self.clear_data()

    def _sync_views(self) -> None:
        vb = self.getPlotItem().vb
        self.acc_view.setGeometry(vb.sceneBoundingRect())
        self.acc_view.linkedViewChanged(vb, self.acc_view.XAxis)

    def clear_data(self) -> None:
        self.data = {k: ([], []) for k in ("loss", "loss_seed", "loss_crf", "val_acc")}
        self.redraw()

    def add_point(self, key: str, x: float, y) -> None:
        y = finite(y)
        if y is None:
            return
        xs, ys = self.data[key]
        if key == "val_acc":
            y = y * 100.0                     # a fraction, as accuracy_words takes it; the axis reads percent
            if xs and xs[-1] == x:            # the same epoch reported twice: keep the latest
                ys[-1] = y
                return
        xs.append(x)
        ys.append(y)

    def redraw(self) -> None:
        for k, curve in self.curves.items():
            xs, ys = self.data[k]
            # a line through one point draws nothing: a one-epoch run's losses show as dots
            dot = {"symbol": "o", "symbolSize": 7, "symbolBrush": self.COLORS[k], "symbolPen": None} if len(xs) == 1 \
                else {"symbol": None}
            curve.setData(xs, ys, **dot)
        self.acc_curve.setData(*self.data["val_acc"])
        accs = self.data["val_acc"][1]
        self._show_acc_axis(bool(accs))
        if accs:
            lo, hi = min(accs), max(accs)
            self.acc_view.setYRange(max(0.0, lo - 5), min(100.0, hi + 5) if hi > lo else min(100.0, hi + 10))

    def _show_acc_axis(self, show: bool) -> None:
        """The right axis only when some run reports a validation accuracy per epoch."""
        if show == self._acc_shown:
            return
        self._acc_shown = show
        item = self.getPlotItem()
        if show:
            item.showAxis("right")
            self.legend.addItem(self.acc_curve, self.NAMES["val_acc"])
        else:
            item.hideAxis("right")
            self.legend.removeItem(self.acc_curve)

    def n_points(self, key: str = "loss") -> int:
        return len(self.data[key][0])

    def show_history(self, history: list) -> None:
        """A finished run's per-epoch entries ({"epoch", "loss", "loss_seed", "loss_crf", "val_acc"}), replacing
        what is drawn; an entry without an epoch is placed at its position."""
        self.clear_data()
        for i, h in enumerate(history, start=1):
            if not isinstance(h, dict):
                continue
            x = finite(h.get("epoch")) or float(i)
            for key in ("loss", "loss_seed", "loss_crf", "val_acc"):
                if key in h:
                    self.add_point(key, x, h[key])
        self.redraw()
