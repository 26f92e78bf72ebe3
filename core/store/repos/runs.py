from __future__ import annotations

from sqlalchemy import select

from core.store.records import TrainingRunRecord
from core.store.run_lock import run_is_alive
from core.store.schema import RUN_STATES, TrainingRunRow, utcnow


def _record(r: TrainingRunRow) -> TrainingRunRecord:
    return TrainingRunRecord(r.id, r.status, dict(r.config or {}), list(r.history or []), dict(r.metrics or {}),
                             r.checkpoint_path, r.error, r.started_at, r.finished_at)


class RunRepo:
    """Training runs: config, metric history per epoch, checkpoint and final status."""

    def __init__(self, project):
        self.p = project

    def start(self, config: dict) -> int:
        with self.p.transaction() as s:
            row = TrainingRunRow(config=config, status="running")
            s.add(row)
            s.flush()
            return row.id

    def update(self, run_id: int, *, history: list | None = None, metrics: dict | None = None,
               checkpoint_path: str | None = None, status: str | None = None, error: str | None = None) -> None:
        if status is not None and status not in RUN_STATES:
            raise ValueError(f"run status must be one of {RUN_STATES}")
        with self.p.transaction() as s:
            row = s.get(TrainingRunRow, run_id)
            if history is not None:
                row.history = list(history)
            if metrics is not None:
                row.metrics = dict(metrics)
            if checkpoint_path is not None:
                row.checkpoint_path = checkpoint_path
            if error is not None:
                row.error = error
            if status is not None:
                row.status = status
                if status != "running":
                    row.finished_at = utcnow()

    def get(self, run_id: int) -> TrainingRunRecord | None:
        with self.p.read() as s:
            row = s.get(TrainingRunRow, run_id)
            return _record(row) if row is not None else None

    def list(self) -> list[TrainingRunRecord]:
        with self.p.read() as s:
            return [_record(r) for r in s.scalars(select(TrainingRunRow).order_by(TrainingRunRow.id)).all()]

    def latest_finished(self) -> TrainingRunRecord | None:
        with self.p.read() as s:
            r = s.scalars(select(TrainingRunRow).where(TrainingRunRow.status == "finished")
                          .order_by(TrainingRunRow.id.desc()).limit(1)).first()
            return _record(r) if r else None

    def mark_interrupted(self) -> int:
        """Runs left 'running' by a process that has ended (killed, crashed) become 'failed'; a run whose process
        still trains (it holds its run lock, core.store.run_lock) is left alone. Returns how many were marked."""
        with self.p.read() as s:
            running = s.scalars(select(TrainingRunRow.id).where(TrainingRunRow.status == "running")).all()
        dead = [i for i in running if not run_is_alive(self.p.work_dir, i)]
        if not dead:
            return 0
        with self.p.transaction() as s:
            rows = s.scalars(select(TrainingRunRow).where(TrainingRunRow.id.in_(dead),
                                                          TrainingRunRow.status == "running")).all()
            for r in rows:
                r.status, r.error, r.finished_at = "failed", "interrupted (process ended)", utcnow()
            return len(rows)
