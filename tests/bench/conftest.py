from tests.core.pipeline.conftest import tiny_pipeline  # noqa: F401 - the tiny project with a tiny backbone
