"""French news pipeline: ingest → dedup → summarise → translate → score → report.

Library use::

    import pipeline
    result = pipeline.run(["corpus/articles"], out="runs/demo")
    result.counts["ingest"], result.report       # what each stage did; RUN/report.html
    tables = pipeline.load_run("runs/demo")       # a datasets.DatasetDict of the run's tables

Each stage is also a class that works on a run directory; ``pipeline.stage.STAGES`` lists them.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.runner import Pipeline, RunSummary, run

__all__ = ["Pipeline", "RunSummary", "Settings", "__version__", "load_run", "run"]


def __getattr__(name: str) -> Any:
    # The runner (and what it imports) loads on first use: `pipeline translate --text` never needs it.
    if name in ("Pipeline", "RunSummary", "run"):
        from pipeline import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")


def load_run(run_dir: str) -> Any:
    """The tables of a run directory as a ``datasets.DatasetDict`` (see ``pipeline.export``)."""
    from pipeline.export import load_run as load  # pyarrow and datasets load only when asked

    return load(run_dir)
