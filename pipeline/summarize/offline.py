"""Offline summariser: extractive (optionally compressive) selection of article sentences.

An article's summary may also open with the article's title made a sentence (newsroom label
dropped, final period added: not a verbatim span of the text; see ``headline`` below).

No seq2seq weights are needed.  Candidates are ingest's sentences, repaired by
:mod:`.sentences` (glued sentences split, cut ones joined) and filtered so that a
summary never starts mid-quotation, with a lower-case continuation or with
punctuation, never cuts a sentence and never quotes without the speaker.

Each candidate gets a relevance score from one of two scorers (``scorer`` setting):

* **learned** (default): :mod:`.scorer`, a small model trained on OrangeSum's
  journalists' abstracts over the cheap features of :mod:`.features` (position,
  overlap with the title, centrality, dates, entities, quotation status...);
  every candidate of every article in a batch is scored in one call;
* **centrality** (``scorer = "centrality"``, the earlier unsupervised scorer):
  TextRank over TF-IDF (+ sentence-embedding) similarity, mixed with position and
  entity coverage.

Sentences are then picked under a word budget (``target_words``, twice that for an event): the best-scored
sentence that does not overrun the budget by more than half, then by maximal
marginal relevance (MMR) while a sentence brings the length closer to the target,
never one too similar to a sentence already picked, which is what keeps several
reports of one event from contributing the same fact twice.  With the learned scorer, one
article's summary is then chosen by :mod:`.rerank` among candidate summaries (one to three
of its best-scored sentences whose length suits the target, and MMR's pick), a model that
judges the summary as a whole (``reranker`` setting); with ``headline`` (the default), the
article's title made a sentence (:func:`.sentences.headline`) is offered too, in front of one or
two sentences, since journalists' abstracts so often restate it.  Each picked sentence of an
event summary cites its own report and every other report with a sentence holding most
of its content words (per-sentence provenance).  With ``compress`` the
picked sentences are shortened by :mod:`pipeline.summarize.compress`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from spacy.language import Language

from pipeline.records import Article, Occurrence
from pipeline.summarize.compress import compress as compress_sentence
from pipeline.summarize.faithfulness import fold
from pipeline.summarize.features import DANGLING, STOP, article_features
from pipeline.summarize.rerank import HEADLINE, SummaryReranker, candidate_summaries
from pipeline.summarize.scorer import SentenceScorer
from pipeline.summarize.sentences import Unit, count_words, headline_span, units

MIN_CANDIDATE_WORDS = 6
MAX_FIRST_OVERRUN = 1.5  # the first pick may be at most this many times the target length
# An event told by several reports gets twice one article's budget: room for what the second
# report adds (MMR keeps it from repeating the first).
EVENT_BUDGET_FACTOR = 2.0
CENTRALITY = "centrality"
Skip = Callable[[str, int, int], bool]

__all__ = [
    "CENTRALITY",
    "Candidate",
    "Extract",
    "OfflineSummarizer",
    "candidate_units",
    "count_words",
    "is_candidate",
    "textrank",
]


@dataclass(frozen=True)
class Weights:
    """How the unsupervised relevance mixes its three signals (each scaled to [0, 1] first)."""

    centrality: float = 0.2
    position: float = 0.6
    entities: float = 0.2


@dataclass
class Candidate:
    article_id: str
    sentence: int  # index into the article's units
    start: int
    end: int
    original: str
    rank: int  # order among its article's candidates (0 = lead)
    article_rank: int  # order of its article in the input
    entities: frozenset[str]
    content: frozenset[str] = frozenset()  # folded content words, for redundancy checks
    dangling: bool = False  # opens with a pronoun or connective that needs the sentence before

    @property
    def words(self) -> int:
        return count_words(self.original)


@dataclass
class Extract:
    """One sentence of an extractive summary and where it comes from (no candidate: the headline)."""

    text: str
    sources: list[Occurrence]
    candidate: Candidate | None = field(default=None, repr=False)


@dataclass
class _Pool:
    """The candidates of one summary and, per member article, its units (for features)."""

    candidates: list[Candidate]
    per_article: list[tuple[Article, list[Unit], list[Unit]]]  # (article, all units, candidate units)


@dataclass
class _Scored:
    """One summary's candidate relevance in [0, 1]; with the learned scorer, its raw scores and features."""

    relevance: np.ndarray
    scores: np.ndarray | None = None
    features: np.ndarray | None = None


