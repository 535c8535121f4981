"""Near-duplicate sentences and paragraphs, across and within articles.

Each sentence (then each paragraph) of every article is a *unit*.  Units are
grouped in one pass, in input order, with a leader scheme:

1. identical content (same content words in the same order) joins the group
   of its first occurrence directly, without hashing (wire copies, duplicate files);
2. otherwise the unit's MinHash signature queries a ``datasketch.MinHashLSH``
   index that holds one signature per group (its *leader*, the first occurrence);
3. each candidate leader is verified with the *exact* Jaccard similarity of the
   shingle sets, and the unit joins the most similar group at or above
   ``passage_threshold``; failing that it becomes the leader of a new group.

Only leaders are indexed, so a sentence copied a thousand times costs one index
entry, and candidate lists stay short.  Verifying against the leader (not any
member) keeps groups from drifting by chaining; ``Passage.jaccard`` is the lowest
member-to-leader similarity in the group.  Work grows linearly with the number
of units (LSH query + a few exact checks each).
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from datasketch import MinHashLSH

from pipeline.dedup.shingles import content_words, jaccard, shingles, signature, words
from pipeline.records import Article, Occurrence, Passage
from pipeline.settings import DedupSettings

# Candidates are verified exactly, so the LSH may err towards false positives:
# weigh a missed pair more than a wasted check when datasketch picks bands/rows.
_LSH_WEIGHTS = (0.3, 0.7)


@dataclass(frozen=True)
class Unit:
    """One sentence or paragraph of one article, with its span in ``Article.text``."""

    article_id: str
    kind: str
    start: int
    end: int
    text: str


@dataclass(slots=True)
class _Group:
    leader: frozenset[str] | None  # shingle set of the first occurrence (None: not indexed)
    occurrences: list[Occurrence]
    min_jaccard: float = 1.0


def article_units(article: Article, kind: str) -> Iterator[Unit]:
    """The sentences (or paragraphs) of ``article`` as units.

    A paragraph made of one sentence is skipped: it would only repeat that
    sentence's group.
    """
    if kind == "sentence":
        spans = [(s.start, s.end) for s in article.sentences]
    else:
        sentence_spans = {(s.start, s.end) for s in article.sentences}
        spans = [(p.start, p.end) for p in article.paragraphs if (p.start, p.end) not in sentence_spans]
    for start, end in spans:
        text = article.text[start:end]
        # Trim surrounding whitespace so the span points at the words themselves.
        lead = len(text) - len(text.lstrip())
        trail = len(text) - len(text.rstrip())
        if lead + trail >= len(text):
            continue
        yield Unit(article.id, kind, start + lead, end - trail, text.strip())


def group_units(
    kind: str, units: Iterable[Unit], settings: DedupSettings, text_of: Callable[[Occurrence], str]
) -> list[Passage]:
    """Group near-identical units of one kind (see the module docstring); groups of one are dropped.

    ``text_of`` gives an occurrence's text back, so groups need not keep a copy.
    """
    lsh = MinHashLSH(threshold=settings.passage_threshold, num_perm=settings.num_perm, weights=_LSH_WEIGHTS)
    limit = settings.max_passage_candidates
    groups: list[_Group] = []
    exact: dict[int, int] = {}  # hash of the content words -> group
    for unit in units:
        all_words = words(unit.text)
        if len(all_words) < settings.passage_min_words:
            continue
        tokens = content_words(all_words)
        if not tokens:
            continue
        occurrence = Occurrence(unit.article_id, unit.start, unit.end)
        key = hash(tuple(tokens))
        if key in exact:
            groups[exact[key]].occurrences.append(occurrence)
            continue
        shingle_set = frozenset(shingles(tokens, settings.shingle_words))
        minhash = signature(shingle_set, settings.num_perm)
        candidates = lsh.query(minhash)
        crowded = len(candidates) > limit
        if crowded:  # verify the oldest leaders only: bounded work per unit
            candidates = heapq.nsmallest(limit, candidates)
        best, best_sim = -1, -1.0
        for gid in candidates:
            sim = jaccard(shingle_set, groups[gid].leader)  # type: ignore[arg-type]
            if sim > best_sim or (sim == best_sim and gid < best):
                best, best_sim = gid, sim
        if best >= 0 and best_sim >= settings.passage_threshold:
            group = groups[best]
            group.occurrences.append(occurrence)
            group.min_jaccard = min(group.min_jaccard, best_sim)
            exact[key] = best
            continue
        gid = len(groups)
        exact[key] = gid
        if crowded:
            # Many similar leaders already cover this region (templated text with
            # other names): another leader would only make every later query
            # longer.  The unit keeps its own group; exact copies still join it.
            groups.append(_Group(None, [occurrence]))
            continue
        groups.append(_Group(shingle_set, [occurrence]))
        lsh.insert(gid, minhash, check_duplication=False)
    return [_to_passage(kind, g, text_of) for g in groups if len(g.occurrences) > 1]


def find_passages(articles: Sequence[Article], settings: DedupSettings) -> list[Passage]:
    """Sentence groups, then paragraph groups, over all ``articles`` (input order)."""
    text_by_id = {a.id: a.text for a in articles}

    def text_of(occurrence: Occurrence) -> str:
        return text_by_id[occurrence.article_id][occurrence.start : occurrence.end]

    passages: list[Passage] = []
    for kind in ("sentence", "paragraph"):
        units = (unit for article in articles for unit in article_units(article, kind))
        passages.extend(group_units(kind, units, settings, text_of))
    return passages


def _to_passage(kind: str, group: _Group, text_of: Callable[[Occurrence], str]) -> Passage:
    first = group.occurrences[0]
    digest = hashlib.sha1(f"{kind}:{first.article_id}:{first.start}:{first.end}".encode()).hexdigest()
    return Passage(
        id=f"{kind[0]}-{digest[:12]}",
        kind=kind,  # type: ignore[arg-type]
        text=text_of(first),
        occurrences=group.occurrences,
        jaccard=round(group.min_jaccard, 4),
    )
