"""Runs stages in order on a run directory and keeps the run manifest.

The manifest (``RUN/manifest.json``) records, for each stage, the hash of its
inputs and of the settings that affect it, the code version, the backend/model
that ran, counts and wall time.  A stage whose recorded hashes still match and
whose outputs are intact is skipped, so re-running an unchanged run is cheap.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.rundir import MANIFEST, RunDir
from pipeline.settings import Settings
from pipeline.stage import Stage, StageResult

# Stage name → "module:Class"; modules are imported only when their stage runs.
STAGES: dict[str, str] = {
    "ingest": "pipeline.ingest:IngestStage",
    "dedup": "pipeline.dedup:DedupStage",
    "summarize": "pipeline.summarize:SummarizeStage",
    "translate": "pipeline.translate:TranslateStage",
    "score": "eval.score:ScoreStage",
    "report": "eval.report:ReportStage",
}
STAGE_ORDER = tuple(STAGES)


def stage_class(name: str) -> type[Stage]:
    try:
        module_name, class_name = STAGES[name].split(":")
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; stages are: {', '.join(STAGE_ORDER)}") from None
    return getattr(importlib.import_module(module_name), class_name)


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
        """Run ``stages`` in order; ingest needs ``paths``, the others read ``out``."""
        run = RunDir(out).ensure()
        summary = RunSummary(run)
        for name in stages:
            stage = self.make_stage(name, paths)
            result = self.run_stage(stage, run, force=force)
            if result is None:
                summary.skipped.append(name)
            else:
                summary.results[name] = result
        return summary

    def make_stage(self, name: str, paths: Sequence[str | os.PathLike[str]] | None = None) -> Stage:
        cls = stage_class(name)
        if name == "ingest":
            if not paths:
                raise ValueError("the ingest stage needs input paths")
            return cls(self.settings, paths)  # type: ignore[call-arg]
        return cls(self.settings)

    def run_stage(self, stage: Stage, run: RunDir, force: bool = False) -> StageResult | None:
        """Run one stage unless the manifest shows its inputs and settings unchanged."""
        manifest = load_manifest(run)
        inputs = inputs_sha256(stage, run)
        config = config_sha256(stage)
        previous = manifest["stages"].get(stage.name)
        if not force and previous and _unchanged(previous, inputs, config, code_version(stage), run):
            self.progress(stage.name, "unchanged, skipped")
            return None
        self.progress(stage.name, "running")
        started = time.perf_counter()
        result = stage.run(run)
        wall = time.perf_counter() - started
        record = StageRecord(
            inputs_sha256=inputs,
            config_sha256=config,
            code_version=code_version(stage),
            outputs_sha256={name: file_sha256(run.file(name)) for name in stage.writes if run.exists(name)},
            counts=result.counts,
            backend=result.backend,
            model=result.model,
            revision=result.revision,
            notes=result.notes,
            wall_s=round(wall, 3),
        )
        manifest = load_manifest(run)  # re-read: the stage itself may have written it
        manifest["stages"][stage.name] = asdict(record)
        run.write_json(MANIFEST, manifest)
        for note in result.notes:
            self.progress(stage.name, note)
        self.progress(stage.name, f"done in {wall:.1f}s {result.counts}")
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


def _unchanged(previous: dict[str, Any], inputs: str, config: str, version: str, run: RunDir) -> bool:
    recorded = (previous.get("inputs_sha256"), previous.get("config_sha256"), previous.get("code_version"))
    if recorded != (inputs, config, version):
        return False
    outputs = previous.get("outputs_sha256") or {}
    return bool(outputs) and all(run.exists(n) and file_sha256(run.file(n)) == h for n, h in outputs.items())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inputs_sha256(stage: Stage, run: RunDir) -> str:
    """Hash of what a stage reads: run files, or for ingest the input files themselves."""
    digest = hashlib.sha256()
    paths = getattr(stage, "paths", None)
    if paths is not None:
        from pipeline.ingest.readers import discover  # ingest's own notion of what an input is

        for found in discover(paths):
            digest.update(str(found).encode())
            if isinstance(found, Path):
                try:
                    digest.update(file_sha256(found).encode())
                except OSError as exc:
                    digest.update(str(exc).encode())
    for name in stage.reads:
        digest.update(name.encode())
        digest.update(file_sha256(run.file(name)).encode() if run.exists(name) else b"missing")
    return digest.hexdigest()


def code_version(stage: Stage) -> str:
    """Package version plus a hash of the stage's own source files: editing a stage reruns it."""
    module = importlib.import_module(type(stage).__module__)
    source = Path(module.__file__ or "")
    # The stage's whole package: a stage is a package (pipeline/dedup/) or a module of
    # one (eval/score.py uses the rest of eval/).
    files = sorted(source.parent.rglob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def config_sha256(stage: Stage) -> str:
    return hashlib.sha256(json.dumps(stage.config(), sort_keys=True).encode()).hexdigest()


def run(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    settings: Settings | None = None,
    stages: Sequence[str] = STAGE_ORDER,
) -> RunSummary:
    """Run the whole pipeline: ``pipeline.run(["corpus/articles"], out="runs/x")``."""
    return Pipeline(settings).run(paths, out, stages)
