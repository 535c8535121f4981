"""Runs stages in order on a run directory and keeps the run manifest.

The manifest (``RUN/manifest.json``) records, for each stage, the hash of its
inputs and of the settings that affect it, the code version, the backend/model
that ran, counts and wall time.  A stage whose recorded hashes still match and
whose outputs are intact is skipped, so re-running an unchanged run is cheap.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import stat
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.discovery import discover
from pipeline.errors import OfflineFallbackWarning, RejectedInputsWarning, UsageError
from pipeline.preflight import check_request
from pipeline.rundir import MANIFEST, REJECTED, REPORT_HTML, RunDir, RunFileError
from pipeline.settings import Settings
from pipeline.stage import STAGE_ORDER, STAGES, Stage, StageResult, StageSpec

__all__ = ["STAGES", "STAGE_ORDER", "Pipeline", "RunSummary", "format_counts", "run"]

log = logging.getLogger("pipeline")
log.addHandler(logging.NullHandler())  # a library logs; the application decides where it goes


def _spec(name: str) -> StageSpec:
    try:
        return STAGES[name]
    except KeyError:
        raise UsageError(f"unknown stage {name!r}; stages are: {', '.join(STAGE_ORDER)}") from None


@dataclass
class RunSummary:
    """What ``pipeline.run`` returns: the run directory, what each stage did, and its tables.

    ``counts`` holds every requested stage's counts, those of skipped stages read back
    from the manifest, so a rerun that skips ingest still knows what it rejected.
    """

    run: RunDir
    results: dict[str, StageResult] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.run.path

    @property
    def rejected(self) -> int:
        return int(self.counts.get("ingest", {}).get("rejected", 0))

    @property
    def report(self) -> Path | None:
        """``RUN/report.html``, when the report stage has written it."""
        return self.run.file(REPORT_HTML) if self.run.exists(REPORT_HTML) else None

    @property
    def exit_code(self) -> int:
        """The CLI's exit status for this run: 3 when inputs were rejected, else 0."""
        return 3 if self.rejected else 0

    def load(self) -> Any:
        """The run's tables as a ``datasets.DatasetDict`` (see :func:`pipeline.export.load_run`)."""
        from pipeline.export import load_run

        return load_run(self.run.path)

    def __str__(self) -> str:
        done = ", ".join(f"{name}: {format_counts(c)}" for name, c in self.counts.items())
        return f"{self.run.path} ({done})"


Progress = Callable[[str, str], None]  # (stage name, message)


class Pipeline:
    """Library entry point: ``Pipeline(settings).run(paths, out)``.

    >>> Pipeline().settings.summarize.target_words
    40
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

        A usage mistake (:func:`pipeline.preflight.check_request`) raises
        :class:`~pipeline.errors.UsageError` before anything is written.  The engine
        (:mod:`pipeline.engines`) decides where the per-article work runs.
        """
        from pipeline.engines import get_engine  # ray is imported only if the settings ask for it

        check_request(self.settings, paths, out, stages)
        run = RunDir(out).ensure()
        with run.exclusive():
            summary = get_engine(self.settings.engine.name).run(self, paths, run, stages, force)
        if summary.rejected:
            message = f"{summary.rejected} input(s) rejected: see {run.file(REJECTED)}"
            log.warning(message)
            warnings.warn(message, RejectedInputsWarning, stacklevel=2)
        return summary

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
            verify_reads(spec, run)
            # Before running: an input or code edit made meanwhile must rerun the stage next time.
            now = self.fingerprint(spec, run, paths)
            if not force and self.unchanged(spec, run, now):
                self.progress(name, "unchanged, skipped")
                summary.skipped.append(name)
                summary.counts[name] = dict(load_manifest(run)["stages"][name].get("counts") or {})
                continue
            if spec.reads_input_paths and not paths:
                raise UsageError(f"the {name} stage needs input paths")
            stage = spec.load()(self.settings, *([paths] if spec.reads_input_paths else []))
            summary.results[name] = result = self.run_stage(stage, run, now)
            summary.counts[name] = dict(result.counts)
        return summary

    def fingerprint(
        self, spec: StageSpec, run: RunDir, paths: Sequence[str | os.PathLike[str]] | None = None
    ) -> tuple[str, str, str]:
        """(inputs, config, code) hashes of ``spec`` now, from its declaration alone (not its code)."""
        config = hashlib.sha256(json.dumps(spec.config(self.settings), sort_keys=True).encode()).hexdigest()
        return inputs_sha256(spec, run, paths), config, spec.code_version()

    def unchanged(self, spec: StageSpec, run: RunDir, now: tuple[str, str, str]) -> bool:
        """Whether the manifest shows ``spec`` ran on the ``now`` fingerprint and its outputs are intact."""
        previous = load_manifest(run)["stages"].get(spec.name) or {}
        recorded = tuple(previous.get(f) for f in ("inputs_sha256", "config_sha256", "code_version"))
        outputs = previous.get("outputs_sha256") or {}
        if recorded != now:
            changed = [
                w for w, a, b in zip(("inputs", "settings", "code"), recorded, now, strict=True) if a != b
            ]
            log.debug("rerun: %s changed since the last run", ", ".join(changed), extra={"stage": spec.name})
        elif not (
            outputs and all(run.exists(n) and file_sha256(run.file(n)) == h for n, h in outputs.items())
        ):
            log.debug("rerun: outputs missing or edited since the last run", extra={"stage": spec.name})
        else:
            return True
        return False

    def run_stage(self, stage: Stage, run: RunDir, now: tuple[str, str, str]) -> StageResult:
        """Run one stage unconditionally and record it, with ``now`` (its prior :meth:`fingerprint`)."""
        spec = stage.spec
        self.progress(spec.name, "running")
        started = time.perf_counter()
        result = stage.run(run)
        wall = time.perf_counter() - started
        manifest = load_manifest(run)  # re-read: the stage itself may have written it
        manifest["stages"][spec.name] = {
            **dict(zip(("inputs_sha256", "config_sha256", "code_version"), now, strict=True)),
            "outputs_sha256": {n: file_sha256(run.file(n)) for n in spec.writes if run.exists(n)},
            **{k: getattr(result, k) for k in ("counts", "backend", "model", "revision", "notes")},
            "wall_s": round(wall, 3),
            "skipped": False,
        }
        run.write_json(MANIFEST, manifest)
        report_notes(spec.name, result, self.settings)
        self.progress(spec.name, f"done in {wall:.1f}s {format_counts(result.counts)}")
        return result


