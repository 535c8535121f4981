"""Offline summariser: extractive (optionally compressive) selection of article sentences.

No seq2seq weights are needed.  Sentences come from the ingest stage's spaCy
segmentation (``Article.sentences``); each is scored by

* **centrality**: TextRank (PageRank) over a sentence-similarity graph that
  averages embedding cosine (sentence-transformers) and TF-IDF cosine;
* **position**: news put the essentials first, so earlier sentences score higher;
* **entity coverage**: sentences naming the entities the text keeps coming back to.

Sentences are then picked by maximal marginal relevance (MMR) until the target
length in words is reached, skipping any sentence too similar to one already
picked, which is what keeps two reports of one event from contributing the
same fact twice.  With ``compress`` the candidates are first shortened by
:mod:`pipeline.summarize.compress`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from spacy.lang.fr.stop_words import STOP_WORDS
from spacy.language import Language

from pipeline.records import Article, Occurrence
from pipeline.summarize.compress import compress as compress_sentence
from pipeline.summarize.faithfulness import fold

SENTENCE_END = tuple('.!?»"”…)')
MIN_CANDIDATE_WORDS = 6
# Stop words as the TF-IDF tokenizer sees them (folded, split on apostrophes and hyphens).
_FOLDED_STOP_WORDS = sorted({t for w in STOP_WORDS for t in re.findall(r"\w\w+", fold(w))})


@dataclass(frozen=True)
class Weights:
    """How relevance mixes the three signals (each scaled to [0, 1] first).

    News put their essentials first, so position dominates; centrality and entity
    coverage decide among the early sentences and find late ones that matter.
    """

    centrality: float = 0.2
    position: float = 0.6
    entities: float = 0.2


@dataclass
class Candidate:
    article_id: str
    sentence: int  # index into Article.sentences
    start: int
    end: int
    original: str
    text: str  # what the summary would say: the sentence, compressed if asked
    rank: int  # order among its article's candidates (0 = lead)
    article_rank: int  # order of its article in the input
    entities: frozenset[str]
    content: frozenset[str] = frozenset()  # folded content words, for redundancy checks

    @property
    def words(self) -> int:
        return count_words(self.text)


@dataclass
class Extract:
    """One sentence of an extractive summary and where it comes from."""

    text: str
    sources: list[Occurrence]
    candidate: Candidate = field(repr=False)


def count_words(text: str) -> int:
    return len(re.findall(r"\w+(?:['’-]\w+)*", text))


class OfflineSummarizer:
    """Extractive/compressive summaries of one article or of several reports of one event.

    ``encode`` turns sentences into unit vectors (see :mod:`.embeddings`); without
    it, similarity is TF-IDF alone.
    """

    def __init__(
        self,
        nlp: Language,
        encode: Callable[[list[str]], np.ndarray] | None = None,
        *,
        target_words: int = 60,
        mmr_lambda: float = 0.6,
        compress: bool = False,
        weights: Weights = Weights(),
        duplicate_similarity: float = 0.75,
        duplicate_containment: float = 0.7,
        embedding_weight: float = 0.5,
    ):
        self.nlp = nlp
        self.encode = encode
        self.target_words = target_words
        self.mmr_lambda = mmr_lambda
        self.compress = compress
        self.weights = weights
        self.duplicate_similarity = duplicate_similarity
        self.duplicate_containment = duplicate_containment
        self.embedding_weight = embedding_weight

    def params(self) -> dict[str, object]:
        return {
            "target_words": self.target_words,
            "mmr_lambda": self.mmr_lambda,
            "compress": self.compress,
            "weights": vars(self.weights),
            "duplicate_similarity": self.duplicate_similarity,
            "duplicate_containment": self.duplicate_containment,
            "similarity": "embedding+tfidf" if self.encode else "tfidf",
            "embedding_weight": self.embedding_weight if self.encode else 0.0,
        }

    # --- public entry points ---------------------------------------------

    def summarize_article(self, article: Article) -> list[Extract]:
        return self.summarize_many([article])

    def summarize_many(
        self,
        articles: Sequence[Article],
        skip: Callable[[str, int, int], bool] | None = None,
    ) -> list[Extract]:
        """One summary of ``articles`` (one event when several); ``skip(article_id, start, end)``
        excludes sentences, e.g. repeated passages already kept elsewhere."""
        candidates = self.candidates(articles, skip)
        if not candidates:
            return []
        similarity = self.similarity(candidates)
        relevance = self.relevance(candidates, similarity)
        chosen = self.select(candidates, relevance, similarity)
        chosen.sort(key=lambda k: (candidates[k].rank, candidates[k].article_rank))
        extracts = []
        for k in chosen:
            c = candidates[k]
            sources = [Occurrence(c.article_id, c.start, c.end)]
            # Near-identical sentences of other reports say the same thing: cite them too.
            for j, other in enumerate(candidates):
                if other.article_id != c.article_id and self._is_duplicate(j, k, candidates, similarity):
                    sources.append(Occurrence(other.article_id, other.start, other.end))
            extracts.append(Extract(c.text, sources, c))
        return extracts

    # --- steps -------------------------------------------------------------

    def candidates(
        self, articles: Sequence[Article], skip: Callable[[str, int, int], bool] | None = None
    ) -> list[Candidate]:
        raw: list[tuple[int, Article, int]] = []
        for a_rank, article in enumerate(articles):
            for index, s in enumerate(article.sentences):
                if skip is not None and skip(article.id, s.start, s.end):
                    continue
                raw.append((a_rank, article, index))
        texts = [a.text[a.sentences[i].start : a.sentences[i].end].strip() for _, a, i in raw]
        docs = list(self.nlp.pipe(texts))
        keep = [
            self._is_candidate(doc) and _starts_cleanly(a, i)
            for doc, (_, a, i) in zip(docs, raw, strict=True)
        ]
        if not any(keep):  # texts without punctuation: take what has a few words
            keep = [count_words(t) >= 3 for t in texts]
        out: list[Candidate] = []
        ranks: Counter[int] = Counter()
        for (a_rank, article, index), text, doc, ok in zip(raw, texts, docs, keep, strict=True):
            if not ok:
                continue
            s = article.sentences[index]
            ents = frozenset(
                fold(e.text) for e in article.entities if e.start >= s.start and e.end <= s.end
            ) or frozenset(fold(e.text) for e in doc.ents)
            shown = compress_sentence(doc) if self.compress else text
            out.append(
                Candidate(
                    article_id=article.id,
                    sentence=index,
                    start=s.start,
                    end=s.end,
                    original=text,
                    text=shown,
                    rank=ranks[a_rank],
                    article_rank=a_rank,
                    entities=ents,
                    content=frozenset(_content_words(text)),
                )
            )
            ranks[a_rank] += 1
        return out

    @staticmethod
    def _is_candidate(doc) -> bool:  # type: ignore[no-untyped-def]
        text = doc.text.strip()
        if count_words(text) < MIN_CANDIDATE_WORDS or not text.endswith(SENTENCE_END):
            return False  # headings, bylines, captions
        return any(t.pos_ in ("VERB", "AUX") for t in doc)

    def similarity(self, candidates: list[Candidate]) -> np.ndarray:
        texts = [c.original for c in candidates]
        sims = _tfidf_similarity(texts)
        if self.encode is not None:
            vectors = self.encode(texts)
            w = self.embedding_weight
            sims = (1.0 - w) * sims + w * np.clip(vectors @ vectors.T, 0.0, 1.0)
        np.fill_diagonal(sims, 1.0)
        return sims

    def relevance(self, candidates: list[Candidate], similarity: np.ndarray) -> np.ndarray:
        centrality = _scale(textrank(similarity))
        position = np.array([1.0 / math.sqrt(1.0 + c.rank) for c in candidates])
        # An entity matters as much as the number of sentences (or reports) naming it.
        mentions: Counter[str] = Counter()
        for c in candidates:
            mentions.update(c.entities)
        weight = {e: math.log1p(n) for e, n in mentions.items()}
        entities = _scale(np.array([sum(weight[e] for e in c.entities) for c in candidates]))
        w = self.weights
        return w.centrality * centrality + w.position * position + w.entities * entities

    def select(self, candidates: list[Candidate], relevance: np.ndarray, similarity: np.ndarray) -> list[int]:
        """MMR under a word budget; near-duplicates of a picked sentence are never picked."""
        budget = self.target_words
        chosen: list[int] = []
        used = 0
        while True:
            best, best_score = None, -math.inf
            for k, c in enumerate(candidates):
                if k in chosen:
                    continue
                # A sentence is added only if it brings the length closer to the target.
                if chosen and abs(used + c.words - budget) >= abs(used - budget):
                    continue
                if any(self._is_duplicate(k, j, candidates, similarity) for j in chosen):
                    continue
                redundancy = max((similarity[k, j] for j in chosen), default=0.0)
                score = self.mmr_lambda * relevance[k] - (1.0 - self.mmr_lambda) * redundancy
                if score > best_score:
                    best, best_score = k, score
            if best is None:
                return chosen
            chosen.append(best)
            used += candidates[best].words
            if used >= budget - MIN_CANDIDATE_WORDS // 2:
                return chosen

    def _is_duplicate(self, a: int, b: int, candidates: list[Candidate], similarity: np.ndarray) -> bool:
        if similarity[a, b] >= self.duplicate_similarity:
            return True
        x, y = candidates[a].content, candidates[b].content
        if not x or not y:
            return False
        return len(x & y) / min(len(x), len(y)) >= self.duplicate_containment


def _starts_cleanly(article: Article, index: int) -> bool:
    """Whether sentence ``index`` really starts a sentence: it opens its paragraph or follows
    one that ended.  Segmentation leaves fragments after a lone "«" or an unpunctuated line."""
    if index == 0:
        return True
    prev, cur = article.sentences[index - 1], article.sentences[index]
    if prev.paragraph != cur.paragraph:
        return True
    return article.text[prev.start : prev.end].rstrip().endswith(SENTENCE_END)


def textrank(similarity: np.ndarray, damping: float = 0.85, iterations: int = 100) -> np.ndarray:
    """PageRank scores of the weighted sentence graph (self-loops removed)."""
    n = similarity.shape[0]
    if n == 1:
        return np.ones(1)
    graph = similarity.copy()
    np.fill_diagonal(graph, 0.0)
    out = graph.sum(axis=1, keepdims=True)
    transition = np.divide(graph, out, out=np.full_like(graph, 1.0 / n), where=out > 0)
    scores = np.full(n, 1.0 / n)
    for _ in range(iterations):
        new = (1 - damping) / n + damping * transition.T @ scores
        if np.abs(new - scores).sum() < 1e-9:
            return new
        scores = new
    return scores


def _scale(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min() if values.size else 0.0
    return (values - values.min()) / span if span > 0 else np.zeros_like(values, dtype=float)


def _content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"\w+", fold(text)) if len(w) > 2 and w not in _FOLDED_STOP_WORDS_SET]


_FOLDED_STOP_WORDS_SET = frozenset(_FOLDED_STOP_WORDS)


def _tfidf_similarity(texts: list[str]) -> np.ndarray:
    vectorizer = TfidfVectorizer(
        preprocessor=fold, token_pattern=r"(?u)\b\w\w+\b", stop_words=_FOLDED_STOP_WORDS, sublinear_tf=True
    )
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # only stop words
        return np.eye(len(texts))
    return np.asarray((matrix @ matrix.T).toarray(), dtype=float)
