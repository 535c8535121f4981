"""The per-article steps of the Ray engine: class-based Ray Data UDFs over Arrow batches.

Each class is built once per actor (its models and its connection to the shared cache
live as long as the actor) and called once per batch.  None of them implements a stage:
each calls the stage's own code on its batch, with the same cache keys as the local run,

* :class:`IngestFiles`: the ingest stage itself (:class:`~pipeline.ingest.IngestStage`) on a
  batch of input files, in a scratch run directory;
* :class:`EmbedArticles`: dedup's per-article embeddings (:func:`~pipeline.dedup.embed_articles`);
* :class:`SummarizeArticles`: article summaries (:func:`~pipeline.summarize.summarize_articles`
  with no clusters: event summaries are corpus-wide, made on the driver);
* :class:`TranslateArticles`: the translate stage (:class:`~pipeline.translate.TranslateStage`)
  on the batch's articles and their summaries, in a scratch run directory.

Every batch is a table of :data:`SCHEMA`: one row per ingest outcome (an article or a
rejection), records as JSON text (nested, optional fields: JSON keeps them exactly as the
run files do).

The stages' code (spaCy, torch: seconds of imports) is imported by the actors, not by this
module: the driver, which pickles these classes by reference, starts Ray without waiting for it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from pipeline.cache import open_cache
from pipeline.engines.cores import pin_to_free_cores
from pipeline.records import Article, Record, Rejection, Summary, Translation
from pipeline.rundir import ARTICLES, REJECTED, SUMMARIES, TRANSLATIONS, RunDir
from pipeline.settings import Settings

SCHEMA = pa.schema(
    [
        ("file", pa.int64()),  # the input file's position in the driver's discovery order
        ("path", pa.string()),
        ("item", pa.int64()),  # the record's position among that file's outcomes
        ("article", pa.string()),  # Article as JSON; null for a rejection
        ("rejection", pa.string()),  # Rejection as JSON
        ("summary", pa.string()),  # the article's Summary as JSON
        ("translation", pa.string()),  # the article's Translation as JSON
        ("summary_translation", pa.string()),  # its summary's Translation as JSON
    ]
)

# Called at the start of every batch with (step name, rows): tests inject a worker crash here.
BeforeBatch = Callable[[str, list[dict[str, Any]]], None]


def _json(record: Record) -> str:
    return json.dumps(record.to_dict(), ensure_ascii=False)


def _article(row: dict[str, Any]) -> Article:
    return Article.from_dict(json.loads(row["article"]))


class _Step:
    """Shared by the steps: settings, the cache connection, the batch plumbing."""

    step = ""

    def __init__(self, settings: Settings, workdir: str, before_batch: BeforeBatch | None = None):
        # Relative input paths mean what they mean on the driver (sources are part of the
        # ingest cache keys); on a cluster the driver's directory must be mounted at the same path.
        if os.path.isdir(workdir):
            os.chdir(workdir)
        if settings.engine.pin_cpus:
            pin_to_free_cores(settings.engine.num_cpus)
        self.settings = settings
        self.before_batch = before_batch
        self.cache = open_cache(settings)  # closed with the actor's process

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        if self.before_batch is not None:
            self.before_batch(self.step, rows)
        return pa.Table.from_pylist(self.process(rows), schema=SCHEMA)

    def process(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise NotImplementedError


class IngestFiles(_Step):
    """Input files → one row per article or rejection, by the ingest stage itself."""

    step = "ingest"

    def process(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from pipeline.ingest import IngestStage

        file_of = {row["path"]: row["file"] for row in rows}
        with tempfile.TemporaryDirectory(prefix="ray-ingest-") as tmp:
            shard = RunDir(tmp)
            IngestStage(self.settings, list(file_of)).run(shard)
            outcomes: list[tuple[str, Article | Rejection]] = [
                ("article", a) for a in shard.read_records(ARTICLES, Article)
            ]
            outcomes += [("rejection", r) for r in shard.read_records(REJECTED, Rejection)]
        out = []
        seen: Counter[int] = Counter()
        for column, record in outcomes:
            # A JSONL line's source is "PATH#L<n>".
            path = record.source if record.source in file_of else record.source.rpartition("#L")[0]
            file = file_of[path]
            out.append({"file": file, "path": path, "item": seen[file], column: _json(record)})
            seen[file] += 1
        return out


class EmbedArticles(_Step):
    """Each article's dedup embedding, committed to the cache; rows pass through unchanged."""

    step = "embed"

    def process(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from pipeline.dedup import embed_articles

        articles = [_article(row) for row in rows if row["article"]]
        if articles:
            embed_articles(articles, self.settings.dedup, self.cache)
        return rows


class SummarizeArticles(_Step):
    """Each article's summary (event summaries need the clusters: they are made on the driver)."""

    step = "summarize"

    def process(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from pipeline.summarize import summarize_articles

        todo = [(row, _article(row)) for row in rows if row["article"]]
        if todo:
            articles = [article for _, article in todo]
            summaries, _ = summarize_articles(
                articles, self.settings.summarize, clusters=[], cache=self.cache
            )
            by_article = {s.target: s for s in summaries}
            for row, article in todo:
                row["summary"] = _json(by_article[article.id])
        return rows


class TranslateArticles(_Step):
    """English for each article and its summary; the translator is loaded once per actor."""

    step = "translate"

    def __init__(self, settings: Settings, workdir: str, before_batch: BeforeBatch | None = None):
        from pipeline.translate import select_translator

        super().__init__(settings, workdir, before_batch)
        self.translator, _ = select_translator(settings)

    def process(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from pipeline.translate import TranslateStage

        todo = [(row, _article(row)) for row in rows if row["article"]]
        if not todo:
            return rows
        articles = [article for _, article in todo]
        summaries = [Summary.from_dict(json.loads(row["summary"])) for row in rows if row.get("summary")]
        with tempfile.TemporaryDirectory(prefix="ray-translate-") as tmp:
            shard = RunDir(tmp)
            shard.write_records(ARTICLES, articles)
            if summaries:
                shard.write_records(SUMMARIES, summaries)
            TranslateStage(self.settings, cache=self.cache, translator=self.translator).run(shard)
            translations = shard.read_records(TRANSLATIONS, Translation)
        article_of_summary = {s.id: s.target for s in summaries}
        by_article: dict[tuple[str, str], Translation] = {}
        for t in translations:
            article_id = t.target if t.kind == "article" else article_of_summary[t.target]
            by_article[(t.kind, article_id)] = t
        for row, article in todo:
            if ("article", article.id) in by_article:  # an empty text is not translated
                row["translation"] = _json(by_article[("article", article.id)])
            if ("summary", article.id) in by_article:
                row["summary_translation"] = _json(by_article[("summary", article.id)])
        return rows


class FusedSteps:
    """Several steps in one actor, one after the other on each batch (``engine.fuse_steps``)."""

    def __init__(
        self, names: list[str], settings: Settings, workdir: str, before_batch: BeforeBatch | None = None
    ):
        self.steps = [STEPS[name](settings, workdir, before_batch) for name in names]
        self.before_batch = before_batch

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        for step in self.steps:
            if self.before_batch is not None:
                self.before_batch(step.step, rows)
            rows = step.process(rows)
        return pa.Table.from_pylist(rows, schema=SCHEMA)


STEPS: dict[str, type[_Step]] = {
    "ingest": IngestFiles,
    "dedup": EmbedArticles,
    "summarize": SummarizeArticles,
    "translate": TranslateArticles,
}
