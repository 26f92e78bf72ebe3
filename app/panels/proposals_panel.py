"""The suggestions of the current image in one table: ranked proposals (with live top-K and minimum-score
filters) and the boxes of the latest prediction run, each row naming its source.

The filters decide which proposals the list *and* the canvas show (predictions are few and always listed).
Hovering a row highlights its box; F / B (or the buttons) accept / reject the selected one, whichever its source.
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

from app.panels.review_rows import ReviewRow, prediction_rows, proposal_rows
from core.run_names import prediction_run_short
from core.store.records import PredictedBox, PredictionRecord, ProposalRecord

COLUMNS = ("#", "source", "score", "map", "size px", "status")
STATUS_COLOUR = {"accepted": "#16a34a", "rejected": "#9ca3af", "hidden": "#9ca3af"}
SHOW_HIDDEN = "View \u25b8 Show hidden suggestions, Ctrl+6"


class ProposalsPanel(QWidget):
    hovered = Signal(str, int)     # kind ("proposal" | "prediction"), key; ("", -1) when the pointer leaves
    selected = Signal(str, int)    # kind, key (proposal id / predicted box id); ("", -1) for none
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
        self._prediction: PredictionRecord | None = None
        self._rows: list[ReviewRow] = []   # what the table lists: shown proposals by rank, then predictions
        self._quiet = False
        # the suggestion gate (app/suggestion_gate_view.py): predicted boxes -> (ids it hides, why, in words)
        self.hide_rule = None
        self.show_hidden = False      # View > Show hidden suggestions
        self._coming: str | None = None   # while the proposals stage runs or waits: said instead of "none"
        self._withheld: str | None = None  # the image's file no longer decodes: why its suggestions are not listed
        self._hidden: set[int] = set()
        self._hide_why = ""

        self.top_k = QSpinBox(objectName="proposals_top_k")
        self.top_k.setRange(1, 500)
        self.top_k.setValue(10)
        self.top_k.setPrefix("top ")
        self.top_k.setToolTip("Show only the K best-ranked proposals")
        self.min_score = QSlider(Qt.Orientation.Horizontal, objectName="proposals_min_score")
        self.min_score.setRange(0, 100)
        self.min_score.setToolTip("Hide proposals scoring below this (predicted boxes are always listed)")
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
        # "#", the source ("pred. run #3"), the score, the size ("177x156") and the status stay whole; the map takes
        # the rest (the size was cut to "69x1..." beside a scroll bar, then the score to "0...." beside
        # "pred. run #1", at 1600 px)
        for col in (0, 1, 2, 4, 5):
            self.table.horizontalHeader().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setMinimumSectionSize(30)
        self.table.horizontalHeaderItem(1).setToolTip("proposal (from the attention maps) or prediction (pred. run #N: "
                                                      "prediction run N, the number evaluate --prediction-run takes; "
                                                      "its row's tooltip names the training run it came from)")
        self.table.horizontalHeaderItem(2).setToolTip(
            "proposal: the classifier's true-class probability with the box's size prior (ranked by it); "
            "prediction: how much confident foreground the box holds (mean foreground probability x sqrt of its "
            "share of the image's largest foreground mass) x the probability that the image shows an object. "
            "Scores of the two sources are not on one scale.")
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.cellEntered.connect(lambda r, _c: self.hovered.emit(*self._item_at(r)))
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
        self.gate_note = QLabel(objectName="proposals_gate_note")   # how many suggestions the gate hides, and why
        self.gate_note.setWordWrap(True)
        self.gate_note.setStyleSheet("color: #4b5563;")
        self.gate_note.hide()
        lay.addWidget(self.summary)
        lay.addWidget(self.gate_note)
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
        keep = None if new_image else self.current()
        self._all = sorted(proposals, key=lambda p: p.rank)
        self._rebuild(keep)
        if new_image:
            self.table.scrollToTop()

    def set_coming(self, text: str | None) -> None:
        """What to say of an image without proposals while they are being computed or queued (None: they are
        not coming; the empty state then says how to compute them)."""
        if text != self._coming:
            self._coming = text
            self.summary.setText(self._summary())

    def set_withheld(self, text: str | None) -> None:
        """Why the image's stored suggestions are not listed (its file no longer decodes), said instead of "none";
        None: they are listed as usual."""
        if text != self._withheld:
            self._withheld = text
            self.summary.setText(self._summary())

    def set_prediction(self, prediction: PredictionRecord | None, new_image: bool = False) -> None:
        """The latest prediction of the image (its boxes best score first), listed after the proposals."""
        keep = None if new_image else self.current()
        self._prediction = prediction
        self._rebuild(keep)
        if new_image:
            self.table.scrollToTop()

    def min_score_value(self) -> float:
        return self.min_score.value() / 100.0

    def shown(self) -> list[ProposalRecord]:
        """Proposal rows in the list: the top-K by rank that pass the minimum score (any status)."""
        return list(self._shown)

    def visible(self) -> list[ProposalRecord]:
        """What the canvas draws: the shown ones still waiting for a decision."""
        return [p for p in self._shown if p.status == "pending"]

    def predictions(self) -> list[PredictedBox]:
        """The predicted boxes of the image (any status), best score first."""
        return list(self._prediction.boxes) if self._prediction is not None else []

    def visible_predictions(self) -> list[PredictedBox]:
        """Predicted boxes the canvas draws: those still waiting for a decision, less those the gate hides."""
        return [b for b in self.predictions() if b.status == "pending" and not self.is_hidden(b.id)]

    def is_hidden(self, box_id: int) -> bool:
        """Whether the suggestion gate hides this predicted box now (never while hidden ones are shown)."""
        return not self.show_hidden and box_id in self._hidden

    def hidden_count(self) -> int:
        """Pending predicted boxes of this image the gate holds back (shown or not)."""
        return len(self._hidden)

    def prediction(self, box_id: int) -> PredictedBox | None:
        return next((b for b in self.predictions() if b.id == box_id), None)

    def prediction_run(self) -> int | None:
        """The prediction run's own number (the one evaluate --prediction-run takes)."""
        return self._prediction.run_id if self._prediction is not None else None

    def rows(self) -> list[ReviewRow]:
        return list(self._rows)

    def row_of(self, kind: str, key: int) -> int:
        return next((r for r, it in enumerate(self._rows) if it.kind == kind and it.key == key), -1)

    def pending(self, kinds: tuple[str, ...]) -> list[ReviewRow]:
        """Rows still waiting for a decision, of these kinds, in table order."""
        return [it for it in self._rows if it.status == "pending" and it.kind in kinds]

    def first_pending(self) -> ProposalRecord | None:
        v = self.visible()
        return v[0] if v else None

    def current(self) -> tuple[str, int] | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return (self._rows[rows[0].row()].kind, self._rows[rows[0].row()].key) \
            if rows and rows[0].row() < len(self._rows) else None

    def current_id(self) -> int:
        """The selected proposal's id; -1 when none (or a prediction) is selected."""
        cur = self.current()
        return cur[1] if cur is not None and cur[0] == "proposal" else -1

    def record(self, proposal_id: int) -> ProposalRecord | None:
        return next((p for p in self._all if p.id == proposal_id), None)

    def select_item(self, kind: str, key: int) -> None:
        """Follow a selection made on the canvas without announcing it back (kind "" clears)."""
        self._quiet = True
        row = self.row_of(kind, key)
        if row < 0:
            self.table.clearSelection()
        else:
            self.table.selectRow(row)
            self.table.scrollToItem(self.table.item(row, 0))
        self._quiet = False

    def select_proposal(self, proposal_id: int) -> None:
        self.select_item("proposal", proposal_id)

    # -- internals ------------------------------------------------------------------------------
    def _filters_moved(self) -> None:
        self.min_label.setText(f"score \u2265 {self.min_score_value():.2f}")
        self._rebuild(self.current())
        self.filter_changed.emit()

    def _rebuild(self, keep: tuple[str, int] | None) -> None:
        k, lo = self.top_k.value(), self.min_score_value()
        self._shown = [p for p in self._all if p.rank <= k and p.score >= lo]
        self._hidden, self._hide_why = set(), ""
        if self.hide_rule is not None and self._prediction is not None:
            self._hidden, self._hide_why = self.hide_rule(self._prediction.boxes)
        self._rows = proposal_rows(self._shown) + prediction_rows(self._prediction, self._hidden, self.show_hidden)
        self._quiet = True
        self.table.setRowCount(len(self._rows))
        for r, it in enumerate(self._rows):
            for c, text in enumerate(it.cells):
                item = QTableWidgetItem(text)
                item.setToolTip(it.tip)
                if c in (0, 2):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if it.status in STATUS_COLOUR:
                    item.setForeground(QColor(STATUS_COLOUR[it.status]))
                self.table.setItem(r, c, item)
        self._quiet = False
        self.select_item(*(keep or ("", -1)))
        self.summary.setText(self._summary())
        self._show_gate_note()

    def _summary(self) -> str:
        preds = self.predictions()
        if not self._all and not preds and self._withheld:
            return self._withheld
        if not self._all and not preds and self._coming:
            return self._coming
        if not self._all and not preds:
            return "No proposals for this image (Run \u25b8 Compute proposals, after the attention maps)."
        pending = sum(p.status == "pending" for p in self._all)
        parts = [f"{len(self._shown)} of {len(self._all)} proposals shown \u00b7 {pending} pending"
                 f" \u00b7 {len(self._all) - pending} decided" if self._all else "no proposals"]
        if preds:
            n = sum(b.status == "pending" and not self.is_hidden(b.id) for b in preds)
            run = self.prediction_run()
            held = sum(self.is_hidden(b.id) for b in preds)
            source = f" ({prediction_run_short(run)})" if run is not None else ""
            hidden = f" \u00b7 {held} hidden" if held else ""
            parts.append(f"{len(preds)} predicted{source} \u00b7 {n} pending{hidden}")
        return "; ".join(parts)

    def _show_gate_note(self) -> None:
        n = len(self._hidden)
        boxes = f"{n} suggestion{'s' if n != 1 else ''}"
        if not n:
            self.gate_note.hide()
            return
        self.gate_note.setText(f"{boxes} the gate would hide {'is' if n == 1 else 'are'} shown ({SHOW_HIDDEN})"
                               if self.show_hidden else f"{boxes} hidden: {self._hide_why} ({SHOW_HIDDEN})")
        self.gate_note.show()

    def _item_at(self, row: int) -> tuple[str, int]:
        return (self._rows[row].kind, self._rows[row].key) if 0 <= row < len(self._rows) else ("", -1)

    def _selection_changed(self) -> None:
        if not self._quiet:
            self.selected.emit(*(self.current() or ("", -1)))

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Leave and obj is getattr(self, "table", None).viewport():
            self.hovered.emit("", -1)
        return False
