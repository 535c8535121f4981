"""French news pipeline: ingest → dedup → summarise → translate → score → report.

Library use::

    import pipeline
    summary = pipeline.run(["corpus/articles"], out="runs/demo")

Each stage is also a class that works on a run directory; ``pipeline.stage.STAGES`` lists them.
"""

__version__ = "0.1.0"

from pipeline.runner import Pipeline, run
from pipeline.settings import Settings

__all__ = ["Pipeline", "Settings", "__version__", "run"]
