"""Runs stages in order on a run directory and keeps the run manifest.

The manifest (``RUN/manifest.json``) records, for each stage, the hash of its
inputs and of the settings that affect it, the code version, the backend/model
that ran, counts and wall time.  A stage whose recorded hashes still match and
whose outputs are intact is skipped, so re-running an unchanged run is cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.discovery import discover
from pipeline.rundir import MANIFEST, RunDir
from pipeline.settings import Settings
from pipeline.stage import STAGE_ORDER, STAGES, Stage, StageResult, StageSpec

__all__ = ["STAGES", "STAGE_ORDER", "Pipeline", "RunSummary", "run", "stage_class"]


def stage_class(name: str) -> type[Stage]:
    """The Stage class of ``name`` (this imports its module, and what that module uses)."""
    return _spec(name).load()


def _spec(name: str) -> StageSpec:
    try:
        return STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; stages are: {', '.join(STAGE_ORDER)}") from None


@dataclass
class StageRecord:
    """One stage's line in the manifest."""

    inputs_sha256: str
    config_sha256: str
    code_version: str
    outputs_sha256: dict[str, str]
    counts: dict[str, int]
    backend: str | None
    model: str | None
    revision: str | None
    notes: list[str]
    wall_s: float
    skipped: bool = False


@dataclass
class RunSummary:
    run: RunDir
    results: dict[str, StageResult] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        ingest = self.results.get("ingest")
        return ingest.counts.get("rejected", 0) if ingest else 0


Progress = Callable[[str, str], None]  # (stage name, message)


class Pipeline:
    """Library entry point: ``Pipeline(settings).run(paths, out)``.

    >>> Pipeline().settings.summarize.target_words
    60
    """

    def __init__(self, settings: Settings | None = None, progress: Progress | None = None):
        self.settings = settings or Settings()
        self.progress = progress or (lambda stage, message: None)

    def run(
        self,
        paths: Sequence[str | os.PathLike[str]] | None,
        out: str | os.PathLike[str],
        stages: Sequence[str] = STAGE_ORDER,
        force: bool = False,
    ) -> RunSummary:
        """Run ``stages`` in order; ingest needs ``paths``, the others read ``out``.

        The engine (``settings.engine.name``, :mod:`pipeline.engines`) decides where the
        per-article work runs; it calls :meth:`run_stages` for the rest.
        """
        from pipeline.engines import get_engine  # ray is imported only if the settings ask for it

        run = RunDir(out).ensure()
        with run.exclusive():
            return get_engine(self.settings.engine.name).run(self, paths, run, stages, force)

    def run_stages(
        self,
        paths: Sequence[str | os.PathLike[str]] | None,
        run: RunDir,
        stages: Sequence[str] = STAGE_ORDER,
        force: bool = False,
    ) -> RunSummary:
        """Run ``stages`` in this process on ``run``, which the caller holds (:meth:`RunDir.exclusive`)."""
        summary = RunSummary(run)
        for name in stages:
            spec = _spec(name)
            # Before running: an input or code edit made meanwhile must rerun the stage next time.
            now = self.fingerprint(spec, run, paths)
            if not force and self.unchanged(spec, run, now):
                self.progress(name, "unchanged, skipped")
                summary.skipped.append(name)
                continue
            summary.results[name] = self.run_stage(self.make_stage(name, paths), run, now)
        return summary

    def make_stage(self, name: str, paths: Sequence[str | os.PathLike[str]] | None = None) -> Stage:
        spec = _spec(name)
        if spec.reads_input_paths:
            if not paths:
                raise ValueError(f"the {name} stage needs input paths")
            return spec.load()(self.settings, paths)  # type: ignore[call-arg]
        return spec.load()(self.settings)

    def fingerprint(
        self, spec: StageSpec, run: RunDir, paths: Sequence[str | os.PathLike[str]] | None = None
    ) -> tuple[str, str, str]:
        """(inputs, config, code) hashes of ``spec`` as they are now, from its declaration alone:
        the stage's module is not imported."""
        return inputs_sha256(spec, run, paths), config_sha256(spec, self.settings), spec.code_version()

    def unchanged(self, spec: StageSpec, run: RunDir, now: tuple[str, str, str]) -> bool:
        """Whether the manifest shows ``spec`` ran on the ``now`` fingerprint and its outputs are intact."""
        previous = load_manifest(run)["stages"].get(spec.name)
        if not previous:
            return False
        recorded = (
            previous.get("inputs_sha256"),
            previous.get("config_sha256"),
            previous.get("code_version"),
        )
        if recorded != now:
            return False
        outputs = previous.get("outputs_sha256") or {}
        return bool(outputs) and all(
            run.exists(n) and file_sha256(run.file(n)) == h for n, h in outputs.items()
        )

    def run_stage(self, stage: Stage, run: RunDir, now: tuple[str, str, str] | None = None) -> StageResult:
        """Run one stage (unconditionally) and record it in the manifest.

        ``now`` is its :meth:`fingerprint` taken before it ran (computed here if not given).
        """
        spec = stage.spec
        inputs, config, code = now or self.fingerprint(spec, run, getattr(stage, "paths", None))
        self.progress(spec.name, "running")
        started = time.perf_counter()
        result = stage.run(run)
        wall = time.perf_counter() - started
        record = StageRecord(
            inputs_sha256=inputs,
            config_sha256=config,
            code_version=code,
            outputs_sha256={name: file_sha256(run.file(name)) for name in spec.writes if run.exists(name)},
            counts=result.counts,
            backend=result.backend,
            model=result.model,
            revision=result.revision,
            notes=result.notes,
            wall_s=round(wall, 3),
        )
        manifest = load_manifest(run)  # re-read: the stage itself may have written it
        manifest["stages"][spec.name] = asdict(record)
        run.write_json(MANIFEST, manifest)
        for note in result.notes:
            self.progress(spec.name, note)
        self.progress(spec.name, f"done in {wall:.1f}s {result.counts}")
        return result


