"""Checks made before a run starts, so a usage mistake fails at once, with nothing written.

Settings are validated when they load (``pipeline.settings``); what remains is
what depends on the request: the input paths, the run directory, and the models
the settings name.  All of it is cheap (a directory walk, a TOML read): no stage
code is imported and no model loads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from pipeline.catalogue import UnknownModelError, get_card
from pipeline.discovery import SUPPORTED_SUFFIXES, discover
from pipeline.errors import UsageError
from pipeline.rundir import ARTICLES, MANIFEST, check_out_dir, is_run_dir
from pipeline.settings import Settings
from pipeline.stage import STAGE_ORDER, STAGES


def check_request(
    settings: Settings,
    paths: Sequence[str | os.PathLike[str]] | None,
    out: str | os.PathLike[str],
    stages: Sequence[str],
) -> None:
    """Raise :class:`UsageError` if ``stages`` cannot run on ``paths`` into ``out``."""
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise UsageError(f"unknown stage(s) {', '.join(unknown)}; stages are: {', '.join(STAGE_ORDER)}")
    if any(STAGES[s].reads_input_paths for s in stages):
        check_inputs(paths or [])
        check_out_dir(out, paths or ())
    else:
        check_run_dir(Path(out), stages[0] if stages else None)
    check_models(settings, stages)


def check_inputs(paths: Sequence[str | os.PathLike[str]]) -> None:
    """Every path named must exist, and together they must hold at least one input file."""
    if not paths:
        raise UsageError("no input paths given")
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}")
    if not any(True for _ in discover(paths)):
        names = ", ".join(str(p) for p in paths)
        raise UsageError(f"no input files in {names} (looked for {' '.join(SUPPORTED_SUFFIXES)} files)")


def check_run_dir(path: Path, first_stage: str | None = None) -> None:
    """``path`` must be a run directory that holds what ``first_stage`` reads first."""
    if path.is_file():
        raise UsageError(
            f"{path} is a file; give the run directory that holds it ({path.parent}), "
            f"made by `pipeline run PATH --out RUN` or `pipeline ingest PATH --out RUN`"
        )
    if not path.is_dir():
        raise UsageError(
            f"run directory {path} does not exist; make one with `pipeline run PATH --out {path}`"
        )
    # What the stages' library API writes has no manifest yet, but has ingest's articles.
    if not (is_run_dir(path) or (path / ARTICLES).is_file()):
        raise UsageError(
            f"{path} is not a run directory (no {MANIFEST} or {ARTICLES}); "
            f"make one with `pipeline ingest PATH --out {path}`"
        )
    # The report shows what there is; every other stage needs the articles.
    if first_stage not in (None, "report") and not (path / ARTICLES).is_file():
        raise UsageError(f"{path} has no {ARTICLES}: run `pipeline ingest PATH --out {path}` first")


def check_models(settings: Settings, stages: Sequence[str]) -> None:
    """The model keys that the stages would load name a catalogue entry or a local directory."""
    wanted = []
    if "summarize" in stages and settings.summarize.backend != "offline":
        wanted.append(("summarize.model", settings.summarize.model, "summarize"))
    if "translate" in stages and settings.translate.backend != "offline":
        wanted.append(("translate.model", settings.translate.model, "translate"))
    for setting, name, task in wanted:
        try:
            get_card(name, task=task)
        except UnknownModelError as exc:
            raise UsageError(f"{setting}: {exc.args[0]}") from None
