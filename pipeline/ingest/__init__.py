"""Ingest: files → clean, structured French :class:`~pipeline.records.Article` records.

Decisions live in one module each: ``readers`` (formats), ``decoding``
(bytes → text), ``boilerplate`` (page furniture), ``metadata`` (dates, datelines),
``language`` (is it French?) and ``structure`` (paragraphs, sentences, entities).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar

from pipeline.cache import memoize_batch, open_cache
from pipeline.checkpoint import RecordStream
from pipeline.fingerprints import package_version
from pipeline.ingest.boilerplate import is_heading, strip_boilerplate
from pipeline.ingest.language import language_shares
from pipeline.ingest.metadata import find_date, find_dateline, parse_date_string, split_date_marker
from pipeline.ingest.readers import RawDocument, discover, read_documents
from pipeline.ingest.structure import Layout, analyse_many, build_paragraphs, layout
from pipeline.progress import progress
from pipeline.records import Article, DateInfo, Entity, Rejection, Removal, Sentence
from pipeline.rundir import ARTICLES, REJECTED, RunDir
from pipeline.settings import IngestSettings, Settings
from pipeline.stage import Stage, StageResult

T = TypeVar("T")

__all__ = ["IngestStage", "ingest_document", "ingest_documents", "ingest_paths", "read_inputs"]

_LEDE_PARAGRAPHS = 3
# Documents analysed by spaCy together and committed to the cache together: big enough
# for spaCy's batching, small enough that a killed run redoes seconds of work.
_CHUNK = 32


def ingest_paths(
    paths: Iterable[str | os.PathLike[str]], settings: Settings | None = None
) -> tuple[list[Article], list[Rejection]]:
    """Ingest files and directories; every input ends as an article or a rejection."""
    config = (settings or Settings()).ingest
    articles: list[Article] = []
    rejections: list[Rejection] = []
    for result in ingest_documents(read_inputs(paths, config.max_bytes), config):
        if isinstance(result, Article):
            articles.append(result)
        else:
            rejections.append(result)
    return articles, rejections


def read_inputs(paths: Iterable[str | os.PathLike[str]], max_bytes: int) -> Iterator[RawDocument | Rejection]:
    """Every document of the inputs, read lazily, in discovery order; an input seen twice once."""
    seen: set[str] = set()
    for found in discover(paths):
        items = [found] if isinstance(found, Rejection) else read_documents(found, max_bytes)
        for item in items:
            key = _input_key(item)
            if key not in seen:
                seen.add(key)
                yield item


def _input_key(item: RawDocument | Rejection) -> str:
    return f"rejected:{item.source}" if isinstance(item, Rejection) else f"doc:{item.source}|{item.name}"


def ingest_documents(
    items: Iterable[RawDocument | Rejection], config: IngestSettings
) -> Iterator[Article | Rejection]:
    """Clean and structure documents (rejections pass through), streamed in input order.

    spaCy runs over chunks of documents at once; a document it fails on is
    rejected with the reason, and the others of its chunk go on.
    """
    for chunk in _chunks(items, _CHUNK):
        prepared = [item if isinstance(item, Rejection) else _prepare(item, config) for item in chunk]
        todo = [p for p in prepared if isinstance(p, _Prepared)]
        analysed = iter(_analyse(todo, config.spacy_model))
        for item in prepared:
            if isinstance(item, Rejection):
                yield item
                continue
            analysis = next(analysed)
            yield analysis if isinstance(analysis, Rejection) else item.article(*analysis, config.language)


def ingest_document(doc: RawDocument, config: IngestSettings) -> Article | Rejection:
    """Clean and structure one decoded document, or say why it is refused."""
    (result,) = ingest_documents([doc], config)
    return result


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _reject(doc: RawDocument, reason: str, detail: str) -> Rejection:
    return Rejection(source=doc.source, stage="ingest", reason=reason, detail=detail)


@dataclass
class _Prepared:
    """A document cleaned, checked and laid out, waiting for its spaCy analysis."""

    doc: RawDocument
    title: str | None
    body: list[str]
    share: float
    structure: Layout
    removals: list[Removal]
    marker_date: DateInfo | None

    def article(self, sentences: list[Sentence], entities: list[Entity], language: str) -> Article:
        doc, body = self.doc, self.body
        date = parse_date_string(doc.date) if doc.date else None
        date = date or self.marker_date or find_date("\n".join(body[:_LEDE_PARAGRAPHS]))
        digest = hashlib.sha256(self.structure.text.encode("utf-8")).hexdigest()
        return Article(
            id=f"{doc.name}-{digest[:12]}",
            name=doc.name,
            source=doc.source,
            text=self.structure.text,
            title=self.title,
            date=date,
            dateline=find_dateline(body[0]) if body else None,
            url=doc.url,
            outlet=doc.outlet,
            language=language,
            language_share=round(self.share, 4),
            encoding=doc.encoding,
            paragraphs=self.structure.paragraphs,
            sentences=sentences,
            entities=entities,
            removals=self.removals,
            content_sha256=digest,
        )


def _prepare(doc: RawDocument, config: IngestSettings) -> _Prepared | Rejection:
    """Everything before spaCy: boilerplate, paragraphs, title, length and language checks."""
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
        return _reject(
            doc, "too-short", f"{words} words of article text after cleaning (minimum {config.min_words})"
        )
    shares = language_shares(body)
    share = shares.get(config.language, 0.0)
    if share < config.min_language_share:
        top = max(shares, key=lambda code: shares[code])
        return _reject(
            doc,
            f"not-{config.language}",
            f"detected language {top} ({shares[top]:.0%} of the text); "
            f"{config.language} is {share:.0%}, below {config.min_language_share:.0%}",
        )
    return _Prepared(doc, title, body, share, layout(paragraphs), removals, marker_date)


def _analyse(
    prepared: Sequence[_Prepared], spacy_model: str
) -> list[tuple[list[Sentence], list[Entity]] | Rejection]:
    """spaCy over the chunk at once; if that fails, document by document, rejecting the culprits."""
    if not prepared:
        return []
    try:
        return list(analyse_many([p.structure for p in prepared], spacy_model))
    except Exception as exc:  # a bad document must not sink its chunk: find it, reject it
        if len(prepared) > 1:
            return [result for p in prepared for result in _analyse([p], spacy_model)]
        detail = f"spaCy ({spacy_model}) could not analyse it: {type(exc).__name__}: {exc}"
        return [_reject(prepared[0].doc, "analysis-failed", detail[:500])]


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

    Documents are analysed in chunks and each chunk's results are committed to the
    shared output cache (:mod:`pipeline.cache`) keyed by the document, the
    settings, the spaCy model and the ingest code: a run killed at any instant
    resumes from the committed chunks, and a rerun with one new file only
    analyses that file.  The output files are streamed to temporary files and
    renamed into place at the end, so no record is held in memory and a killed
    run leaves no partial output.
    """

    name = "ingest"

    def __init__(self, settings: Settings, paths: Sequence[str | os.PathLike[str]]):
        super().__init__(settings)
        self.paths = [str(p) for p in paths]

    def run(self, run: RunDir) -> StageResult:
        config = self.settings.ingest
        params = self.config()  # settings and the spaCy model version
        code = self.spec.code_version()  # the rules are the model: new rules, new outputs
        cache_model = f"{config.spacy_model}@{package_version(config.spacy_model)}"
        n_articles = n_rejected = hits = removed = 0
        with (
            open_cache(self.settings) as cache,
            RecordStream(run, ARTICLES) as articles_out,
            RecordStream(run, REJECTED) as rejected_out,
        ):
            documents_read = progress(read_inputs(self.paths, config.max_bytes), "ingest", unit="doc")
            for chunk in _chunks(documents_read, _CHUNK):
                documents = {_doc_fingerprint(d): d for d in chunk if isinstance(d, RawDocument)}

                def compute(fingerprints: list[str], documents: dict = documents) -> list[_EncodedResult]:
                    results = ingest_documents([documents[f] for f in fingerprints], config)
                    return [_encode_result(result) for result in results]

                before = cache.hits
                payloads = iter(
                    memoize_batch(cache, "ingest", cache_model, code, params, list(documents), compute)
                )
                hits += cache.hits - before
                for item in chunk:
                    result = item if isinstance(item, Rejection) else _decode_result(next(payloads))
                    if isinstance(result, Article):
                        articles_out.write(result)
                        n_articles += 1
                        removed += len(result.removals)
                    else:
                        rejected_out.write(result)
                        n_rejected += 1
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
