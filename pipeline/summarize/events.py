"""Event summaries: which reports, which sentences, and where each summary sentence comes from.

An event is a dedup cluster with two or more member articles.  Passages that the
dedup stage found repeated across (or within) articles are kept once: the first
occurrence, in cluster member order, stays a candidate and the others are
skipped, so the summary does not say twice what several reports say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pipeline.records import Article, Cluster, Occurrence, Passage
from pipeline.summarize.faithfulness import fold

MIN_SHARE = 0.3  # a summary sentence is attributed to a source sentence holding this share of its words


def event_members(cluster: Cluster, by_id: dict[str, Article]) -> list[Article]:
    """Member articles present in the run, representative first, then in cluster order."""
    ordered = [cluster.representative, *[m for m in cluster.members if m != cluster.representative]]
    return [by_id[m] for m in ordered if m in by_id]


def repeated_spans(passages: Sequence[Passage], members: Sequence[Article]) -> list[Occurrence]:
    """Occurrences to skip: every occurrence of a repeated passage but the first, in member order."""
    rank = {a.id: i for i, a in enumerate(members)}
    skipped: list[Occurrence] = []
    for passage in passages:
        inside = [o for o in passage.occurrences if o.article_id in rank]
        if len(inside) < 2:
            continue
        inside.sort(key=lambda o: (rank[o.article_id], o.start))
        skipped.extend(inside[1:])
    return skipped


def skipper(skipped: Sequence[Occurrence]) -> Callable[[str, int, int], bool]:
    """``skip(article_id, start, end)``: is most of that sentence inside a skipped occurrence?"""
    by_article: dict[str, list[tuple[int, int]]] = {}
    for o in skipped:
        by_article.setdefault(o.article_id, []).append((o.start, o.end))

    def skip(article_id: str, start: int, end: int) -> bool:
        length = max(1, end - start)
        return any(min(end, e) - max(start, s) >= 0.5 * length for s, e in by_article.get(article_id, ()))

    return skip


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", fold(text)) if len(w) > 2}


def attribute(
    sentence: str, sources: Sequence[tuple[Article, int, int]], per_article: int = 1
) -> list[Occurrence]:
    """Where an abstractive summary sentence comes from: the source sentences sharing most of its words.

    ``sources`` are (article, start, end) sentence spans.  The best match of each
    article is kept when it holds at least :data:`MIN_SHARE` of the sentence's
    words and at least 60 % of the best match's share.
    """
    words = _words(sentence)
    if not words:
        return []
    scored: list[tuple[float, Occurrence]] = []
    for article, start, end in sources:
        share = len(words & _words(article.text[start:end])) / len(words)
        if share >= MIN_SHARE:
            scored.append((share, Occurrence(article.id, start, end)))
    if not scored:
        return []
    best = max(share for share, _ in scored)
    kept: list[Occurrence] = []
    counts: dict[str, int] = {}
    for share, occ in sorted(scored, key=lambda x: -x[0]):
        if share >= 0.6 * best and counts.get(occ.article_id, 0) < per_article:
            kept.append(occ)
            counts[occ.article_id] = counts.get(occ.article_id, 0) + 1
    return kept
