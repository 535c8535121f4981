"""Cheap per-sentence features for the learned sentence scorer (:mod:`.scorer`).

Everything is computed from the ingested article (text, title, units, ingest's entities)
with regular expressions and one small TF-IDF matrix per article: no parse, no embedding.
The feature list is part of the model: :data:`FEATURES` is stored with the weights and
checked when they are loaded, so a model never reads features in the wrong order.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from spacy.lang.fr.stop_words import STOP_WORDS

from pipeline.french import MONTH_PATTERN
from pipeline.records import Article
from pipeline.summarize.faithfulness import fold
from pipeline.summarize.sentences import Unit

# Stop words as the folded tokenizers below see them.
STOP = frozenset(t for w in STOP_WORDS for t in re.findall(r"\w\w+", fold(w)))
_TOKEN = re.compile(r"\w\w+")
WEEKDAYS = re.compile(r"\b(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\b", re.IGNORECASE)
MONTHS = re.compile(r"\b(?:" + MONTH_PATTERN + r")\b", re.IGNORECASE)
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
NUMBER = re.compile(r"\d")
CAPITALISED = re.compile(r"(?<![.!?«\"]\s)(?<!^)\b[A-ZÀ-ÖØ-Þ][\w-]+")
QUOTE_CHARS = re.compile(r"[«»“”\"]")
REPORTING = re.compile(
    r"\b(?:a|ont|avait|avaient)\s+(?:annoncé|déclaré|indiqué|affirmé|expliqué|précisé|assuré|estimé|"
    r"souligné|ajouté|confié|dit|révélé|rapporté|confirmé|dénoncé|averti|jugé)\b|\bselon\b|"
    r"\b(?:annonce|indique|affirme|explique|précise|rapporte|révèle|confirme)\b",
    re.IGNORECASE,
)
DANGLING = re.compile(
    r"^(?:il|elle|ils|elles|ce dernier|cette dernière|ces derniers|celui-ci|celle-ci|cela|ça|"
    r"en outre|par ailleurs|de plus|de son côté|de leur côté|pour sa part|pour leur part|"
    r"cependant|toutefois|néanmoins|en effet|ainsi|aussi|enfin|or|mais|donc)\b",
    re.IGNORECASE,
)

FEATURES = (
    "bias",
    "first",
    "second",
    "third",
    "log_index",
    "relative_index",
    "first_in_paragraph",
    "log_paragraph",
    "log_words",
    "short",
    "long",
    "title_recall",
    "title_precision",
    "title_bigrams",
    "doc_similarity",
    "centrality",
    "lead_similarity",
    "weekday",
    "month",
    "year",
    "digits",
    "entities",
    "title_entities",
    "capitalised",
    "has_quote",
    "quoted_share",
    "reporting",
    "dangling",
    "question",
    "colon",
    "log_units",
    "unit_not_candidate_before",
)


def content_words(text: str) -> list[str]:
    return [w for w in _TOKEN.findall(fold(text)) if w not in STOP]


def article_features(article: Article, all_units: Sequence[Unit], candidates: Sequence[Unit]) -> np.ndarray:
    """A ``(len(candidates), len(FEATURES))`` matrix for the candidate units of one article."""
    if not candidates:
        return np.zeros((0, len(FEATURES)))
    texts = [u.text for u in all_units]
    title = article.title or ""
    title_words = set(content_words(title))
    title_bigrams = _bigrams(content_words(title))
    similarity, to_doc = _tfidf(texts)
    n = len(all_units)
    centrality = (similarity.sum(axis=1) - 1.0) / max(1, n - 1)
    title_entities = {fold(e.text) for e in article.entities if fold(e.text) in fold(title)}
    rows = []
    for seen_candidates, u in enumerate(candidates):
        words = content_words(u.text)
        word_set = set(words)
        n_words = u.words
        ents = [e for e in article.entities if e.start >= u.start and e.end <= u.end]
        quoted = sum(len(q) for q in re.findall(r"[«“\"][^«»“”\"]*[»”\"]", u.text))
        first_of_paragraph = u.index == 0 or all_units[u.index - 1].paragraph != u.paragraph
        rows.append(
            [
                1.0,
                float(u.index == 0),
                float(u.index == 1),
                float(u.index == 2),
                math.log1p(u.index),
                u.index / max(1, n - 1),
                float(first_of_paragraph),
                math.log1p(u.paragraph),
                math.log1p(n_words),
                float(n_words < 12),
                float(n_words > 45),
                len(word_set & title_words) / max(1, len(title_words)),
                len(word_set & title_words) / max(1, len(word_set)),
                len(_bigrams(words) & title_bigrams) / max(1, len(title_bigrams)),
                float(to_doc[u.index]),
                float(centrality[u.index]),
                float(similarity[u.index, 0]) if u.index else 1.0,
                float(bool(WEEKDAYS.search(u.text))),
                float(bool(MONTHS.search(u.text))),
                float(bool(YEAR.search(u.text))),
                math.log1p(len(NUMBER.findall(u.text))),
                math.log1p(len(ents)),
                math.log1p(sum(fold(e.text) in title_entities for e in ents)),
                math.log1p(len(CAPITALISED.findall(u.text))),
                float(bool(QUOTE_CHARS.search(u.text))),
                quoted / max(1, len(u.text)),
                float(bool(REPORTING.search(u.text))),
                float(bool(DANGLING.match(u.text.lstrip('«" ').replace("’", "'")))),
                float(u.text.rstrip(' »"”').endswith("?")),
                float(":" in u.text),
                math.log1p(n),
                math.log1p(u.index - seen_candidates),
            ]
        )
    return np.asarray(rows, dtype=np.float64)


def _bigrams(words: Sequence[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(words))


def _tfidf(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity between sentences, and of each sentence to the whole article."""
    vectorizer = TfidfVectorizer(
        preprocessor=fold, token_pattern=r"(?u)\b\w\w+\b", stop_words=sorted(STOP), sublinear_tf=True
    )
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # only stop words
        return np.eye(len(texts)), np.zeros(len(texts))
    similarity = np.asarray((matrix @ matrix.T).toarray(), dtype=float)
    doc = np.asarray(matrix.sum(axis=0)).ravel()
    norm = np.linalg.norm(doc)
    to_doc = np.asarray(matrix @ (doc / norm)).ravel() if norm > 0 else np.zeros(len(texts))
    return similarity, to_doc
