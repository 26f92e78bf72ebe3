"""Edit > Accept predictions above a score: the threshold, where (this image / every unreviewed image), and what
it will do, counted from the project file before anything is written."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from core.store.repos.predicted_boxes import COVERED_IOU, BulkPlan

DEFAULT_MIN_SCORE = 0.5


class AcceptAboveDialog(QDialog):
    """``plan(min_score, this_image: bool) -> BulkPlan`` is asked again whenever a choice changes."""

    def __init__(self, plan, has_image: bool, parent: QWidget | None = None, min_score: float = DEFAULT_MIN_SCORE):
        super().__init__(parent)
        self.setObjectName("accept_above_dialog")
        self.setWindowTitle("Accept predictions above a score")
        self._plan = plan
        self.score = QDoubleSpinBox(objectName="accept_above_score")
        self.score.setRange(0.0, 1.0)
        self.score.setSingleStep(0.05)
        self.score.setDecimals(2)
        self.score.setValue(min_score)
        self.score.setToolTip("A predicted box's score: how much confident foreground it holds (mean foreground "
                              "probability x sqrt of its share of the image's largest foreground mass) x the "
                              "probability that the image shows an object. On the demo, boxes in the better-scored "
                              "half overlap an object (IoU >= 0.5) about 1.7 times as often as the rest "
                              "(docs/BENCHMARKS.md).")
        self.this_image = QRadioButton("on this image", objectName="accept_above_this_image")
        self.unreviewed = QRadioButton("on every unreviewed image", objectName="accept_above_unreviewed")
        group = QButtonGroup(self)
        for b in (self.this_image, self.unreviewed):
            group.addButton(b)
        (self.this_image if has_image else self.unreviewed).setChecked(True)
        self.this_image.setEnabled(has_image)
        self.summary = QLabel(objectName="accept_above_summary")
        self.summary.setWordWrap(True)
        note = QLabel(f"Only pending predicted boxes are accepted. Boxes you drew, accepted or rejected stay as they "
                      f"are, and a prediction over one of your boxes (IoU \u2265 {COVERED_IOU:.1f}) is left pending. "
                      f"So are the suggestions the gate hides (scored like boxes that have not been right on this "
                      f"project so far: you have not seen them), unless View \u25b8 Show hidden suggestions is on. "
                      f"One step: Ctrl+Z undoes it all.")
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Score at least", self.score)
        form.addRow("Where", self.this_image)
        form.addRow("", self.unreviewed)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.summary)
        lay.addWidget(note)
        lay.addWidget(self.buttons)
        self.score.valueChanged.connect(self.refresh)
        self.this_image.toggled.connect(self.refresh)
        self.current = BulkPlan()
        self.refresh()
        self.resize(440, self.sizeHint().height())

    def refresh(self, *_) -> None:
        self.current = self._plan(self.score.value(), self.this_image.isChecked())
        self.summary.setText(describe(self.current))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.current.items))


def describe(plan: BulkPlan) -> str:
    """What a plan will do, in one or two sentences."""
    n = len(plan.items)
    text = (f"Will accept {n} predicted box{'es' if n != 1 else ''} on {plan.images} "
            f"image{'s' if plan.images != 1 else ''}." if n else "No pending predicted box at or above this score.")
    left = []
    if plan.decided:
        left.append(f"{plan.decided} already decided")
    if plan.covered:
        left.append(f"{plan.covered} over your own boxes")
    if getattr(plan, "hidden", 0):    # app/bulk_accept.py's GatedPlan
        left.append(f"{plan.hidden} hidden by the suggestion gate (Ctrl+6 shows them)")
    if getattr(plan, "unreadable", 0):
        left.append(f"{plan.unreadable} on images that could not be decoded (marked [unreadable])")
    if plan.whole_frame:
        left.append(f"{plan.whole_frame} covering nearly the whole image (look at those yourself)")
    if left:
        text += " Left alone: " + ", ".join(left) + "."
    if plan.below:
        text += f" {plan.below} pending below the score."
    return text
