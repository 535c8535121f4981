"""Engines: where a run's per-article work happens.  Both give the same run directory.

* ``local`` (the default): every stage in this process, one after the other
  (:meth:`pipeline.runner.Pipeline.run_stages`).
* ``ray``: the per-article work (ingest, embeddings, article summaries, translations)
  on a Ray cluster with Ray Data, then the same stages on the driver, which find those
  outputs in the shared cache and do the corpus-wide work (:mod:`pipeline.engines.ray_data`).

Chosen by ``settings.engine.name`` (``--engine`` on ``pipeline run``, ``engine=`` in
:func:`pipeline.run`).  The manifest records which engine last ran stages (``"engine"``).
Importing this package imports neither Ray nor any stage code.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.rundir import MANIFEST, RunDir

if TYPE_CHECKING:
    from pipeline.runner import Pipeline, RunSummary

ENGINES = ("local", "ray")

__all__ = ["ENGINES", "Engine", "get_engine", "record_engine"]


class Engine(Protocol):
    name: str

    def run(
        self,
        pipe: Pipeline,
        paths: Sequence[str | os.PathLike[str]] | None,
        run: RunDir,
        stages: Sequence[str],
        force: bool,
    ) -> RunSummary:
        """Run ``stages`` on ``run`` (held by the caller) and record the engine in the manifest."""
        ...


def get_engine(name: str) -> Engine:
    """The engine called ``name``; Ray is imported only for ``"ray"``."""
    if name == "local":
        from pipeline.engines.local import LocalEngine

        return LocalEngine()
    if name == "ray":
        if importlib.util.find_spec("ray") is None:
            raise RuntimeError('the ray engine needs Ray Data: pip install "french-news-pipeline[ray]"')
        from pipeline.engines.ray_data import RayEngine

        return RayEngine()
    raise ValueError(f"engine.name must be one of {', '.join(ENGINES)}, not {name!r}")


def record_engine(run: RunDir, info: dict[str, Any]) -> None:
    """Write ``info`` as the manifest's ``engine`` entry (which engine made the stages that ran)."""
    from pipeline.runner import load_manifest

    manifest = load_manifest(run)
    manifest["engine"] = info
    run.write_json(MANIFEST, manifest)
