"""Ingest: files → clean, structured French :class:`~pipeline.records.Article` records.

Decisions live in one module each: ``readers`` (formats, discovery), ``decoding``
(bytes → text), ``boilerplate`` (page furniture), ``metadata`` (dates, datelines),
``language`` (is it French?) and ``structure`` (paragraphs, sentences, entities).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence

from pipeline.ingest.boilerplate import is_heading, strip_boilerplate
from pipeline.ingest.language import language_shares
from pipeline.ingest.metadata import find_date, find_dateline, parse_date_string, split_date_marker
from pipeline.ingest.readers import RawDocument, discover, read_documents
from pipeline.ingest.structure import analyse, build_paragraphs, layout
from pipeline.records import Article, Rejection, Removal
from pipeline.rundir import ARTICLES, REJECTED, RunDir
from pipeline.settings import IngestSettings, Settings
from pipeline.stage import Stage, StageResult

__all__ = ["IngestStage", "ingest_document", "ingest_paths"]

_LEDE_PARAGRAPHS = 3


def ingest_paths(
    paths: Iterable[str | os.PathLike[str]], settings: Settings | None = None
) -> tuple[list[Article], list[Rejection]]:
    """Ingest files and directories; every input ends as an article or a rejection."""
    config = (settings or Settings()).ingest
    documents: list[RawDocument] = []
    rejections: list[Rejection] = []
    for found in discover(paths):
        if isinstance(found, Rejection):
            rejections.append(found)
            continue
        for doc in read_documents(found, config.max_bytes):
            (rejections if isinstance(doc, Rejection) else documents).append(doc)  # type: ignore[arg-type]
    articles: list[Article] = []
    for doc in documents:
        result = ingest_document(doc, config)
        (rejections if isinstance(result, Rejection) else articles).append(result)  # type: ignore[arg-type]
    return articles, rejections


def ingest_document(doc: RawDocument, config: IngestSettings) -> Article | Rejection:
    """Clean and structure one decoded document, or say why it is refused."""

    def reject(reason: str, detail: str) -> Rejection:
        return Rejection(source=doc.source, stage="ingest", reason=reason, detail=detail)

    lines = doc.text.split("\n")
    marker_date, lines, marker_removal = _take_date_marker(lines)
    kept, removals = strip_boilerplate(lines, config.ticker_min_lines)
    if marker_removal:
        removals.insert(0, marker_removal)
    paragraphs = build_paragraphs(kept)

    title = doc.title
    if paragraphs and (
        (title and paragraphs[0][1].strip() == title.strip()) or (not title and is_heading(paragraphs[0][1]))
    ):
        title = paragraphs[0][1]
        paragraphs = paragraphs[1:]

    body = [text for _, text in paragraphs]
    words = sum(len(re.findall(r"\w+", p)) for p in body)
    if words < config.min_words:
        return reject(
            "too-short", f"{words} words of article text after cleaning (minimum {config.min_words})"
        )
    shares = language_shares(body)
    share = shares.get(config.language, 0.0)
    if share < config.min_language_share:
        top = max(shares, key=lambda code: shares[code])
        return reject(
            f"not-{config.language}",
            f"detected language {top} ({shares[top]:.0%} of the text); "
            f"{config.language} is {share:.0%}, below {config.min_language_share:.0%}",
        )

    structure = layout(paragraphs)
    sentences, entities = analyse(structure.text, structure.paragraphs, config.spacy_model)
    date = parse_date_string(doc.date) if doc.date else None
    date = date or marker_date or find_date("\n".join(body[:_LEDE_PARAGRAPHS]))
    digest = hashlib.sha256(structure.text.encode("utf-8")).hexdigest()
    return Article(
        id=f"{doc.name}-{digest[:12]}",
        name=doc.name,
        source=doc.source,
        text=structure.text,
        title=title,
        date=date,
        dateline=find_dateline(body[0]) if body else None,
        url=doc.url,
        outlet=doc.outlet,
        language=config.language,
        language_share=round(share, 4),
        encoding=doc.encoding,
        paragraphs=structure.paragraphs,
        sentences=sentences,
        entities=entities,
        removals=removals,
        content_sha256=digest,
    )


def _take_date_marker(lines: Sequence[str]) -> tuple[object, list[str], Removal | None]:
    """Split an explicit leading date marker ("date 2024-02 …") off the first non-empty line."""
    lines = list(lines)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        date, rest = split_date_marker(line)
        if date is None:
            break
        lines[i] = rest
        return date, lines, Removal(rule="date-marker", line=i + 1, text=date.raw)
    return None, lines, None


class IngestStage(Stage):
    """Reads input paths (not the run directory) and writes articles and rejections."""

    name = "ingest"
    settings_section = "ingest"
    writes = (ARTICLES, REJECTED)

    def __init__(self, settings: Settings, paths: Sequence[str | os.PathLike[str]]):
        super().__init__(settings)
        self.paths = [str(p) for p in paths]

    def run(self, run: RunDir) -> StageResult:
        articles, rejections = ingest_paths(self.paths, self.settings)
        run.write_records(ARTICLES, articles)
        run.write_records(REJECTED, rejections)
        removed = sum(len(a.removals) for a in articles)
        return StageResult(
            counts={"in": len(articles) + len(rejections), "out": len(articles), "rejected": len(rejections)},
            backend="spacy",
            model=self.settings.ingest.spacy_model,
            notes=[f"removed {removed} lines of page furniture"] if removed else [],
        )
