"""Dedup: near-duplicate passages and event clusters.

One module per decision: ``shingles`` (tokens, shingles, MinHash), ``passages``
(near-duplicate sentence and paragraph groups, MinHashLSH), ``embeddings``
(sentence-transformers model loading and batched encoding), ``entities``
(entity keys and overlap), ``dates`` (publication and mentioned dates) and
``events`` (blocking, pair scoring, average-linkage clustering).

Library use::

    result = dedup_articles(articles, settings)
    result.passages, result.clusters
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from pipeline.cache import Cache, NullCache, memoize_batch, open_cache
from pipeline.dedup.embeddings import ENCODING_VERSION, provenance
from pipeline.dedup.events import cluster_events, representation_text
from pipeline.dedup.passages import find_passages
from pipeline.fingerprints import local_files
from pipeline.loaders import embed, load_sentence_encoder
from pipeline.progress import progress
from pipeline.records import Article, Cluster, Passage, Provenance
from pipeline.rundir import ARTICLES, CLUSTERS, PASSAGES, RunDir
from pipeline.settings import DedupSettings, Settings
from pipeline.stage import Stage, StageResult

__all__ = ["DedupResult", "DedupStage", "dedup_articles", "embed_articles", "embed_cached"]

# Texts per cache commit (and progress tick): large enough to batch the encoder well,
# small enough that a killed run loses little.
_COMMIT_EVERY = 128


@dataclass
class DedupResult:
    passages: list[Passage]
    clusters: list[Cluster]
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    provenance: Provenance | None = None  # None when no embedding was needed (fewer than 2 articles)
    timings: dict[str, float] = field(default_factory=dict)  # wall and CPU seconds per phase


def dedup_articles(
    articles: Sequence[Article], settings: Settings, embedder=None, cache: Cache | None = None
) -> DedupResult:
    """Find passages and event clusters in ``articles``; never raises on odd records.

    ``embedder`` overrides the model named by ``settings.dedup.embedding_model``
    (an already loaded SentenceTransformer: benchmarks reuse one).  Article
    embeddings go through ``cache`` (:mod:`pipeline.cache`): an article seen in an
    earlier run is not encoded again, and the model is loaded only if one is new.
    Passages and clusters are always recomputed: they depend on every article.
    """
    config = settings.dedup
    notes = _input_notes(articles)
    timings: dict[str, float] = {}
    counts_extra: dict[str, int] = {}

    clock = _Clock(timings)
    with clock("passages"):
        passages = find_passages(articles, config)

    prov = None
    with clock("embed"):
        if len(articles) >= 2:
            embeddings, cached, prov = embed_articles(articles, config, cache or NullCache(), embedder)
            counts_extra["embeddings_cached"] = cached
            if cached:
                notes.append(f"{cached} of {len(articles)} article embeddings taken from the cache")
        else:
            embeddings = np.zeros((len(articles), 0), dtype=np.float32)
            notes.append("fewer than two articles: no pair to compare, no embedding model loaded")

    with clock("events"):
        clusters, pair_counts = cluster_events(articles, embeddings, config)
    if prov is not None:
        clusters = [replace(c, provenance=prov) for c in clusters]

    kinds = Counter(p.kind for p in passages)
    counts = {
        "articles": len(articles),
        "passages": len(passages),
        "sentence_groups": kinds["sentence"],
        "paragraph_groups": kinds["paragraph"],
        "clusters": len(clusters),
        "multi_article_clusters": sum(len(c.members) > 1 for c in clusters),
        **pair_counts,
        **counts_extra,
    }
    return DedupResult(passages, clusters, counts, notes, prov, timings)


def embed_articles(
    articles: Sequence[Article], config: DedupSettings, cache: Cache, embedder=None
) -> tuple[np.ndarray, int, Provenance]:
    """The per-article part of dedup: each article's embedding (one row each) through the cache,
    how many were cached, and their provenance.  An article's embedding depends on it alone, so
    engines may compute it in batches anywhere (:mod:`pipeline.engines`) and dedup finds it cached.
    """
    texts = [representation_text(a, config.embed_max_words) for a in articles]
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()
    prov = provenance(
        config.embedding_model,
        {"embed_max_words": config.embed_max_words, "normalize": True},
        digest,
    )
    embeddings, cached = embed_cached(texts, config, prov, cache, embedder)
    return embeddings, cached, prov


def embed_cached(
    texts: Sequence[str], config: DedupSettings, prov: Provenance, cache: Cache, embedder=None
) -> tuple[np.ndarray, int]:
    """Embeddings of ``texts`` (one row each) through the cache; also how many were cached.

    Committed to the cache in chunks, so a killed run keeps what it had encoded.
    """
    params = {
        **prov.params,
        "encoding": ENCODING_VERSION,
        "local_files": local_files(config.embedding_model),  # a model retrained in place
    }
    model_label = prov.model or config.embedding_model
    model = embedder

    def encode(batch: list[str]) -> list[np.ndarray]:
        nonlocal model
        if model is None:
            model = load_sentence_encoder(config.embedding_model)
        return list(embed(model, batch, config.batch_size))

    # One float32 matrix filled chunk by chunk: no second copy of every row (100k articles: 150 MB each).
    matrix: np.ndarray | None = None
    hits = cache.hits
    starts = range(0, len(texts), _COMMIT_EVERY)
    for start in progress(starts, "dedup", unit="batch"):
        chunk = texts[start : start + _COMMIT_EVERY]
        rows = memoize_batch(cache, "embedding", model_label, prov.revision, params, chunk, encode)
        if matrix is None:
            matrix = np.empty((len(texts), len(rows[0])), dtype=np.float32)
        matrix[start : start + len(rows)] = rows
    if matrix is None:
        raise ValueError("no texts to embed")
    return matrix, cache.hits - hits


class _Clock:
    """``with clock("phase"):`` adds ``phase_s`` (wall) and ``phase_cpu_s`` (this process's CPU).

    On a shared machine the wall time depends on the neighbours; CPU time does not.
    """

    def __init__(self, timings: dict[str, float]):
        self.timings = timings

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.timings[f"{phase}_s"] = time.perf_counter() - wall
            self.timings[f"{phase}_cpu_s"] = time.process_time() - cpu


def _input_notes(articles: Sequence[Article]) -> list[str]:
    """Say plainly what is odd about the input; none of it stops the stage."""
    notes = []
    if not articles:
        notes.append("no articles to deduplicate: wrote empty passages and clusters")
    empty = [a.name for a in articles if not a.sentences]
    if empty:
        notes.append(
            f"{len(empty)} article(s) without sentences (no passages from them): {', '.join(empty[:5])}"
        )
    by_content: dict[str, list[str]] = {}
    for a in articles:
        by_content.setdefault(a.content_sha256 or hashlib.sha256(a.text.encode()).hexdigest(), []).append(
            a.name
        )
    copies = [names for names in by_content.values() if len(names) > 1]
    if copies:
        shown = "; ".join(" = ".join(names) for names in copies[:5])
        notes.append(f"{sum(len(c) - 1 for c in copies)} article(s) are identical copies of others: {shown}")
    return notes


class DedupStage(Stage):
    """Reads ``articles.jsonl``; writes ``passages.jsonl`` and ``clusters.jsonl``."""

    name = "dedup"

    def run(self, run: RunDir) -> StageResult:
        articles = run.read_records(ARTICLES, Article)
        with open_cache(self.settings) as cache:
            result = dedup_articles(articles, self.settings, cache=cache)
        run.write_records(PASSAGES, result.passages)
        run.write_records(CLUSTERS, result.clusters)
        prov = result.provenance
        return StageResult(
            counts=result.counts,
            backend=prov.backend if prov else None,
            model=prov.model if prov else None,
            revision=prov.revision if prov else None,
            notes=result.notes,
            extra={"timings_s": {k: round(v, 3) for k, v in result.timings.items()}},
        )