class OfflineSummarizer:
    """Extractive/compressive summaries of one article or of several reports of one event.

    ``scorer`` is the learned sentence scorer; ``None`` selects the unsupervised
    centrality scorer, which uses ``encode`` (sentences to unit vectors, see
    :mod:`.embeddings`) when given, TF-IDF alone otherwise.  ``nlp`` (a spaCy
    pipeline) is needed only to compress.
    """

    def __init__(
        self,
        scorer: SentenceScorer | None = None,
        encode: Callable[[list[str]], np.ndarray] | None = None,
        nlp: Language | None = None,
        *,
        reranker: SummaryReranker | None = None,
        headline: bool = True,
        target_words: int = 40,
        mmr_lambda: float = 0.6,
        compress: bool = False,
        weights: Weights = Weights(),
        duplicate_similarity: float = 0.75,
        duplicate_containment: float = 0.7,
        support_share: float = 0.5,
        embedding_weight: float = 0.5,
        dangling_penalty: float = 0.5,
    ):
        if compress and nlp is None:
            raise ValueError("compression needs a spaCy pipeline (nlp)")
        self.scorer = scorer
        self.reranker = reranker if scorer is not None else None  # it reads the learned scores
        self.headline = headline
        self.encode = encode if scorer is None else None  # the learned scorer embeds nothing
        self.nlp = nlp
        self.target_words = target_words
        self.mmr_lambda = mmr_lambda
        self.compress = compress
        self.weights = weights
        self.duplicate_similarity = duplicate_similarity
        self.duplicate_containment = duplicate_containment
        self.support_share = support_share
        self.embedding_weight = embedding_weight
        self.dangling_penalty = dangling_penalty

    def params(self) -> dict[str, object]:
        common = {
            "target_words": self.target_words,
            "mmr_lambda": self.mmr_lambda,
            "compress": self.compress,
            "duplicate_similarity": self.duplicate_similarity,
            "duplicate_containment": self.duplicate_containment,
            "support_share": self.support_share,
        }
        if self.scorer is not None:
            reranked = (
                {}
                if self.reranker is None
                else {
                    "reranker": self.reranker.key,
                    "reranker_sha256": self.reranker.sha256,
                    "headline": self.headline,
                }
            )
            return {**common, "scorer": self.scorer.key, "scorer_sha256": self.scorer.sha256, **reranked}
        return {
            **common,
            "scorer": CENTRALITY,
            "weights": vars(self.weights),
            "similarity": "embedding+tfidf" if self.encode else "tfidf",
            "embedding_weight": self.embedding_weight if self.encode else 0.0,
            "dangling_penalty": self.dangling_penalty,
        }

    # --- public entry points ---------------------------------------------

    def summarize_article(self, article: Article) -> list[Extract]:
        return self.summarize_many([article])

    def summarize_many(self, articles: Sequence[Article], skip: Skip | None = None) -> list[Extract]:
        """One summary of ``articles`` (one event when several); ``skip(article_id, start, end)``
        excludes sentences, e.g. repeated passages already kept elsewhere."""
        return self.summarize_batch([(articles, skip)])[0]

    def summarize_batch(self, groups: Sequence[tuple[Sequence[Article], Skip | None]]) -> list[list[Extract]]:
        """One summary per ``(articles, skip)`` group; the learned scorer runs once for the whole batch."""
        pools = [self._pool(articles, skip) for articles, skip in groups]
        return [
            self._summarize_pool(pool, scored)
            for pool, scored in zip(pools, self._relevance(pools), strict=True)
        ]

    def candidates(self, articles: Sequence[Article], skip: Skip | None = None) -> list[Candidate]:
        return self._pool(articles, skip).candidates

    # --- steps -------------------------------------------------------------

    def _pool(self, articles: Sequence[Article], skip: Skip | None) -> _Pool:
        out: list[Candidate] = []
        per_article = []
        for a_rank, article in enumerate(articles):
            all_units, picked = candidate_units(article, skip)
            per_article.append((article, all_units, picked))
            for rank, u in enumerate(picked):
                ents = frozenset(
                    fold(e.text) for e in article.entities if e.start >= u.start and e.end <= u.end
                )
                out.append(
                    Candidate(
                        article_id=article.id,
                        sentence=u.index,
                        start=u.start,
                        end=u.end,
                        original=u.text,
                        rank=rank,
                        article_rank=a_rank,
                        entities=ents,
                        content=frozenset(_content_words(u.text)),
                        dangling=bool(DANGLING.match(u.text.lstrip('«" ').replace("’", "'"))),
                    )
                )
        return _Pool(out, per_article)

    def _relevance(self, pools: Sequence[_Pool]) -> list[_Scored]:
        if self.scorer is None:
            return [
                _Scored(self._centrality_relevance(p.candidates, self.similarity(p.candidates)))
                for p in pools
            ]
        blocks = [
            article_features(a, all_units, picked) for p in pools for a, all_units, picked in p.per_article
        ]
        sizes = [len(p.candidates) for p in pools]
        features = np.vstack(blocks) if blocks else np.zeros((0, 0))
        scores = self.scorer(features) if sum(sizes) else np.zeros(0)
        cuts = np.cumsum(sizes)[:-1]
        # Scaled to [0, 1] per summary, like the similarities MMR weighs them against.
        return [
            _Scored(_scale(s), s, f)
            for s, f in zip(np.split(scores, cuts), np.split(features, cuts), strict=True)
        ]

    def _summarize_pool(self, pool: _Pool, scored: _Scored) -> list[Extract]:
        candidates = pool.candidates
        if not candidates:
            return []
        similarity = self.similarity(candidates)
        budget = round(self.target_words * (EVENT_BUDGET_FACTOR if len(pool.per_article) > 1 else 1.0))
        chosen = self.select(candidates, scored.relevance, similarity, budget)
        extracts = []
        if self.reranker is not None and scored.scores is not None and len(pool.per_article) == 1:
            chosen, opening = self.rerank(pool, scored, similarity, chosen, budget)
            if opening is not None:
                article = pool.per_article[0][0]
                start, end = headline_span(article.title or "")
                extracts.append(Extract(opening, [Occurrence(article.id, start, end, "title")]))
        chosen.sort(key=lambda k: (candidates[k].article_rank, candidates[k].rank))
        texts = [candidates[k].original for k in chosen]
        if self.compress and self.nlp is not None:
            texts = [compress_sentence(doc) for doc in self.nlp.pipe(texts)]
        for k, text in zip(chosen, texts, strict=True):
            c = candidates[k]
            sources = [Occurrence(c.article_id, c.start, c.end), *self._support(c, pool)]
            extracts.append(Extract(text, sources, c))
        return extracts

    def similarity(self, candidates: list[Candidate]) -> np.ndarray:
        texts = [c.original for c in candidates]
        sims = _tfidf_similarity(texts)
        if self.encode is not None:
            vectors = self.encode(texts)
            w = self.embedding_weight
            sims = (1.0 - w) * sims + w * np.clip(vectors @ vectors.T, 0.0, 1.0)
        np.fill_diagonal(sims, 1.0)
        return sims

    def _centrality_relevance(self, candidates: list[Candidate], similarity: np.ndarray) -> np.ndarray:
        if not candidates:
            return np.zeros(0)
        centrality = _scale(textrank(similarity))
        position = np.array([1.0 / math.sqrt(1.0 + c.rank) for c in candidates])
        # An entity matters as much as the number of sentences (or reports) naming it.
        mentions: Counter[str] = Counter()
        for c in candidates:
            mentions.update(c.entities)
        weight = {e: math.log1p(n) for e, n in mentions.items()}
        entities = _scale(np.array([sum(weight[e] for e in c.entities) for c in candidates]))
        w = self.weights
        score = w.centrality * centrality + w.position * position + w.entities * entities
        # "Elle a ajouté que…", "En outre, …" read wrongly out of context.
        dangling = np.array([c.dangling for c in candidates])
        return np.where(dangling, score * self.dangling_penalty, score)

    def select(
        self, candidates: list[Candidate], relevance: np.ndarray, similarity: np.ndarray, budget: int
    ) -> list[int]:
        """MMR under a word ``budget``; near-duplicates of a picked sentence are never picked.

        The first pick is the most relevant sentence that overruns the budget by at most
        half (the shortest sentence when every one is longer).
        """
        fitting = [k for k, c in enumerate(candidates) if c.words <= MAX_FIRST_OVERRUN * budget]
        if fitting:
            first = max(fitting, key=lambda k: relevance[k])
        else:
            first = min(range(len(candidates)), key=lambda k: candidates[k].words)
        chosen = [first]
        used = candidates[first].words
        while used < budget - MIN_CANDIDATE_WORDS // 2:
            best, best_score = None, -math.inf
            for k, c in enumerate(candidates):
                if k in chosen:
                    continue
                # A sentence is added only if it brings the length closer to the target.
                if abs(used + c.words - budget) >= abs(used - budget):
                    continue
                if any(self._is_duplicate(k, j, candidates, similarity) for j in chosen):
                    continue
                redundancy = max(similarity[k, j] for j in chosen)
                score = self.mmr_lambda * relevance[k] - (1.0 - self.mmr_lambda) * redundancy
                if score > best_score:
                    best, best_score = k, score
            if best is None:
                break
            chosen.append(best)
            used += candidates[best].words
        return chosen

    def rerank(
        self, pool: _Pool, scored: _Scored, similarity: np.ndarray, mmr_choice: list[int], budget: int
    ) -> tuple[list[int], str | None]:
        """The candidate summary of one article the reranker scores best (MMR's choice is one of them):
        its candidates, and the headline it opens with (``None`` if it does not)."""
        assert self.reranker is not None and scored.scores is not None and scored.features is not None
        article, all_units, _ = pool.per_article[0]
        sets, x, opening = candidate_summaries(
            article,
            all_units[0].text,
            pool.candidates,
            scored.features,
            scored.scores,
            similarity,
            mmr_choice,
            budget,
            self.reranker.prior,
            self.headline,
        )
        best = sets[int(np.argmax(self.reranker(x)))]
        return [k for k in best if k != HEADLINE], opening if HEADLINE in best else None

    def _support(self, c: Candidate, pool: _Pool) -> list[Occurrence]:
        """Where other reports say what candidate ``c`` says: in each other article, the sentence
        holding most of its content words, when it holds at least ``support_share`` of them.
        Sentences dedup marked as repeats count: that they repeat ``c`` is why they were skipped."""
        words = c.content
        found = []
        for article, all_units, _ in pool.per_article:
            if article.id == c.article_id or not words:
                continue
            shares = [(len(words & set(_content_words(u.text))) / len(words), u) for u in all_units]
            share, unit = max(shares, key=lambda s: s[0], default=(0.0, None))
            if unit is not None and share >= self.support_share:
                found.append(Occurrence(article.id, unit.start, unit.end))
        return found

    def _is_duplicate(self, a: int, b: int, candidates: list[Candidate], similarity: np.ndarray) -> bool:
        if similarity[a, b] >= self.duplicate_similarity:
            return True
        x, y = candidates[a].content, candidates[b].content
        if not x or not y:
            return False
        return len(x & y) / min(len(x), len(y)) >= self.duplicate_containment


