"""Pairing system outputs with references.

* Article summaries: by ``Article.name`` (references are keyed by file stem, the
  run's summaries by article id).
* Event summaries: the reference names a gold cluster; the predicted cluster with
  the largest member overlap (Jaccard over article names) stands for it.
* Translations: a reference paragraph is found among the article's paragraphs by
  its normalised French text (exact, then near-exact for typography differences),
  with the reference's paragraph index as the last resort.  How each one was
  matched is recorded.

>>> normalise("L’« État »  a dit\\u00a0: oui")
'l\\'"état" a dit : oui'
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.records import Article, Cluster

_PUNCT = str.maketrans(
    {
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "«": '"',
        "»": '"',
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
        "\u00a0": " ",
        "\u202f": " ",
    }
)
# Inside French quotes the spaces are typographic: «  État » and "État" are the same text.
_QUOTE_SPACES = re.compile(r'"\s+|\s+"')
FUZZY_THRESHOLD = 0.9


def normalise(text: str) -> str:
    """Case, Unicode form, apostrophes/quotes/dashes and spacing no longer matter."""
    text = unicodedata.normalize("NFKC", text).translate(_PUNCT).casefold()
    text = " ".join(text.split())
    return _QUOTE_SPACES.sub('"', text)


@dataclass(frozen=True)
class ParagraphMatch:
    index: int | None  # into Article.paragraphs; None = unmatched
    method: str  # "text" | "fuzzy" | "index" | "unmatched"
    similarity: float  # of the normalised texts, 1.0 for exact


def match_paragraph(reference_fr: str, reference_index: int, paragraphs: Sequence[str]) -> ParagraphMatch:
    """Find the article paragraph a reference translates.

    >>> match_paragraph("Bonjour  à tous.", 5, ["Titre", "Bonjour à tous."])
    ParagraphMatch(index=1, method='text', similarity=1.0)
    >>> match_paragraph("Autre chose", 0, ["Titre", "Bonjour"]).method
    'index'
    """
    target = normalise(reference_fr)
    normalised = [normalise(p) for p in paragraphs]
    for i, text in enumerate(normalised):
        if text == target:
            return ParagraphMatch(i, "text", 1.0)
    best, best_ratio = None, 0.0
    for i, text in enumerate(normalised):
        matcher = difflib.SequenceMatcher(None, target, text, autojunk=False)
        if matcher.real_quick_ratio() < FUZZY_THRESHOLD or matcher.quick_ratio() < FUZZY_THRESHOLD:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best, best_ratio = i, ratio
    if best is not None and best_ratio >= FUZZY_THRESHOLD:
        return ParagraphMatch(best, "fuzzy", round(best_ratio, 4))
    if 0 <= reference_index < len(paragraphs):
        ratio = difflib.SequenceMatcher(None, target, normalised[reference_index], autojunk=False).ratio()
        return ParagraphMatch(reference_index, "index", round(ratio, 4))
    return ParagraphMatch(None, "unmatched", 0.0)


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


@dataclass(frozen=True)
class ClusterMatch:
    gold: str
    cluster_id: str | None
    overlap: float  # Jaccard of member names
    members: tuple[str, ...]  # the predicted cluster's member names


def match_cluster(
    gold_slug: str,
    gold_members: Sequence[str],
    clusters: Sequence[Cluster],
    articles_by_id: dict[str, Article],
) -> ClusterMatch:
    """The predicted cluster whose members overlap most with a gold cluster (ties: smaller id)."""
    best: ClusterMatch | None = None
    for cluster in sorted(clusters, key=lambda c: c.id):
        names = tuple(sorted(articles_by_id[m].name if m in articles_by_id else m for m in cluster.members))
        overlap = jaccard(names, gold_members)
        if overlap > 0 and (best is None or overlap > best.overlap):
            best = ClusterMatch(gold_slug, cluster.id, overlap, names)
    return best or ClusterMatch(gold_slug, None, 0.0, ())


def predicted_labels(articles: Sequence[Article], clusters: Sequence[Cluster]) -> dict[str, str]:
    """``{article name: predicted cluster id}``; an article in no cluster is its own singleton."""
    labels = {a.name: f"singleton:{a.id}" for a in articles}
    by_id = {a.id: a for a in articles}
    for cluster in clusters:
        for member in cluster.members:
            name = by_id[member].name if member in by_id else member
            labels[name] = cluster.id
    return labels
