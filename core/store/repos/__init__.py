"""Per-table queries of a Project, each one transaction per public write."""
from core.store.repos.boxes import BoxRepo  # noqa: F401
from core.store.repos.images import ImageFilter, ImageRepo  # noqa: F401
from core.store.repos.maps import MapRepo  # noqa: F401
from core.store.repos.predicted_boxes import PredictedBoxRepo  # noqa: F401
from core.store.repos.proposals import ProposalRepo  # noqa: F401
from core.store.repos.runs import RunRepo  # noqa: F401
