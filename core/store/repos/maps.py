from __future__ import annotations

from collections.abc import Collection

import numpy as np
from sqlalchemy import and_, delete, func, select

from core.store.records import PredictedBox, PredictionRecord, PredictionRunRecord
from core.store.schema import AttentionMapRow, PredictedBoxRow, PredictionRow, PredictionRunRow

MEAN_HEAD = -1  # key of the mean-over-heads attention map


def _to_blob(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float16).tobytes()


def _from_blob(b: bytes, h: int, w: int) -> np.ndarray:
    return np.frombuffer(b, dtype=np.float16).reshape(h, w).astype(np.float32)


class MapRepo:
    """Attention maps (per image, backbone and head) and prediction runs (map + boxes + class probs)."""

    def __init__(self, project):
        self.p = project

    # -- attention -------------------------------------------------------------
    def save_attention(self, image_id: int, backbone: str, heads: np.ndarray, mean: np.ndarray | None = None) -> None:
        """heads: [H, h, w]; the mean is computed when not given. Replaces earlier maps of that backbone."""
        heads = np.asarray(heads, dtype=np.float32)
        if mean is None:
            mean = heads.mean(axis=0)
        with self.p.transaction() as s:
            s.execute(delete(AttentionMapRow).where(AttentionMapRow.image_id == image_id,
                                                    AttentionMapRow.backbone == backbone))
            h, w = heads.shape[1:]
            for k, m in [(MEAN_HEAD, mean)] + list(enumerate(heads)):
                s.add(AttentionMapRow(image_id=image_id, backbone=backbone, head=int(k), grid_h=h, grid_w=w,
                                      data=_to_blob(m)))

    def attention(self, image_id: int, backbone: str | None = None) -> dict[int, np.ndarray]:
        """{head: map [h, w] float32}; head -1 is the mean. Newest backbone if none is named."""
        with self.p.read() as s:
            q = select(AttentionMapRow).where(AttentionMapRow.image_id == image_id)
            if backbone is None:
                backbone = s.scalar(q.with_only_columns(AttentionMapRow.backbone)
                                    .order_by(AttentionMapRow.id.desc()).limit(1))
                if backbone is None:
                    return {}
            rows = s.scalars(q.where(AttentionMapRow.backbone == backbone).order_by(AttentionMapRow.head)).all()
            return {r.head: _from_blob(r.data, r.grid_h, r.grid_w) for r in rows}

    def image_ids_with_attention(self, backbone: str) -> set[int]:
        with self.p.read() as s:
            return set(s.scalars(select(AttentionMapRow.image_id)
                                 .where(AttentionMapRow.backbone == backbone).distinct()).all())

    def attention_backbones(self) -> list[str]:
        with self.p.read() as s:
            return list(s.scalars(select(AttentionMapRow.backbone).distinct()).all())

    # -- predictions ------------------------------------------------------------------
    def new_prediction_run(self, training_run_id: int | None, config: dict) -> int:
        with self.p.transaction() as s:
            row = PredictionRunRow(training_run_id=training_run_id, config=config)
            s.add(row)
            s.flush()
            return row.id

    def save_prediction(self, run_id: int, image_id: int, class_probs, fg_map: np.ndarray,
                        boxes: list[tuple[float, float, float, float, float]]) -> None:
        fg_map = np.asarray(fg_map, dtype=np.float32)
        with self.p.transaction() as s:
            decided = _decided_boxes(s, image_id)   # before the run's own earlier copy of this image goes
            s.execute(delete(PredictionRow).where(PredictionRow.run_id == run_id, PredictionRow.image_id == image_id))
            row = PredictionRow(run_id=run_id, image_id=image_id, class_probs=[float(p) for p in class_probs],
                                map_h=fg_map.shape[0], map_w=fg_map.shape[1], map_data=_to_blob(fg_map))
            s.add(row)
            s.flush()
            for x0, y0, x1, y1, score in boxes:
                xyxy = (float(x0), float(y0), float(x1), float(y1))
                s.add(PredictedBoxRow(prediction_id=row.id, x0=xyxy[0], y0=xyxy[1], x1=xyxy[2], y1=xyxy[3],
                                      score=float(score), status=_kept_decision(decided, xyxy)))

    def update_prediction_run_config(self, run_id: int, extra: dict) -> None:
        """Add ``extra`` to what a prediction run records (e.g. the check of its output, once it is stored)."""
        with self.p.transaction() as s:
            row = s.get(PredictionRunRow, run_id)
            if row is not None:
                row.config = {**(row.config or {}), **extra}   # a new dict: the JSON column sees the change

    def prediction_run_config(self, run_id: int) -> dict:
        """What a prediction run was made with (e.g. its operating threshold); {} for an unknown run."""
        with self.p.read() as s:
            row = s.get(PredictionRunRow, run_id)
            return dict(row.config or {}) if row is not None else {}

    def prediction_warning(self, run_id: int | None = None) -> str | None:
        """The warning the check of a prediction run's output recorded (core/result_checks.py: a model that
        learned nothing), for run ``run_id`` or the latest; None when there is none."""
        with self.p.read() as s:
            row = (s.get(PredictionRunRow, run_id) if run_id is not None else
                   s.scalars(select(PredictionRunRow).order_by(PredictionRunRow.id.desc()).limit(1)).first())
            return ((row.config or {}).get("check") or {}).get("warning") if row is not None else None

    def prediction_runs(self) -> list[PredictionRunRecord]:
        """Every prediction run, oldest first, with the training run (the number users see) it predicted with."""
        with self.p.read() as s:
            return [PredictionRunRecord(r.id, r.training_run_id, dict(r.config or {}))
                    for r in s.scalars(select(PredictionRunRow).order_by(PredictionRunRow.id)).all()]

    def latest_run_id(self) -> int | None:
        with self.p.read() as s:
            return s.scalar(select(func.max(PredictionRow.run_id)))

    def prediction(self, image_id: int, run_id: int | None = None) -> PredictionRecord | None:
        with self.p.read() as s:
            q = select(PredictionRow).where(PredictionRow.image_id == image_id)
            q = (q.where(PredictionRow.run_id == run_id) if run_id is not None
                 else q.order_by(PredictionRow.run_id.desc()))
            row = s.scalars(q.limit(1)).first()
            if row is None:
                return None
            boxes = s.scalars(select(PredictedBoxRow).where(PredictedBoxRow.prediction_id == row.id)
                              .order_by(PredictedBoxRow.score.desc(), PredictedBoxRow.id)).all()
            run = s.get(PredictionRunRow, row.run_id)
            return PredictionRecord(row.run_id, row.image_id, list(row.class_probs),
                                    _from_blob(row.map_data, row.map_h, row.map_w),
                                    [PredictedBox(b.x0, b.y0, b.x1, b.y1, b.score, b.id, b.status) for b in boxes],
                                    run.training_run_id if run is not None else None)

    def latest_boxes_by_image(self, image_ids: Collection[int] | None = None
                              ) -> dict[int, tuple[int, list[PredictedBox]]]:
        """image id -> (run id, boxes by score) of each image's latest prediction, for every image or for
        ``image_ids`` only. Two queries whatever the number of images (an export of 100,000 images must not ask
        once per image); the maps are not read."""
        with self.p.read() as s:
            latest_q = select(PredictionRow.image_id, func.max(PredictionRow.run_id).label("run_id"))
            if image_ids is not None:
                latest_q = latest_q.where(PredictionRow.image_id.in_(list(image_ids)))
            latest = latest_q.group_by(PredictionRow.image_id).subquery()
            chosen = (select(PredictionRow.id, PredictionRow.image_id, PredictionRow.run_id)
                      .join(latest, and_(PredictionRow.image_id == latest.c.image_id,
                                         PredictionRow.run_id == latest.c.run_id)).subquery())
            out: dict[int, tuple[int, list[PredictedBox]]] = {}
            by_prediction: dict[int, list[PredictedBox]] = {}
            for pred_id, image_id, run_id in s.execute(select(chosen)).all():
                out[image_id] = (run_id, by_prediction.setdefault(pred_id, []))
            rows = s.execute(select(PredictedBoxRow.prediction_id, PredictedBoxRow.x0, PredictedBoxRow.y0,
                                    PredictedBoxRow.x1, PredictedBoxRow.y1, PredictedBoxRow.score,
                                    PredictedBoxRow.id, PredictedBoxRow.status)
                             .join(chosen, PredictedBoxRow.prediction_id == chosen.c.id)
                             .order_by(PredictedBoxRow.prediction_id, PredictedBoxRow.score.desc(),
                                       PredictedBoxRow.id)).all()
            for pred_id, x0, y0, x1, y1, score, box_id, status in rows:
                by_prediction[pred_id].append(PredictedBox(x0, y0, x1, y1, score, box_id, status))
            return out

    def prediction_run_counts(self, run_id: int) -> dict:
        """What prediction run ``run_id`` holds: ``{"images": predicted, "images_with_boxes": n, "boxes": n,
        "pending" / "accepted" / "rejected": boxes by the inspector's decision}``; one query per figure."""
        with self.p.read() as s:
            images = s.scalar(select(func.count()).select_from(PredictionRow).where(PredictionRow.run_id == run_id))
            boxes = (select(PredictedBoxRow.status, PredictionRow.image_id)
                     .join(PredictionRow, PredictedBoxRow.prediction_id == PredictionRow.id)
                     .where(PredictionRow.run_id == run_id).subquery())
            by_status = dict(s.execute(select(boxes.c.status, func.count()).group_by(boxes.c.status)).all())
            with_boxes = s.scalar(select(func.count(func.distinct(boxes.c.image_id))))
        out = {"images": int(images or 0), "images_with_boxes": int(with_boxes or 0),
               "boxes": int(sum(by_status.values()))}
        out.update({st: int(by_status.get(st, 0)) for st in ("pending", "accepted", "rejected")})
        return out

    def latest_boxes_count(self) -> tuple[int, int]:
        """(boxes, images with boxes) of every image's latest prediction: what an export of predictions writes
        (core/data/coco_export.py reads ``latest_boxes_by_image``), counted in SQL without reading them."""
        with self.p.read() as s:
            latest = (select(PredictionRow.image_id, func.max(PredictionRow.run_id).label("run_id"))
                      .group_by(PredictionRow.image_id).subquery())
            chosen = (select(PredictionRow.id, PredictionRow.image_id)
                      .join(latest, and_(PredictionRow.image_id == latest.c.image_id,
                                         PredictionRow.run_id == latest.c.run_id)).subquery())
            n, images = s.execute(select(func.count(PredictedBoxRow.id), func.count(func.distinct(chosen.c.image_id)))
                                  .join(chosen, PredictedBoxRow.prediction_id == chosen.c.id)).one()
            return int(n or 0), int(images or 0)

    def image_ids_with_prediction(self, run_id: int) -> set[int]:
        with self.p.read() as s:
            return set(s.scalars(select(PredictionRow.image_id).where(PredictionRow.run_id == run_id)).all())


# A new prediction's box this close to one the inspector already judged on the same image keeps that judgement
# (as regenerated proposals do), so a rejected box does not come back with every retraining.
KEEP_DECISION_IOU = 0.9


def _decided_boxes(s, image_id: int) -> list[tuple[tuple[float, float, float, float], str]]:
    rows = s.execute(select(PredictedBoxRow.x0, PredictedBoxRow.y0, PredictedBoxRow.x1, PredictedBoxRow.y1,
                            PredictedBoxRow.status)
                     .join(PredictionRow, PredictedBoxRow.prediction_id == PredictionRow.id)
                     .where(PredictionRow.image_id == image_id, PredictedBoxRow.status != "pending")
                     .order_by(PredictedBoxRow.id.desc())).all()
    return [((x0, y0, x1, y1), st) for x0, y0, x1, y1, st in rows]


def _kept_decision(decided, xyxy) -> str:
    from core.store.repos.proposals import _iou
    return next((st for box, st in decided if _iou(box, xyxy) >= KEEP_DECISION_IOU), "pending")
