"""The stages of the product: read from the store, call the method, write back.

Every stage takes a ``Progress`` (progress events + cooperative cancel) and is resumable:
what is already up to date in the project is skipped unless ``force`` is given.
"""
from core.pipeline.attention_stage import compute_attention  # noqa: F401
from core.pipeline.config import PipelineConfig, load_config, save_config  # noqa: F401
from core.pipeline.demo import ensure_demo_project  # noqa: F401
from core.pipeline.evaluate_stage import evaluate  # noqa: F401
from core.pipeline.predict_stage import predict  # noqa: F401
from core.pipeline.proposal_stage import compute_proposals  # noqa: F401
from core.pipeline.run_all import run_all  # noqa: F401
from core.pipeline.train_stage import train  # noqa: F401
from core.pipeline.unfinished import unfinished_stages  # noqa: F401
