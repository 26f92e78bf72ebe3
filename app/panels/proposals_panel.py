"""Ranked proposals of the current image, with live top-K and minimum-score filters.

The filters decide what the list *and* the canvas show. Hovering a row highlights its box;
F / B (or the buttons) accept / reject the selected one.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.panels.attention_panel import head_name
from core.store.records import ProposalRecord

COLUMNS = ("#", "score", "map", "size px", "status")
STATUS_COLOUR = {"accepted": "#16a34a", "rejected": "#9ca3af"}


class ProposalsPanel(QWidget):
    hovered = Signal(int)          # proposal id, -1 when the pointer leaves
    selected = Signal(int)         # proposal id, -1 for none
    filter_changed = Signal()      # top-K or minimum score moved: the canvas re-reads visible()
    accept_clicked = Signal()
    reject_clicked = Signal()

    def sizeHint(self) -> QSize:
        return QSize(350, 330)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("proposals_panel")
        self._all: list[ProposalRecord] = []
        self._shown: list[ProposalRecord] = []
        self._quiet = False

        self.top_k = QSpinBox(objectName="proposals_top_k")
        self.top_k.setRange(1, 500)
        self.top_k.setValue(10)
        self.top_k.setPrefix("top ")
        self.top_k.setToolTip("Show only the K best-ranked proposals")
        self.min_score = QSlider(Qt.Orientation.Horizontal, objectName="proposals_min_score")
        self.min_score.setRange(0, 100)
        self.min_score.setToolTip("Hide proposals scoring below this")
        self.min_label = QLabel("score \u2265 0.00")
        self.min_label.setMinimumWidth(80)
        self.summary = QLabel(objectName="proposals_summary")
        self.summary.setWordWrap(True)   # the empty-state hint is longer than the dock is wide

        self.table = QTableWidget(0, len(COLUMNS), objectName="proposals_table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.table.setMouseTracking(True)
        # every column shares the width: the dock stays narrow and no horizontal scroll bar appears
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setMinimumSectionSize(30)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.cellEntered.connect(lambda r, _c: self.hovered.emit(self._id_at(r)))
        self.table.viewport().installEventFilter(self)
        self.table.itemSelectionChanged.connect(self._selection_changed)

        self.accept_btn = QPushButton("Accept (F)", objectName="proposals_accept")
        self.reject_btn = QPushButton("Reject (B)", objectName="proposals_reject")
        self.accept_btn.clicked.connect(self.accept_clicked)
        self.reject_btn.clicked.connect(self.reject_clicked)

        filters = QHBoxLayout()
        filters.addWidget(self.top_k)
        filters.addWidget(self.min_score, 1)
        filters.addWidget(self.min_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.accept_btn)
        buttons.addWidget(self.reject_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(filters)
        self.notice = QLabel(objectName="proposals_notice")   # background class / out of date (app.class_roles_view)
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b7791f;")
        self.notice.hide()
        lay.addWidget(self.notice)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)

        self.top_k.valueChanged.connect(self._filters_moved)
        self.min_score.valueChanged.connect(self._filters_moved)

    def set_notice(self, text: str) -> None:
        """A line about this image's proposals as a whole; it replaces the 'compute them' hint of an empty list."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
        self.summary.setVisible(bool(self._all) or not text)

    # -- data ------------------------------------------------------------------------
    def set_proposals(self, proposals: list[ProposalRecord], new_image: bool = False) -> None:
        """``new_image``: another image's list, shown from rank 1 with nothing selected; otherwise
        (the same image's list after an edit) the selection and scroll position are kept."""
        keep = -1 if new_image else self.current_id()
        self._all = sorted(proposals, key=lambda p: p.rank)
        self._rebuild(keep)
        if new_image:
            self.table.scrollToTop()

    def min_score_value(self) -> float:
        return self.min_score.value() / 100.0

    def shown(self) -> list[ProposalRecord]:
        """Rows in the list: the top-K by rank that pass the minimum score (any status)."""
        return list(self._shown)

    def visible(self) -> list[ProposalRecord]:
        """What the canvas draws: the shown ones still waiting for a decision."""
        return [p for p in self._shown if p.status == "pending"]

    def first_pending(self) -> ProposalRecord | None:
        v = self.visible()
        return v[0] if v else None

    def current_id(self) -> int:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self._id_at(rows[0].row()) if rows else -1

    def record(self, proposal_id: int) -> ProposalRecord | None:
        return next((p for p in self._all if p.id == proposal_id), None)

    def select_proposal(self, proposal_id: int) -> None:
        """Follow a selection made on the canvas without announcing it back."""
        self._quiet = True
        row = next((r for r, p in enumerate(self._shown) if p.id == proposal_id), -1)
        if row < 0:
            self.table.clearSelection()
        else:
            self.table.selectRow(row)
            self.table.scrollToItem(self.table.item(row, 0))
        self._quiet = False

    # -- internals ------------------------------------------------------------------------------
    def _filters_moved(self) -> None:
        self.min_label.setText(f"score \u2265 {self.min_score_value():.2f}")
        self._rebuild(self.current_id())
        self.filter_changed.emit()

    def _rebuild(self, keep: int) -> None:
        k, lo = self.top_k.value(), self.min_score_value()
        self._shown = [p for p in self._all if p.rank <= k and p.score >= lo]
        self._quiet = True
        self.table.setRowCount(len(self._shown))
        for r, p in enumerate(self._shown):
            w, h = p.x1 - p.x0, p.y1 - p.y0
            cells = (str(p.rank), f"{p.score:.3f}", head_name(p.source_map), f"{w:.0f}\u00d7{h:.0f}", p.status)
            tip = (f"#{p.rank}: score {p.score:.3f}, class probability {p.class_prob:.2f}, from the "
                   f"{head_name(p.source_map)} map, {w:.0f} x {h:.0f} px at ({p.x0:.0f}, {p.y0:.0f}), {p.status}")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if c < 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if p.status in STATUS_COLOUR:
                    item.setForeground(QColor(STATUS_COLOUR[p.status]))
                self.table.setItem(r, c, item)
        self._quiet = False
        self.select_proposal(keep)
        pending = sum(p.status == "pending" for p in self._all)
        decided = len(self._all) - pending
        self.summary.setText(f"{len(self._shown)} of {len(self._all)} shown \u00b7 {pending} pending"
                             f" \u00b7 {decided} decided" if self._all else
                             "No proposals for this image (Run \u25b8 Compute proposals, after the attention maps).")

    def _id_at(self, row: int) -> int:
        return self._shown[row].id if 0 <= row < len(self._shown) else -1

    def _selection_changed(self) -> None:
        if not self._quiet:
            self.selected.emit(self.current_id())

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Leave and obj is getattr(self, "table", None).viewport():
            self.hovered.emit(-1)
        return False
