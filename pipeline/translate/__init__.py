"""The translate stage: English for every article and every summary.

Reads ``articles.jsonl`` (and ``summaries.jsonl`` when the summarise stage has
run), writes ``translations.jsonl``: one :class:`~pipeline.records.Translation`
per article and per summary, keeping the paragraph structure and aligning every
French sentence with its English rendering.  Sentences are translated once per
(engine, model, revision, parameters, code version, sentence) thanks to the
shared output cache (:mod:`pipeline.cache`).

Backends (``translate.backend``): ``neural`` (transformers, MarianMT by default),
``ct2`` (the same model converted to CTranslate2 int8: the fast CPU path),
``offline`` (Apertium pivot fr→es→en) and ``auto`` (the first that loads, said in
the stage notes).  See :mod:`pipeline.translate.backends`.

Quick use, without a run directory::

    english, provenance = translate_texts(["Le chat dort."], Settings.load())
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from pipeline.cache import Cache, open_cache
from pipeline.records import Article, Provenance, Summary, Translation
from pipeline.rundir import ARTICLES, SUMMARIES, TRANSLATIONS, RunDir
from pipeline.settings import Settings
from pipeline.stage import Stage, StageResult
from pipeline.translate.backends import BACKENDS, select_translator
from pipeline.translate.base import Rendered, SentenceTranslator, translate_cached
from pipeline.translate.documents import (
    Document,
    article_document,
    assemble,
    summary_document,
    text_document,
)

__all__ = [
    "BACKENDS",
    "Rendered",
    "SentenceTranslator",
    "TranslateStage",
    "select_translator",
    "translate_documents",
    "translate_texts",
]


class TranslateStage(Stage):
    """French→English for articles and summaries (see the module docstring).

    ``cache`` is any :class:`pipeline.cache.Cache`; by default the shared cache the
    settings name (:func:`pipeline.cache.open_cache`: SQLite, or nothing when
    ``cache.enabled`` is false).  ``translator`` bypasses backend selection
    (tests, benchmarks, a caller that keeps a loaded model).
    """

    name = "translate"

    def __init__(
        self,
        settings: Settings,
        *,
        cache: Cache | None = None,
        translator: SentenceTranslator | None = None,
    ):
        super().__init__(settings)
        self.cache = cache
        self.translator = translator

    def run(self, run: RunDir) -> StageResult:
        articles = run.read_records(ARTICLES, Article)
        summaries = run.read_records(SUMMARIES, Summary) if run.exists(SUMMARIES) else []
        notes: list[str] = []
        if self.translator is None:
            self.translator, notes = select_translator(self.settings)
        else:
            notes.append(
                f"translate: backend {self.translator.backend} ({self.translator.model}), given by caller"
            )
        documents: list[Document] = []
        skipped: list[str] = []
        for article in articles:
            if article.text.strip():
                documents.append(article_document(article))
            else:
                skipped.append(f"article {article.id}")
        if not run.exists(SUMMARIES):
            notes.append("translate: no summaries.jsonl in the run: only articles were translated")
        for summary in summaries:
            if summary.text.strip():
                documents.append(summary_document(summary))
            else:
                skipped.append(f"summary {summary.id}")
        if skipped:
            notes.append(f"translate: skipped {len(skipped)} empty text(s): {', '.join(skipped)}")

        if self.cache is not None:
            translations, stats = translate_documents(documents, self.translator, self.cache)
        else:
            with open_cache(self.settings) as cache:
                translations, stats = translate_documents(documents, self.translator, cache)
        run.write_records(TRANSLATIONS, translations)
        counts = {
            "articles": sum(t.kind == "article" for t in translations),
            "summaries": sum(t.kind == "summary" for t in translations),
            "skipped": len(skipped),
            **stats,
        }
        if counts["split_sentences"]:
            notes.append(
                f"translate: {counts['split_sentences']} sentence(s) longer than "
                f"{self.settings.translate.max_input_tokens} subwords were split at clause boundaries"
            )
        if counts["unknown_words"]:
            notes.append(f"translate: {counts['unknown_words']} word(s) unknown to {self.translator.backend}")
        return StageResult(
            counts=counts,
            backend=self.translator.backend,
            model=self.translator.model,
            revision=self.translator.revision,
            notes=notes,
            extra={"params": self.translator.params()},
        )


def translate_documents(
    documents: Sequence[Document], translator: SentenceTranslator, cache: Cache | None
) -> tuple[list[Translation], dict[str, int]]:
    """Translate every sentence of ``documents`` in one engine call; one record per document."""
    sentences = [s for doc in documents for s in doc.sentences()]
    rendered, stats = translate_cached(translator, sentences, cache)
    params = translator.params()
    translations: list[Translation] = []
    position = 0
    for doc in documents:
        count = sum(len(p) for p in doc.paragraphs)
        provenance = Provenance(
            backend=translator.backend,
            model=translator.model,
            revision=translator.revision,
            params=params,
            input_sha256=hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
        )
        translations.append(assemble(doc, rendered[position : position + count], provenance))
        position += count
    counts = {
        "sentences": len(sentences),
        "translated": len(stats.translated),
        "cached": stats.hits,
        "split_sentences": sum(r.split for r in rendered),
        "unknown_words": len({w for r in rendered for w in r.unknown}),
    }
    return translations, counts


def translate_texts(
    texts: Sequence[str],
    settings: Settings,
    *,
    translator: SentenceTranslator | None = None,
    cache: Cache | None = None,
    notes: list[str] | None = None,
) -> tuple[list[str], Provenance]:
    """English for free French texts (``pipeline translate --text``/stdin); paragraphs are kept.

    Sentences are split by :func:`~pipeline.translate.segment.segment_text` (no
    model to load); the shared cache is used unless ``cache`` is given.  Backend notes are appended to
    ``notes`` when a list is given.
    """
    if translator is None:
        translator, chosen = select_translator(settings)
        if notes is not None:
            notes.extend(chosen)
    documents = [text_document("text", f"text-{i}", text) for i, text in enumerate(texts)]
    if cache is not None:
        translations, _ = translate_documents(documents, translator, cache)
    else:
        with open_cache(settings) as shared:
            translations, _ = translate_documents(documents, translator, shared)
    provenance = Provenance(
        backend=translator.backend,
        model=translator.model,
        revision=translator.revision,
        params=translator.params(),
        input_sha256=hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode("utf-8")).hexdigest(),
    )
    return [t.text for t in translations], provenance
