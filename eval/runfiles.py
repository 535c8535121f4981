"""Everything a run directory holds, loaded once, with a note for each file that is missing.

Both the score and report stages read a run through this, so a run where some
stages did not run (or failed) is scored and reported as far as it goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.records import Article, Cluster, Passage, Rejection, Summary, Translation
from pipeline.rundir import (
    ARTICLES,
    CLUSTERS,
    MANIFEST,
    PASSAGES,
    REJECTED,
    SCORES,
    SUMMARIES,
    TRANSLATIONS,
    RunDir,
)

# Which stage writes each file, and the command that makes it, for "what is missing" notes.
PRODUCERS = {
    ARTICLES: ("ingest", "pipeline ingest INPUTS --out RUN"),
    PASSAGES: ("dedup", "pipeline dedup RUN"),
    CLUSTERS: ("dedup", "pipeline dedup RUN"),
    SUMMARIES: ("summarize", "pipeline summarize RUN"),
    TRANSLATIONS: ("translate", "pipeline translate RUN"),
    SCORES: ("score", "pipeline score RUN"),
}


@dataclass
class RunRecords:
    articles: list[Article] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    translations: list[Translation] = field(default_factory=list)
    scores: dict[str, Any] | None = None
    manifest: dict[str, Any] | None = None  # the runner's record of each stage (notes, backend)
    present: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # file -> why it could not be read

    def has(self, name: str) -> bool:
        return self.present.get(name, False) and name not in self.errors

    def missing_notes(self, names: tuple[str, ...] = tuple(PRODUCERS)) -> list[str]:
        notes = []
        for name in names:
            stage, command = PRODUCERS[name]
            if name in self.errors:
                notes.append(f"{name} could not be read ({self.errors[name]})")
            elif not self.present.get(name, False):
                notes.append(f"{name} is missing: the {stage} stage has not run (`{command}`)")
        return notes

    def article_by_id(self) -> dict[str, Article]:
        return {a.id: a for a in self.articles}

    def article_by_name(self) -> dict[str, Article]:
        return {a.name: a for a in self.articles}

    def name_of(self, article_id: str) -> str:
        article = self.article_by_id().get(article_id)
        return article.name if article else article_id


def load_run(run: RunDir) -> RunRecords:
    """Read every known file of ``run``; a file that is absent or unreadable is noted, not fatal."""
    records = RunRecords()
    typed = [
        (ARTICLES, Article, "articles"),
        (REJECTED, Rejection, "rejections"),
        (PASSAGES, Passage, "passages"),
        (CLUSTERS, Cluster, "clusters"),
        (SUMMARIES, Summary, "summaries"),
        (TRANSLATIONS, Translation, "translations"),
    ]
    for name, cls, attr in typed:
        records.present[name] = run.exists(name)
        if records.present[name]:
            try:
                setattr(records, attr, run.read_records(name, cls))
            except (ValueError, TypeError, KeyError) as exc:
                records.errors[name] = f"{type(exc).__name__}: {exc}"
    for name, attr in ((SCORES, "scores"), (MANIFEST, "manifest")):
        records.present[name] = run.exists(name)
        if records.present[name]:
            try:
                setattr(records, attr, run.read_json(name))
            except ValueError as exc:
                records.errors[name] = f"{type(exc).__name__}: {exc}"
    return records
