"""The learned summary reranker: which whole candidate summary of one article carries most of its abstract.

The sentence scorer (:mod:`.scorer`) rates sentences one at a time; a summary is judged as a
whole (ROUGE-L F of the summary against the abstract): two good sentences may say the same
thing, a good pair may run too long for the target, a short single may leave room unused.  So
for one article the summariser enumerates candidate summaries (:func:`candidate_sets`: one to
three of the top-scored sentences whose total length suits the target, plus what MMR picked)
and this model scores each from :func:`set_features` (the sentence scores, length against the
target, positions, redundancy between the sentences, coverage of the title and the lede, their
word-order and n-gram overlap with the title, the lede and the lead, the best two sentences'
own features, and how likely their words are to be in an abstract at all: :class:`WordPrior`).
The model is gradient-boosted regression trees
(scikit-learn's ``HistGradientBoostingRegressor``) trained by ``models/summary-reranker/train.py``
on OrangeSum's train split, stored as JSON node arrays (never pickle) with its SHA-256 pinned in
``models/catalogue.toml``; inference is a numpy walk down the trees.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.records import Article
from pipeline.summarize.faithfulness import fold
from pipeline.summarize.features import FEATURES, STOP
from pipeline.summarize.scorer import read_pinned, weights_file

if TYPE_CHECKING:
    from pipeline.summarize.offline import Candidate

FORMAT = "french-news-pipeline/summary-reranker-trees-v3"  # v2: with its word prior; v3: headlines
TASK = "rerank-summaries"
NO_RERANKER = "none"  # the `summarize.reranker` setting that keeps MMR's choice
TOP_K = 6  # candidate summaries are made of the article's best-scored sentences
MAX_SENTENCES = 3
# In a candidate summary, the article's headline (:func:`.sentences.headline`), before the
# article sentences it is offered with (one or two: it takes a sentence's place).  Being -1, it
# would silently index the last candidate: filter it out before indexing by a set's members.
HEADLINE = -1
# A candidate summary's length must suit the target: at most half again as long (the first-pick
# rule), at least half as long (so the target still controls the length).
MIN_LENGTH, MAX_LENGTH = 0.5, 1.5
# The word prior: a word's rate is smoothed toward the overall rate as if seen this many more
# times; words seen in fewer articles than PRIOR_MIN_SEEN take the overall rate (a small file).
PRIOR_SMOOTHING = 2.0
PRIOR_MIN_SEEN = 5

SET_FEATURES = (
    "sentences",
    "words_ratio",
    "words_excess",
    "words_gap",
    "over_target",
    "score_max",
    "score_min",
    "score_sum",
    "score_mean",
    "z_max",
    "z_min",
    "z_sum",
    "rank_min",
    "rank_max",
    "rank_sum",
    "gap_to_best",
    "index_min",
    "index_max",
    "log_index_min",
    "has_first_unit",
    "has_first_candidate",
    "adjacent",
    "index_gap",
    "redundancy_tfidf",
    "redundancy_words",
    "title_recall",
    "lede_recall",
    "log_content_words",
    "log_entities",
    "title_entities",
    "doc_similarity_max",
    "doc_similarity_mean",
    "lead_similarity_max",
    "mmr_choice",
    "log_candidates",
    "log_units",
    "best_words_ratio",
    "second_words_ratio",
    # Word-order overlap (ROUGE-L-like, folded word tokens) with the title, the lede and the first
    # two sentences, and n-gram overlap with title + lede: abstracts often rephrase them.
    "title_lcs_f",
    "title_lcs_recall",
    "title_lcs_precision",
    "lede_lcs_f",
    "lede_lcs_recall",
    "lead2_lcs_f",
    "title_lede_unigram_precision",
    "title_lede_unigram_f",
    "title_lede_bigram_f",
    # What the article is about: its ten most frequent content words covered, how frequent in the
    # article the summary's content words are, and how much of the summary is content words.
    "top_words_coverage",
    "content_frequency",
    "content_share",
    "content_distinct",
    # The word prior (:class:`WordPrior`) over the summary's words: their mean, the expected
    # number of distinct words shared with the abstract (against the target, and against the
    # article's best ``target`` words), and the mean of its ten likeliest.
    "prior_mean",
    "prior_expected",
    "prior_share",
    "prior_top10",
    # The headline: whether the summary opens with it, its length and the summary's against the
    # target, whether it is a "topic : statement" headline, and its word-order overlap with the
    # summary's sentences and with the lede (a headline that the sentences repeat adds little).
    "headline",
    "headline_words_ratio",
    "total_words_ratio",
    "total_words_gap",
    "headline_colon",
    "headline_sentences_lcs_f",
    "headline_lede_lcs_f",
    *(f"best:{f}" for f in FEATURES),
    *(f"second:{f}" for f in FEATURES),
)
_DOC = FEATURES.index("doc_similarity")
_LEAD = FEATURES.index("lead_similarity")
_UNITS = FEATURES.index("log_units")
_TOP_WORDS = 10


@dataclass(frozen=True)
class WordPrior:
    """How often a word of an OrangeSum train article is also in the article's abstract.

    Journalists carry some words over (names, figures, the event's nouns and verbs) and drop
    others; the rate is per article (a word counts once), over folded word tokens
    (:func:`_tokens`), smoothed toward the overall rate ``base``.  Counted by
    ``models/summary-reranker/train.py`` and stored in the reranker's weights file.
    """

    words: Mapping[str, float]
    base: float

    def __call__(self, token: str) -> float:
        return self.words.get(token, self.base)

    @classmethod
    def from_counts(cls, seen: Mapping[str, int], kept: Mapping[str, int]) -> WordPrior:
        """From, per word, the number of articles holding it (``seen``) and of those whose abstract does."""
        base = sum(kept.values()) / max(1, sum(seen.values()))
        words = {
            w: round((kept.get(w, 0) + PRIOR_SMOOTHING * base) / (n + PRIOR_SMOOTHING), 4)
            for w, n in sorted(seen.items())
            if n >= PRIOR_MIN_SEEN
        }
        return cls(words, round(base, 6))


def prior_counts(pairs: Iterable[tuple[str, str]]) -> tuple[Counter[str], Counter[str]]:
    """``(seen, kept)`` counts for :meth:`WordPrior.from_counts` from ``(article text, abstract)`` pairs."""
    seen: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    for text, abstract in pairs:
        words = set(_tokens(text))
        seen.update(words)
        kept.update(words.intersection(_tokens(abstract)))
    return seen, kept


def candidate_sets(
    words: Sequence[int],
    scores: np.ndarray,
    mmr_choice: Sequence[int],
    target: int,
    headline_words: int = 0,
) -> list[tuple[int, ...]]:
    """Candidate summaries (candidate indices in text order): subsets of the ``TOP_K`` best-scored
    sentences of one to ``MAX_SENTENCES`` sentences whose length suits ``target``, and MMR's choice;
    with a headline of ``headline_words`` words, also the headline (``HEADLINE``, first) followed by
    one to ``MAX_SENTENCES - 1`` of those sentences, again where the length suits the target.

    Sentences of 20, 15 and 30 words at a target of 33 (16.5 to 49.5 words), a 12-word headline:

    >>> candidate_sets([20, 15, 30], np.array([0.9, 0.5, 0.1]), [0], 33, headline_words=12)
    [(-1, 0), (-1, 0, 1), (-1, 1), (-1, 2), (0,), (0, 1), (1, 2), (2,)]
    """
    top = sorted(np.argsort(-scores, kind="stable")[:TOP_K].tolist())
    sets = {tuple(sorted(mmr_choice))}
    for m in range(1, MAX_SENTENCES + 1):
        for subset in itertools.combinations(top, m):
            total = sum(words[k] for k in subset)
            if MIN_LENGTH * target <= total <= MAX_LENGTH * target:
                sets.add(subset)
            fits = MIN_LENGTH * target <= headline_words + total <= MAX_LENGTH * target
            if headline_words and m < MAX_SENTENCES and fits:
                sets.add((HEADLINE, *subset))
    return sorted(sets)


def candidate_summaries(
    article: Article,
    lede: str,
    candidates: Sequence[Candidate],
    sentence_features: np.ndarray,
    scores: np.ndarray,
    similarity: np.ndarray,
    mmr_choice: Sequence[int],
    target: int,
    prior: WordPrior,
    offer_headline: bool = True,
) -> tuple[list[tuple[int, ...]], np.ndarray, str | None]:
    """One article's candidate summaries (:func:`candidate_sets`), their features
    (:func:`set_features`) and its headline sentence: what the summariser and the reranker's
    training both rank, built in one place so that they are built alike.

    The headline's features describe the article even where the headline is not offered
    (``offer_headline`` false): the trees learnt from articles that have one.
    """
    from pipeline.summarize.sentences import count_words, headline

    opening = headline(article.title)
    offered = count_words(opening) if opening and offer_headline else 0
    sets = candidate_sets([c.words for c in candidates], scores, mmr_choice, target, offered)
    x = set_features(
        article,
        lede,
        candidates,
        sentence_features,
        scores,
        similarity,
        sets,
        mmr_choice,
        target,
        prior,
        opening,
    )
    return sets, x, opening


def set_features(
    article: Article,
    lede: str,
    candidates: Sequence[Candidate],
    sentence_features: np.ndarray,
    scores: np.ndarray,
    similarity: np.ndarray,
    sets: Sequence[tuple[int, ...]],
    mmr_choice: Sequence[int],
    target: int,
    prior: WordPrior,
    headline: str | None = None,
) -> np.ndarray:
    """A ``(len(sets), len(SET_FEATURES))`` matrix for the candidate summaries of one article.

    ``scores`` are the sentence scorer's raw scores, ``similarity`` the TF-IDF similarity
    between candidates (the one MMR uses), ``lede`` the article's first unit, ``prior`` the
    reranker's word prior, ``headline`` the headline sentence that sets holding ``HEADLINE``
    open with.  Every feature but the headline's describes the summary's article sentences.
    """
    from pipeline.summarize.offline import _content_words
    from pipeline.summarize.sentences import count_words

    n = len(candidates)
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(n, dtype=float)
    rank[order] = np.arange(n)
    z = (scores - scores.mean()) / (scores.std() + 1e-9)
    title = article.title or ""
    title_words = frozenset(_content_words(title))
    lede_words = frozenset(_content_words(lede))
    folded_title = fold(title)
    title_entities = {fold(e.text) for e in article.entities if fold(e.text) in folded_title}
    words = np.array([c.words for c in candidates], dtype=float)
    index = np.array([c.sentence for c in candidates], dtype=float)
    mmr = tuple(sorted(mmr_choice))
    width = sentence_features.shape[1]
    tokens = [_tokens(c.original) for c in candidates]
    title_tokens, lede_tokens = _tokens(title), _tokens(lede)
    lead2_tokens = _tokens(" ".join(article.sentence_texts()[:2]))
    title_lede = title_tokens + lede_tokens
    sentence_tokens = [_tokens(text) for text in article.sentence_texts()]  # once, for both below
    frequency = Counter(t for ts in sentence_tokens for t in ts if _is_content(t))
    top_words = {w for w, _ in frequency.most_common(_TOP_WORDS)}
    rates = [[prior(t) for t in ts] for ts in tokens]
    article_words = set(title_tokens).union(*sentence_tokens)
    best_rates = sum(sorted((prior(t) for t in article_words), reverse=True)[:target]) or 1.0
    headline_tokens = _tokens(headline) if headline else []
    headline_words = count_words(headline) if headline else 0
    headline_lede = _lcs_prf(lede_tokens, headline_tokens)[2]
    rows = []
    for subset in sets:
        s = [k for k in subset if k != HEADLINE]
        opens = len(s) < len(subset)
        if opens and not headline:
            raise ValueError("a candidate summary opens with the headline, but there is none")
        summary = [t for k in s for t in tokens[k]]
        content = [t for t in summary if _is_content(t)]
        title_lcs = _lcs_prf(title_tokens, summary)
        lede_lcs = _lcs_prf(lede_tokens, summary)
        total = float(words[s].sum())
        pairs = list(itertools.combinations(s, 2))
        union = frozenset().union(*(candidates[k].content for k in s))
        entities = frozenset().union(*(candidates[k].entities for k in s))
        by_score = sorted(s, key=lambda k: -scores[k])
        summary_rates = [r for k in s for r in rates[k]]
        distinct = sorted(dict(zip(summary, summary_rates, strict=True)).values(), reverse=True)
        best, second = by_score[0], (by_score[1] if len(s) > 1 else None)
        with_headline = float(words[s].sum()) + (headline_words if opens else 0)
        rows.append(
            [
                len(s),
                total / target,
                (total - target) / target,
                abs(total - target) / target,
                float(total > target),
                scores[s].max(),
                scores[s].min(),
                scores[s].sum(),
                scores[s].mean(),
                z[s].max(),
                z[s].min(),
                z[s].sum(),
                rank[s].min(),
                rank[s].max(),
                rank[s].sum(),
                scores.max() - scores[s].max(),
                index[s].min(),
                index[s].max(),
                math.log1p(index[s].min()),
                float(index[s].min() == 0),
                float(min(s) == 0),
                float(bool(np.any(np.diff(index[s]) == 1))),
                float(np.diff(index[s]).max()) if len(s) > 1 else 0.0,
                max((similarity[i, j] for i, j in pairs), default=0.0),
                max((_jaccard(candidates[i].content, candidates[j].content) for i, j in pairs), default=0.0),
                len(union & title_words) / max(1, len(title_words)),
                len(union & lede_words) / max(1, len(lede_words)),
                math.log1p(len(union)),
                math.log1p(len(entities)),
                len(entities & title_entities) / max(1, len(title_entities)),
                sentence_features[s, _DOC].max(),
                sentence_features[s, _DOC].mean(),
                sentence_features[s, _LEAD].max(),
                float(tuple(s) == mmr),
                math.log1p(n),
                sentence_features[0, _UNITS],
                words[best] / target,
                words[second] / target if second is not None else 0.0,
                title_lcs[2],
                title_lcs[1],
                title_lcs[0],
                lede_lcs[2],
                lede_lcs[1],
                _lcs_prf(lead2_tokens, summary)[2],
                *_ngram_pf(title_lede, summary, 1),
                _ngram_pf(title_lede, summary, 2)[1],
                len(top_words.intersection(summary)) / max(1, len(top_words)),
                float(np.mean([frequency[t] for t in content])) if content else 0.0,
                len(content) / max(1, len(summary)),
                len(set(content)) / max(1, len(content)),
                float(np.mean(summary_rates)) if summary_rates else 0.0,
                sum(distinct) / target,
                sum(distinct) / best_rates,
                float(np.mean(distinct[:10])) if distinct else 0.0,
                float(opens),
                headline_words / target,
                with_headline / target,
                abs(with_headline - target) / target,
                float(headline is not None and ":" in headline),
                _lcs_prf(headline_tokens, summary)[2],
                headline_lede,
                *sentence_features[best],
                *(sentence_features[second] if second is not None else np.zeros(width)),
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(SET_FEATURES))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(1, len(a | b))


def _tokens(text: str) -> list[str]:
    """Folded word tokens (lower-case, no accents), as the overlap features compare them."""
    return re.findall(r"\w+", fold(text))


def _is_content(token: str) -> bool:
    return len(token) > 2 and token not in STOP and not token.isdigit()


def _lcs_prf(reference: list[str], summary: list[str]) -> tuple[float, float, float]:
    """Precision, recall and F of the longest common subsequence of ``summary`` with ``reference``."""
    if not reference or not summary:
        return 0.0, 0.0, 0.0
    # Bit-parallel LCS length (Hyyrö 2004): one big-integer step per reference token instead of a
    # table, 40 times faster in Python; bit j of ``positions[t]`` says summary[j] == t.
    full = (1 << len(summary)) - 1
    positions: dict[str, int] = {}
    for j, t in enumerate(summary):
        positions[t] = positions.get(t, 0) | (1 << j)
    v = full
    for r in reference:
        u = v & positions.get(r, 0)
        v = ((v + u) | (v - u)) & full
    lcs = len(summary) - v.bit_count()
    precision, recall = lcs / len(summary), lcs / len(reference)
    return precision, recall, 2 * precision * recall / (precision + recall) if lcs else 0.0


def _ngram_pf(reference: list[str], summary: list[str], n: int) -> tuple[float, float]:
    """Precision and F of ``summary``'s n-grams against ``reference``'s (clipped counts)."""
    ref = Counter(zip(*(reference[i:] for i in range(n)), strict=False))
    out = Counter(zip(*(summary[i:] for i in range(n)), strict=False))
    overlap = sum((ref & out).values())
    if not overlap:
        return 0.0, 0.0
    precision, recall = overlap / sum(out.values()), overlap / sum(ref.values())
    return precision, 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class SummaryReranker:
    """A sum of regression trees plus a baseline (scikit-learn's HistGradientBoostingRegressor).

    Each tree is flat arrays over its nodes: a row goes left when ``x[feature] <= threshold``;
    a leaf has ``feature == -1`` and adds its ``value``.  The trees are stacked into padded
    arrays so a batch of rows walks every tree at once, one level per step.
    """

    key: str
    sha256: str
    baseline: float
    feature: np.ndarray  # (trees, nodes) int; -1 at leaves
    threshold: np.ndarray  # (trees, nodes)
    left: np.ndarray  # (trees, nodes) int
    right: np.ndarray  # (trees, nodes) int
    value: np.ndarray  # (trees, nodes)
    depth: int
    prior: WordPrior

    def __call__(self, features: np.ndarray) -> np.ndarray:
        if features.shape[0] == 0:
            return np.zeros(0)
        n_trees = self.feature.shape[0]
        tree = np.arange(n_trees)[None, :]
        node = np.zeros((features.shape[0], n_trees), dtype=np.int64)
        rows = np.arange(features.shape[0])[:, None]
        for _ in range(self.depth):
            feature = self.feature[tree, node]
            goes_left = features[rows, np.maximum(feature, 0)] <= self.threshold[tree, node]
            step = np.where(goes_left, self.left[tree, node], self.right[tree, node])
            node = np.where(feature >= 0, step, node)
        return self.baseline + self.value[tree, node].sum(axis=1)

    @classmethod
    def from_dict(cls, data: dict, key: str = "", sha256: str = "") -> SummaryReranker:
        if data.get("format") != FORMAT:
            raise ValueError(
                f"not a summary-reranker file (format {data.get('format')!r}, expected {FORMAT})"
            )
        if tuple(data["features"]) != SET_FEATURES:
            raise ValueError(
                "the reranker was trained on other features than pipeline/summarize/rerank.py computes: "
                "retrain it with models/summary-reranker/train.py"
            )
        trees = data["trees"]
        prior = data.get("word_prior")
        if not isinstance(prior, dict) or not isinstance(prior.get("words"), dict):
            raise ValueError(
                "a reranker without its word prior: retrain it with models/summary-reranker/train.py"
            )
        if not trees:
            raise ValueError("a reranker without trees")
        width = max(len(t["feature"]) for t in trees)
        for k, t in enumerate(trees):
            if {len(t[name]) for name in ("feature", "threshold", "left", "right", "value")} != {
                len(t["feature"])
            }:
                raise ValueError(f"tree {k}: arrays of different lengths")

        def stack(name: str, dtype: type, fill: float) -> np.ndarray:
            out: np.ndarray = np.full((len(trees), width), fill, dtype=dtype)
            for k, t in enumerate(trees):
                out[k, : len(t[name])] = t[name]
            return out

        return cls(
            key=key,
            sha256=sha256,
            baseline=float(data["baseline"]),
            feature=stack("feature", np.int64, -1),
            threshold=stack("threshold", np.float64, 0.0),
            left=stack("left", np.int64, 0),
            right=stack("right", np.int64, 0),
            value=stack("value", np.float64, 0.0),
            depth=int(data["depth"]),
            prior=WordPrior({str(w): float(r) for w, r in prior["words"].items()}, float(prior["base"])),
        )


def reranker_path(name: str) -> Path:
    """The weights file of catalogue entry ``name`` (``path`` is relative to the ``pipeline`` package)."""
    return weights_file(name, TASK)


@functools.cache
def load_reranker(name: str) -> SummaryReranker:
    """The reranker of catalogue entry ``name``, after checking the file's SHA-256 against the catalogue."""
    data, digest = read_pinned(name, TASK, reranker_path(name), "summary reranker")
    return SummaryReranker.from_dict(data, key=name, sha256=digest)


__all__ = [
    "HEADLINE",
    "NO_RERANKER",
    "SET_FEATURES",
    "SummaryReranker",
    "WordPrior",
    "candidate_sets",
    "candidate_summaries",
    "load_reranker",
    "prior_counts",
    "set_features",
]
