"""The project store: one SQLite file per project, the single source of truth."""
from core.store.project import Project, ProjectError  # noqa: F401
from core.store.records import BoxRecord, ClassRecord, ImageRecord, ProposalRecord  # noqa: F401