def candidate_units(article: Article, skip: Skip | None = None) -> tuple[list[Unit], list[Unit]]:
    """The article's units, and those a summary may use (also what the scorer is trained on)."""
    all_units = units(article)
    kept = [u for u in all_units if skip is None or not skip(article.id, u.start, u.end)]
    picked = [u for u in kept if is_candidate(u)]
    if not picked:  # texts without punctuation: take what has a few words
        picked = [u for u in kept if u.words >= 3 and u.clean_start and not u.inside_quote]
    return all_units, picked


def is_candidate(unit: Unit) -> bool:
    """Whether a unit may be a summary sentence (see the module docstring)."""
    return (
        unit.words >= MIN_CANDIDATE_WORDS
        and unit.complete
        and unit.clean_start
        and not unit.inside_quote
        and unit.balanced_quotes
        and not unit.bare_quote
    )


def textrank(similarity: np.ndarray, damping: float = 0.85) -> np.ndarray:
    """PageRank scores (networkx) of the weighted sentence graph, self-loops removed.

    >>> textrank(np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.1], [0.1, 0.1, 1.0]])).round(2)
    array([0.44, 0.44, 0.12])
    """
    import networkx as nx

    n = similarity.shape[0]
    if n == 1:
        return np.ones(1)
    graph = similarity.copy()
    np.fill_diagonal(graph, 0.0)
    # Damping bounds the error by damping**k: 1,000 iterations always reach the tolerance.
    graph_nx = nx.from_numpy_array(graph)
    ranks = nx.pagerank(graph_nx, alpha=damping, weight="weight", tol=1e-10, max_iter=1000)
    return np.array([ranks[i] for i in range(n)])


def _scale(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min() if values.size else 0.0
    return (values - values.min()) / span if span > 0 else np.zeros_like(values, dtype=float)


def _content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"\w+", fold(text)) if len(w) > 2 and w not in STOP]


def _tfidf_similarity(texts: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        preprocessor=fold, token_pattern=r"(?u)\b\w\w+\b", stop_words=sorted(STOP), sublinear_tf=True
    )
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # only stop words
        return np.eye(len(texts))
    return np.asarray((matrix @ matrix.T).toarray(), dtype=float)
