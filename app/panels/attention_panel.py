"""All attention heads of the current image side by side, plus their mean; click one to overlay it."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QLabel, QScrollArea, QToolButton, QVBoxLayout, QWidget

from app.canvas.colormaps import colorize
from core.store.repos.maps import MEAN_HEAD

TILE_W = 84
_ID0 = 1000  # QButtonGroup reserves id -1 (= auto), which is MEAN_HEAD: offset the ids
COLUMNS = 3


def head_name(head: int) -> str:
    return "mean" if head == MEAN_HEAD else f"head {head}"


class AttentionPanel(QWidget):
    head_chosen = Signal(int)  # MEAN_HEAD (-1) or a head index

    def sizeHint(self) -> QSize:
        return QSize(350, 400)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("attention_panel")
        self._coming: str | None = None   # while the attention stage runs or waits: said instead of "none yet"
        self._withheld: str | None = None  # the image's file no longer decodes: why its maps are not shown
        self.info = QLabel("No attention maps for this image yet.", objectName="attention_info")
        self.info.setWordWrap(True)
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._grid_host)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.info)
        lay.addWidget(scroll, 1)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._group.idClicked.connect(self._clicked)
        self.tiles: dict[int, QToolButton] = {}
        self._maps: dict[int, np.ndarray] = {}
        self._aspect = 1.0
        self._cmap = "inferno"

    def set_maps(self, maps: dict[int, np.ndarray], image_size: tuple[int, int] = (1, 1), checked: int | None = None,
                 cmap: str | None = None) -> None:
        """``maps``: head -> [h, w] grid, as ``project.maps.attention`` returns it."""
        self._maps = dict(maps)
        self._aspect = image_size[1] / max(1, image_size[0])
        if cmap:
            self._cmap = cmap
        self._rebuild(checked)

    @property
    def cmap_name(self) -> str:
        return self._cmap

    def set_colormap(self, cmap: str) -> None:
        self._cmap = cmap
        self._rebuild(self.checked_head())

    def set_coming(self, text: str | None) -> None:
        """What to say of an image without maps while they are being computed or queued (None: not coming)."""
        if text != self._coming:
            self._coming = text
            if not self._maps:
                self._rebuild(None)

    def set_withheld(self, text: str | None) -> None:
        """Why the image's stored maps are not shown (its file no longer decodes); None: shown as usual."""
        if text != self._withheld:
            self._withheld = text
            if not self._maps:
                self._rebuild(None)

    def checked_head(self) -> int | None:
        b = self._group.checkedButton()
        return self._group.id(b) - _ID0 if b is not None else None

    def set_checked(self, head: int | None) -> None:
        self._group.setExclusive(False)
        for h, t in self.tiles.items():
            t.setChecked(h == head)
        self._group.setExclusive(True)

    def _rebuild(self, checked: int | None) -> None:
        for t in self.tiles.values():
            self._group.removeButton(t)
            t.hide()          # at once: a grab before the deferred delete would still show the last image's maps
            t.deleteLater()
        self.tiles = {}
        if not self._maps:
            self.info.setText(self._withheld or self._coming or
                              "No attention maps for this image yet (Run \u25b8 Compute attention maps).")
            return
        n_heads = len([h for h in self._maps if h != MEAN_HEAD])
        self.info.setText(f"{n_heads} heads + mean, {self._grid_shape()} grid. Click one to overlay it.")
        tile_h = max(24, int(TILE_W * self._aspect))
        order = sorted(self._maps, key=lambda h: (h != MEAN_HEAD, h))  # mean first
        for k, head in enumerate(order):
            btn = QToolButton(objectName=f"attention_tile_{head}")
            btn.setCheckable(True)
            btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            pix = QPixmap.fromImage(colorize(self._maps[head], self._cmap)).scaled(
                TILE_W, tile_h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
            btn.setIcon(QIcon(pix))
            btn.setIconSize(QSize(TILE_W, tile_h))
            btn.setText(head_name(head))
            btn.setToolTip(f"Overlay {head_name(head)} on the image")
            self._group.addButton(btn, head + _ID0)
            self._grid.addWidget(btn, k // COLUMNS, k % COLUMNS)
            self.tiles[head] = btn
        self.set_checked(checked)

    def _grid_shape(self) -> str:
        m = next(iter(self._maps.values()))
        return f"{m.shape[1]}x{m.shape[0]}"

    def _clicked(self, button_id: int) -> None:
        self.head_chosen.emit(button_id - _ID0)
