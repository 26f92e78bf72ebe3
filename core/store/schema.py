"""SQLAlchemy models of the project file.

Pixels are never stored: images are referenced by their path relative to the image root.
Maps (attention, predictions) are float16 arrays at patch / model resolution, stored as
raw bytes with their shape beside them.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 6

SPLITS = ("train", "val", "test")
# "flagged" is kept for the check constraint of older files; since schema 5 the flag is its own column,
# so an image can be reviewed and flagged at once.
REVIEW_STATES = ("unreviewed", "verified", "flagged")
PROPOSAL_STATES = ("pending", "accepted", "rejected")   # also the review states of predicted boxes
BOX_SOURCES = ("manual", "proposal", "prediction", "edited", "imported")
RUN_STATES = ("running", "finished", "failed", "cancelled")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ClassRow(Base):
    __tablename__ = "classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    # Display / export order; ids never change once given so COCO category ids stay stable.
    position: Mapped[int] = mapped_column(Integer, default=0)


class ImageRow(Base):
    __tablename__ = "images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rel_path: Mapped[str] = mapped_column(String, unique=True)  # POSIX, relative to the image root
    width: Mapped[int] = mapped_column(Integer)   # after EXIF orientation
    height: Mapped[int] = mapped_column(Integer)  # after EXIF orientation
    orientation: Mapped[int] = mapped_column(Integer, default=1)  # EXIF tag 274 as found in the file
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id", ondelete="SET NULL"), nullable=True)
    split: Mapped[str] = mapped_column(String, default="train")
    review: Mapped[str] = mapped_column(String, default="unreviewed")   # unreviewed | verified
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)       # "needs a second look"
    content_hash: Mapped[str] = mapped_column(String, index=True)
    file_size: Mapped[int] = mapped_column(Integer, default=0)
    # st_mtime_ns when the file was last hashed; with the size it lets a re-scan skip unchanged files
    file_mtime_ns: Mapped[int] = mapped_column(BigInteger, default=0)
    missing: Mapped[bool] = mapped_column(Boolean, default=False)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (
        CheckConstraint(f"split IN {SPLITS}", name="ck_images_split"),
        CheckConstraint(f"review IN {REVIEW_STATES}", name="ck_images_review"),
        Index("ix_images_class_split", "class_id", "split"),
    )


class AttentionMapRow(Base):
    __tablename__ = "attention_maps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    backbone: Mapped[str] = mapped_column(String)  # backbone key + input size, e.g. "dinov2_s14@448"
    head: Mapped[int] = mapped_column(Integer)     # 0..H-1, or -1 for the mean over heads
    grid_h: Mapped[int] = mapped_column(Integer)
    grid_w: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # float16, row-major grid_h x grid_w
    __table_args__ = (UniqueConstraint("image_id", "backbone", "head", name="uq_attention"),)


class ProposalRow(Base):
    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    x0: Mapped[float] = mapped_column(Float)
    y0: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    source_map: Mapped[int] = mapped_column(Integer)  # head index, -1 = mean map
    score: Mapped[float] = mapped_column(Float)       # ranking score (true-class prob with size prior)
    class_prob: Mapped[float] = mapped_column(Float, default=0.0)  # raw f_x(X_bx)_y
    rank: Mapped[int] = mapped_column(Integer)        # 1 = best
    status: Mapped[str] = mapped_column(String, default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (CheckConstraint(f"status IN {PROPOSAL_STATES}", name="ck_proposals_status"),)


class BoxRow(Base):
    """A curated box: drawn, accepted, edited or imported by a person. Never overwritten by a machine."""
    __tablename__ = "boxes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id", ondelete="SET NULL"), nullable=True)
    x0: Mapped[float] = mapped_column(Float)
    y0: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String, default="manual")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="SET NULL"), nullable=True)
    # the predicted box this one was accepted from (schema 6)
    predicted_box_id: Mapped[int | None] = mapped_column(ForeignKey("predicted_boxes.id", ondelete="SET NULL"),
                                                         nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    __table_args__ = (CheckConstraint(f"source IN {BOX_SOURCES}", name="ck_boxes_source"),)


class GtBoxRow(Base):
    """Ground truth imported for evaluation; kept apart from curated boxes."""
    __tablename__ = "gt_boxes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id", ondelete="SET NULL"), nullable=True)
    x0: Mapped[float] = mapped_column(Float)
    y0: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)


class TrainingRunRow(Base):
    __tablename__ = "training_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String, default="running")
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    history: Mapped[list] = mapped_column(JSON, default=list)   # one dict per epoch
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)   # e.g. val accuracy
    checkpoint_path: Mapped[str | None] = mapped_column(String, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (CheckConstraint(f"status IN {RUN_STATES}", name="ck_runs_status"),)


class PredictionRunRow(Base):
    __tablename__ = "prediction_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    training_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("training_runs.id", ondelete="SET NULL"), nullable=True)
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PredictionRow(Base):
    __tablename__ = "predictions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("prediction_runs.id", ondelete="CASCADE"), index=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    class_probs: Mapped[list] = mapped_column(JSON, default=list)  # ordered by class position
    map_h: Mapped[int] = mapped_column(Integer)
    map_w: Mapped[int] = mapped_column(Integer)
    map_data: Mapped[bytes] = mapped_column(LargeBinary)  # float16 foreground probability
    __table_args__ = (UniqueConstraint("run_id", "image_id", name="uq_prediction"),)


class PredictedBoxRow(Base):
    __tablename__ = "predicted_boxes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction_id: Mapped[int] = mapped_column(ForeignKey("predictions.id", ondelete="CASCADE"), index=True)
    x0: Mapped[float] = mapped_column(Float)
    y0: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)   # core/dips/map_boxes.py's score x P(the image shows an object)
    # the inspector's decision (schema 6): accepted = copied into a curated box, rejected = not an object
    status: Mapped[str] = mapped_column(String, default="pending")
    __table_args__ = (CheckConstraint(f"status IN {PROPOSAL_STATES}", name="ck_predicted_boxes_status"),)