def verify_reads(spec: StageSpec, run: RunDir) -> None:
    """Refuse (:class:`RunFileError`) a run file ``spec`` reads that is not what its writer recorded
    in the manifest: a file cut short (full disk, copy, editor) still parses, as part of the data."""
    stages = load_manifest(run)["stages"]
    for name in spec.reads:
        writer = next((s.name for s in STAGES.values() if name in s.writes), "")
        recorded = ((stages.get(writer) or {}).get("outputs_sha256") or {}).get(name)
        if recorded is None or (run.exists(name) and file_sha256(run.file(name)) == recorded):
            continue
        problem = (
            "differs from what it wrote (truncated, torn or edited)" if run.exists(name) else "is missing"
        )
        raise RunFileError(
            f"{run.file(name)} {problem}: the manifest records the file {writer} wrote. "
            f"Run `pipeline {writer}` again (with --force) to rebuild it before {spec.name}."
        )


def format_counts(counts: dict[str, Any]) -> str:
    """``key=value`` pairs, machine-readable (``in=5 out=5 rejected=0``), not a dict repr.

    >>> format_counts({"out": 5, "in": 6})
    'in=6 out=5'
    """
    return " ".join(f"{key}={counts[key]}" for key in sorted(counts))


def report_notes(stage: str, result: StageResult, settings: Settings) -> None:
    """A stage's notes as ``logging`` records of the ``pipeline`` logger; an ``auto`` backend
    that fell back to the offline path is also a warning (:class:`OfflineFallbackWarning`)."""
    section = getattr(settings, stage, None)
    fell_back = getattr(section, "backend", None) == "auto" and (result.backend or "").lower().startswith(
        ("offline", "apertium", "extractive")
    )
    for note in result.notes:
        log.info(note, extra={"stage": stage})
    if fell_back:
        message = f"{stage}: no neural model on this machine; used the offline backend {result.backend!r}"
        log.warning(message, extra={"stage": stage})
        warnings.warn(message, OfflineFallbackWarning, stacklevel=4)  # the caller of Pipeline.run


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
    """The file's SHA-256; remembered per (inode, size, mtime), as the skip and integrity checks share it."""
    st = path.stat()
    return _file_sha256(str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _file_sha256(path: str, *identity: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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


def run(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    settings: Settings | None = None,
    stages: Sequence[str] = STAGE_ORDER,
    engine: str | None = None,
) -> RunSummary:
    """Run the whole pipeline: ``pipeline.run(["corpus/articles"], out="runs/x")``.

    Returns a :class:`RunSummary`: ``.path``, ``.counts`` per stage, ``.rejected``,
    ``.report`` (the HTML file) and ``.load()`` (the tables as a ``datasets.DatasetDict``).
    ``engine="ray"`` overrides ``settings.engine.name`` (:mod:`pipeline.engines`).
    """
    settings = settings or Settings()
    if engine is not None:
        settings = settings.replace({"engine.name": engine})
    return Pipeline(settings).run(paths, out, stages)
