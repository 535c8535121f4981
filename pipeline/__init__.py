"""French news pipeline: ingest → dedup → summarise → translate → score → report.

Library use::

    import pipeline
    result = pipeline.run(["corpus/articles"], out="runs/demo")
    result.counts["ingest"], result.report       # what each stage did; RUN/report.html
    tables = pipeline.load_run("runs/demo")       # a datasets.DatasetDict of the run's tables

Each stage is also a class that works on a run directory; ``pipeline.stage.STAGES`` lists them.
"""

__version__ = "0.1.0"

from typing import Any

from pipeline.runner import Pipeline, RunSummary, run
from pipeline.settings import Settings

__all__ = ["Pipeline", "RunSummary", "Settings", "__version__", "load_run", "run"]


def load_run(run_dir: str) -> Any:
    """The tables of a run directory as a ``datasets.DatasetDict`` (see ``pipeline.export``)."""
    from pipeline.export import load_run as load  # pyarrow and datasets load only when asked

    return load(run_dir)