def load_manifest(run: RunDir) -> dict[str, Any]:
    if run.exists(MANIFEST):
        try:
            data = run.read_json(MANIFEST)
            if isinstance(data, dict) and isinstance(data.get("stages"), dict):
                return data
        except (json.JSONDecodeError, OSError):
            pass  # an unreadable manifest only means nothing can be skipped
    return {"pipeline_version": __version__, "stages": {}}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inputs_sha256(spec: StageSpec, run: RunDir, paths: Sequence[str | os.PathLike[str]] | None = None) -> str:
    """Hash of what a stage reads: run files, and for ingest the input files themselves."""
    digest = hashlib.sha256()
    if spec.reads_input_paths and paths:
        for found in discover(paths):
            digest.update(str(found).encode())
            if isinstance(found, Path):
                try:
                    # Never open a pipe or device here: ingest rejects them, and reading would block.
                    is_file = stat.S_ISREG(found.stat().st_mode)
                    digest.update(file_sha256(found).encode() if is_file else b"not-a-file")
                except OSError as exc:
                    digest.update(str(exc).encode())
    for name in spec.reads:
        digest.update(name.encode())
        digest.update(file_sha256(run.file(name)).encode() if run.exists(name) else b"missing")
    return digest.hexdigest()


def config_sha256(spec: StageSpec, settings: Settings) -> str:
    return hashlib.sha256(json.dumps(spec.config(settings), sort_keys=True).encode()).hexdigest()


def run(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    settings: Settings | None = None,
    stages: Sequence[str] = STAGE_ORDER,
    engine: str | None = None,
) -> RunSummary:
    """Run the whole pipeline: ``pipeline.run(["corpus/articles"], out="runs/x")``.

    ``engine="ray"`` overrides ``settings.engine.name`` (:mod:`pipeline.engines`).
    """
    settings = settings or Settings()
    if engine is not None:
        settings = settings.replace({"engine.name": engine})
    return Pipeline(settings).run(paths, out, stages)
