"""Ingest: files → clean, structured French :class:`~pipeline.records.Article` records.

Decisions live in one module each: ``readers`` (formats), ``decoding``
(bytes → text), ``boilerplate`` (page furniture), ``metadata`` (dates, datelines),
``language`` (is it French?) and ``structure`` (paragraphs, sentences, entities).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any, TypedDict

from pipeline.cache import memoize_batch, open_cache
from pipeline.checkpoint import BatchWriter
from pipeline.fingerprints import package_version
from pipeline.ingest.boilerplate import is_heading, strip_boilerplate
from pipeline.ingest.language import language_shares
from pipeline.ingest.metadata import find_date, find_dateline, parse_date_string, split_date_marker
from pipeline.ingest.readers import RawDocument, discover, read_documents
from pipeline.ingest.structure import analyse, build_paragraphs, layout
from pipeline.progress import progress
from pipeline.records import Article, DateInfo, Rejection, Removal
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
            if isinstance(doc, Rejection):
                rejections.append(doc)
            else:
                documents.append(doc)
    articles: list[Article] = []
    for doc in documents:
        result = ingest_document(doc, config)
        if isinstance(result, Rejection):
            rejections.append(result)
        else:
            articles.append(result)
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


def _take_date_marker(lines: Sequence[str]) -> tuple[DateInfo | None, list[str], Removal | None]:
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
    """Reads input paths (not the run directory) and writes articles and rejections.

    Results are committed document by document (a killed run resumes where it
    stopped) and cached by document content (a rerun with one new file only
    analyses that file).
    """

    name = "ingest"

    def __init__(self, settings: Settings, paths: Sequence[str | os.PathLike[str]]):
        super().__init__(settings)
        self.paths = [str(p) for p in paths]

    def run(self, run: RunDir) -> StageResult:
        config = self.settings.ingest
        params = self.config()  # settings and the spaCy model version
        code = self.spec.code_version()  # the rules are the model: new rules, new outputs
        # Committed parts made under other settings or code are discarded, never mixed in.
        fingerprint = hashlib.sha256(json.dumps([params, code], sort_keys=True).encode()).hexdigest()
        items: list[tuple[str, RawDocument | Rejection]] = []
        for found in discover(self.paths):
            if isinstance(found, Rejection):
                items.append((f"path:{found.source}", found))
                continue
            for doc in read_documents(found, config.max_bytes):
                key = doc.source if isinstance(doc, Rejection) else f"{doc.source}|{doc.name}"
                items.append((f"doc:{key}", doc))
        cache_model = f"{config.spacy_model}@{package_version(config.spacy_model)}"
        hits = 0
        with (
            open_cache(self.settings) as cache,
            BatchWriter(run, ARTICLES, fingerprint=fingerprint) as articles_out,
            BatchWriter(run, REJECTED, fingerprint=fingerprint) as rejected_out,
        ):
            for key, item in progress(items, "ingest", unit="doc"):
                if key in articles_out.done_keys() and key in rejected_out.done_keys():
                    continue
                if isinstance(item, Rejection):
                    result: Article | Rejection = item
                else:
                    before = cache.hits

                    def compute(_texts: list[str], doc: RawDocument = item) -> list[_EncodedResult]:
                        return [_encode_result(ingest_document(doc, config))]

                    (payload,) = memoize_batch(
                        cache, "ingest", cache_model, code, params, [_doc_fingerprint(item)], compute
                    )
                    hits += cache.hits - before
                    result = _decode_result(payload)
                if key not in articles_out.done_keys():
                    articles_out.add(key, [result] if isinstance(result, Article) else [])
                if key not in rejected_out.done_keys():
                    rejected_out.add(key, [result] if isinstance(result, Rejection) else [])
            order = [key for key, _ in items]
            n_articles = articles_out.finalize(order)
            n_rejected = rejected_out.finalize(order)
        removed = sum(len(a.removals) for a in run.read_records(ARTICLES, Article))
        notes = [f"removed {removed} lines of page furniture"] if removed else []
        if hits:
            notes.append(f"{hits} document(s) unchanged since an earlier run, taken from the cache")
        return StageResult(
            counts={"in": n_articles + n_rejected, "out": n_articles, "rejected": n_rejected, "cached": hits},
            backend="spacy",
            model=config.spacy_model,
            revision=package_version(config.spacy_model),
            notes=notes,
        )


def _doc_fingerprint(doc: RawDocument) -> str:
    return json.dumps(dataclasses.asdict(doc), sort_keys=True, ensure_ascii=False)


class _EncodedResult(TypedDict, total=False):
    """A cached ingest outcome: exactly one of the two keys is present."""

    article: dict[str, Any]
    rejection: dict[str, Any]


def _encode_result(result: Article | Rejection) -> _EncodedResult:
    return {"article": result.to_dict()} if isinstance(result, Article) else {"rejection": result.to_dict()}


def _decode_result(payload: _EncodedResult) -> Article | Rejection:
    if "article" in payload:
        return Article.from_dict(payload["article"])
    return Rejection.from_dict(payload["rejection"])
