"""The local engine: every stage in this process (what the pipeline always did)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipeline.engines import record_engine
from pipeline.rundir import RunDir

if TYPE_CHECKING:
    from pipeline.runner import Pipeline, RunSummary


class LocalEngine:
    name = "local"

    def run(
        self,
        pipe: Pipeline,
        paths: Sequence[str | os.PathLike[str]] | None,
        run: RunDir,
        stages: Sequence[str],
        force: bool,
    ) -> RunSummary:
        summary = pipe.run_stages(paths, run, stages, force)
        if summary.results:  # a run that skipped everything leaves the record of the one that made it
            record_engine(run, {"name": self.name})
        return summary
