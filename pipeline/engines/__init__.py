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
from typing import TYPE_CHECKING, Any

from pipeline.rundir import MANIFEST, RunDir

if TYPE_CHECKING:
    from pipeline.engines.local import LocalEngine
    from pipeline.engines.ray_data import RayEngine

ENGINES = ("local", "ray")

__all__ = ["ENGINES", "get_engine", "record_engine"]


def get_engine(name: str) -> LocalEngine | RayEngine:
    """The engine called ``name``; Ray is imported only for ``"ray"``.  An engine's ``run(pipe, paths,
    run, stages, force)`` runs ``stages`` on ``run`` (held by the caller) and records itself."""
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
