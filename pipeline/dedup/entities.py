"""Named-entity keys and entity overlap between articles.

spaCy's small French model finds the names but labels them loosely (one city
comes out PER in one article and LOC in the next) and picks up capitalised
common nouns at the start of sentences.  Keys therefore ignore the label, are
folded (case, accents, apostrophes), drop leading articles and titles, reduce a
person to their surname ("Sarah Lamrani" and "Mme Lamrani" are one person), and
skip one-word "entities" that the same article also uses as a lower-case word.

>>> from pipeline.records import Entity
>>> text = "Mme Sarah Lamrani a vu l'Agence. Selon Mme Lamrani, l'agence aide les États-Unis."
>>> ents = [Entity("Sarah Lamrani", "PER", 4, 17), Entity("Agence", "ORG", 27, 33),
...         Entity("Mme Lamrani", "PER", 41, 52), Entity("États-Unis", "LOC", 71, 81)]
>>> sorted(entity_keys(ents, text))
['etats unis', 'lamrani']
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet

from pipeline.dedup.shingles import fold, fold_word, stop_words
from pipeline.records import Entity

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# Leading words that are not part of the name: articles, elisions, titles.
_ARTICLES = ("l", "d", "le", "la", "les", "du", "des", "de", "un", "une", "au", "aux", "sa", "son", "ses")
_TITLES = ("mme", "m", "mr", "mrs", "ms", "dr", "pr", "me", "mlle", "monsieur", "madame", "president")
_LEADING = frozenset(_ARTICLES + _TITLES)
# Pseudo-counts of documents that mention none of the corpus's entities: they keep
# the IDF of a tiny corpus (two reports of one event) from calling every shared
# name "common".  ~20 documents is a news day of a small outlet.
BACKGROUND_DOCUMENTS = 20
# Added to the smaller entity mass in :func:`weighted_overlap`: about one rare
# name's weight, so that sharing a single rare name is not full agreement.
PRIOR_MASS = 3.0


def entity_key(entity: Entity) -> str | None:
    """The folded, label-free key of one entity (``None`` for an empty one).

    >>> entity_key(Entity("Agence américaine du commerce", "ORG", 0, 29))
    'agence americaine du commerce'
    >>> entity_key(Entity("Gretchen Krantz Evans", "PER", 0, 21))
    'evans'
    """
    tokens = _TOKEN.findall(fold(entity.text))
    while tokens and tokens[0] in _LEADING:
        tokens = tokens[1:]
    if not tokens or (len(tokens) == 1 and len(tokens[0]) < 2):
        return None
    if entity.label == "PER" and len(tokens) > 1:
        return tokens[-1]
    return " ".join(tokens)


def entity_keys(entities: Iterable[Entity], text: str) -> Counter[str]:
    """Entity keys of an article with their mention counts.

    A one-word entity is dropped when the article also writes that word in
    lower case: it is a common noun that opened a sentence ("Agence", "Marché").
    """
    lower_folded = {fold_word(w) for w in set(re.findall(r"[^\W\d_]+", text)) if w.islower()}
    keys: Counter[str] = Counter()
    for entity in entities:
        key = entity_key(entity)
        if key is None:
            continue
        if " " not in key and (key in lower_folded or key in stop_words()):
            continue
        keys[key] += 1
    return keys


def idf_weights(documents: Sequence[Iterable[str]]) -> dict[str, float]:
    """BM25-style inverse document frequency of each key over ``documents``.

    A key found in every document weighs little; the background pseudo-documents
    keep weights meaningful when the corpus has only a handful of articles.

    >>> w = idf_weights([{"maroc", "ustda"}, {"maroc", "ustda"}, {"maroc", "inde"}])
    >>> w["inde"] > w["ustda"] > w["maroc"]
    True
    """
    df: Counter[str] = Counter()
    for keys in documents:
        df.update(set(keys))
    n = len(documents) + BACKGROUND_DOCUMENTS
    return {key: math.log(1.0 + (n - count + 0.5) / (count + 0.5)) for key, count in df.items()}


def weighted_overlap(a: Iterable[str], b: Iterable[str], weights: Mapping[str, float]) -> float:
    """How much of the smaller article's (IDF-weighted) entities the other one also names.

    A short report names a subset of what a long one names, so the shared mass is
    divided by the *smaller* article's mass (overlap coefficient), not by the
    union (Jaccard), which would punish length.  :data:`PRIOR_MASS` is added to
    that denominator so that an article naming one or two common entities does
    not "contain" every other article.

    >>> w = {"lamrani": 3.0, "ustda": 3.0, "austin": 3.0, "maroc": 1.0, "inde": 3.0}
    >>> round(weighted_overlap({"lamrani", "ustda", "austin", "maroc"}, {"lamrani", "ustda", "maroc"}, w), 2)
    0.7
    >>> round(weighted_overlap({"maroc"}, {"maroc", "inde"}, w), 2)
    0.25
    """
    sa, sb = set(a), set(b)
    return overlap_of_sets(sa, sb, entity_mass(sa, weights), entity_mass(sb, weights), weights)


def entity_mass(keys: AbstractSet[str], weights: Mapping[str, float]) -> float:
    """The IDF-weighted mass of a set of entity keys (a key without a weight weighs 1)."""
    return sum(weights.get(k, 1.0) for k in keys)


def overlap_of_sets(
    a: AbstractSet[str], b: AbstractSet[str], mass_a: float, mass_b: float, weights: Mapping[str, float]
) -> float:
    """:func:`weighted_overlap` of two key sets whose masses are known (computed once per article)."""
    if not a or not b:
        return 0.0
    return entity_mass(a & b, weights) / (min(mass_a, mass_b) + PRIOR_MASS)
