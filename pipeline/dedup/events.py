"""Event clusters: which articles report the same event.

1. **Profile** each article: an embedding of its title and lede, its entity
   keys (:mod:`pipeline.dedup.entities`), its date evidence
   (:mod:`pipeline.dedup.dates`) and its most distinctive words.
2. **Block**: a ``datasketch.MinHashLSH`` over each article's set of entity keys
   and keywords proposes candidate pairs; articles that share no distinctive
   name or word are never compared, so the work grows with the number of
   articles, not its square.
3. **Score** each candidate pair: embedding cosine (``semantic``), IDF-weighted
   entity overlap (``entities``) and date compatibility (``dates``), combined by
   a weighted mean.  Publication dates, or named days, too far apart veto the
   link outright (same subject, another time: another event).  With
   ``dedup.event_signature`` the ledes' event signatures
   (:mod:`pipeline.dedup.signature`) also veto: another event day or another
   figure for one quantity, between articles published on different days.
4. **Cluster**: linked pairs are merged best first, but two groups merge only if
   the *average* combined score over all their cross pairs still reaches the
   threshold and no cross pair is vetoed (average linkage), so one bridging pair
   cannot chain two events together.  Every scored pair is kept as a
   :class:`~pipeline.records.PairLink` so a user can see why articles were or
   were not grouped (``reason`` says which veto, or what the signatures share).
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.dedup import blocking
from pipeline.dedup.dates import DateEvidence, date_compatibility
from pipeline.dedup.entities import entity_key, entity_keys, idf_weights, weighted_overlap
from pipeline.dedup.shingles import content_words
from pipeline.dedup.signature import Signature, compare, lede, signature_of
from pipeline.records import Article, Cluster, PairLink
from pipeline.settings import DedupSettings


@dataclass
class ArticleProfile:
    """What event clustering knows about one article."""

    id: str
    entities: Counter[str]  # entity key -> mentions
    dates: DateEvidence
    keywords: frozenset[str]
    published: str | None  # Article.date.iso
    signature: Signature | None = None  # when dedup.event_signature is on


def representation_text(article: Article, max_words: int) -> str:
    """Title and leading sentences up to ``max_words`` words: news puts the event first."""
    parts = [article.title] if article.title else []
    count = len(article.title.split()) if article.title else 0
    sentences = article.sentence_texts() or [article.text]
    for sentence in sentences:
        if count >= max_words:
            break
        parts.append(sentence)
        count += len(sentence.split())
    return " ".join(parts).strip()


def _blocking_df(bags: Sequence[Iterable[str]]) -> Counter[str]:
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(set(bag))
    return df


def _can_block(df: int, n: int) -> bool:
    """Whether a key or word with document frequency ``df`` may propose pairs.

    Only an item that another article also has can propose a pair; an item in
    more than ~√n articles names a country or a beat, not one event, and would
    make every article a candidate of every other (quadratic work).
    """
    return 2 <= df <= max(10.0, math.sqrt(n))


def build_profiles(articles: Sequence[Article], settings: DedupSettings) -> list[ArticleProfile]:
    """Profiles for all articles.

    Keywords are each article's top TF-IDF content words among those that at
    least one other article also uses (a word no other article has cannot link).
    """
    bags = [Counter(content_words(a.text)) for a in articles]
    df = _blocking_df(bags)
    n = len(articles)
    profiles = []
    for article, bag in zip(articles, bags, strict=True):
        scored = [
            (count * math.log((n + 1) / (df[w] + 0.5)), w) for w, count in bag.items() if _can_block(df[w], n)
        ]
        keywords = frozenset(w for _, w in heapq.nlargest(settings.keywords_per_article, scored))
        entities = entity_keys(article.entities, article.text)
        dates = DateEvidence.of(article.text, article.date)
        profiles.append(
            ArticleProfile(
                id=article.id,
                entities=entities,
                dates=dates,
                keywords=keywords,
                published=article.date.iso if article.date else None,
                signature=event_signature(article, dates) if settings.event_signature else None,
            )
        )
    return profiles


def event_signature(article: Article, dates: DateEvidence) -> Signature:
    """The signature of ``article``'s lede; relative days resolve against a day-precise publication date."""
    sentences = article.sentence_texts()
    text, used = lede(article.title, sentences or [article.text])
    lede_end = article.sentences[used - 1].end if sentences and used else len(article.text)
    published = dates.published[0] if dates.published and dates.published[0] == dates.published[1] else None
    actors = entity_keys([e for e in article.entities if e.start < lede_end], article.text)
    return signature_of(text, published, actors)


def candidate_pairs(profiles: Sequence[ArticleProfile], settings: DedupSettings) -> set[tuple[int, int]]:
    """Pairs of articles whose sets of shared entity keys and keywords collide in the blocking LSH."""
    entity_df = _blocking_df([p.entities.keys() for p in profiles])
    n = len(profiles)
    item_sets = [{k for k in p.entities if _can_block(entity_df[k], n)} | p.keywords for p in profiles]
    return blocking.candidate_pairs(
        item_sets, settings.blocking_threshold, settings.num_perm, settings.max_candidates
    )


class PairScorer:
    """Scores any pair of profiled articles (memoised: a pair is scored once)."""

    def __init__(self, profiles: Sequence[ArticleProfile], embeddings: np.ndarray, settings: DedupSettings):
        self.profiles = profiles
        self.embeddings = embeddings
        self.settings = settings
        self.idf = idf_weights([p.entities.keys() for p in profiles])
        self.links: dict[tuple[int, int], PairLink] = {}
        self.vetoed: set[tuple[int, int]] = set()

    def semantic(self, i: int, j: int) -> float:
        if self.embeddings.shape[0] == 0:
            return 0.0
        return float(np.clip(self.embeddings[i] @ self.embeddings[j], -1.0, 1.0))

    def score(self, i: int, j: int) -> PairLink:
        key = (min(i, j), max(i, j))
        if key in self.links:
            return self.links[key]
        s = self.settings
        a, b = self.profiles[key[0]], self.profiles[key[1]]
        semantic = self.semantic(*key)
        entities = weighted_overlap(a.entities, b.entities, self.idf)
        dates, veto = date_compatibility(a.dates, b.dates, s.max_date_gap_days)
        reasons = [f"dates more than {s.max_date_gap_days} days apart"] if veto else []
        if a.signature is not None and b.signature is not None:
            conflicts, notes = compare(a.signature, b.signature)
            veto = veto or bool(conflicts)
            reasons += conflicts + notes
        # Raw cosines of unrelated news in one language sit well above 0: rescale
        # so that `semantic_floor` counts as no similarity at all.
        semantic_scaled = max(0.0, (semantic - s.semantic_floor) / (1.0 - s.semantic_floor))
        total = s.semantic_weight + s.entity_weight + s.date_weight
        combined = (
            s.semantic_weight * semantic_scaled + s.entity_weight * entities + s.date_weight * dates
        ) / total
        if veto:
            self.vetoed.add(key)
        linked = not veto and combined >= s.event_threshold
        # Words only where they say more than the numbers (a veto, a link): a large
        # corpus scores millions of pairs that simply fall short of the threshold.
        reason = ("veto: " if veto else "") + "; ".join(reasons) if veto or linked else ""
        link = PairLink(
            a=a.id,
            b=b.id,
            semantic=round(semantic, 4),
            entities=round(entities, 4),
            dates=round(dates, 4),
            combined=round(combined, 4),
            linked=linked,
            reason=reason,
        )
        self.links[key] = link
        return link


def cluster_events(
    articles: Sequence[Article],
    embeddings: np.ndarray,
    settings: DedupSettings,
    profiles: Sequence[ArticleProfile] | None = None,
) -> tuple[list[Cluster], dict[str, int]]:
    """Event clusters over ``articles`` (one cluster per singleton) and counts for the stage result.

    ``profiles`` (from :func:`build_profiles` with the same settings) spares
    recomputing them when only the scoring settings change (calibration).
    """
    profiles = profiles if profiles is not None else build_profiles(articles, settings)
    scorer = PairScorer(profiles, embeddings, settings)
    candidates = candidate_pairs(profiles, settings)
    for i, j in sorted(candidates):
        scorer.score(i, j)
    members: dict[int, list[int]] = {i: [i] for i in range(len(profiles))}
    root = list(range(len(profiles)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    linked = sorted(
        ((link.combined, key) for key, link in scorer.links.items() if link.linked),
        key=lambda item: (-item[0], item[1]),
    )
    for _, (i, j) in linked:
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        cross = [(x, y) for x in members[ri] for y in members[rj]]
        scores = [scorer.score(x, y) for x, y in cross]
        if any((min(x, y), max(x, y)) in scorer.vetoed for x, y in cross):
            continue
        if sum(link.combined for link in scores) / len(scores) < settings.event_threshold:
            continue
        keep, gone = min(ri, rj), max(ri, rj)
        root[gone] = keep
        members[keep] = sorted(members[keep] + members.pop(gone))

    groups = sorted(members.values(), key=lambda m: m[0])
    cluster_of = {i: g[0] for g in groups for i in g}
    pairs_by_cluster: dict[int, list[PairLink]] = {g[0]: [] for g in groups}
    for (i, j), link in sorted(scorer.links.items()):
        pairs_by_cluster[cluster_of[i]].append(link)
        if cluster_of[j] != cluster_of[i]:
            pairs_by_cluster[cluster_of[j]].append(link)
    clusters = [_make_cluster(g, articles, profiles, scorer, pairs_by_cluster[g[0]]) for g in groups]
    counts = {
        "candidate_pairs": len(candidates),
        "scored_pairs": len(scorer.links),
        "linked_pairs": sum(link.linked for link in scorer.links.values()),
    }
    return clusters, counts


def _make_cluster(
    group: list[int],
    articles: Sequence[Article],
    profiles: Sequence[ArticleProfile],
    scorer: PairScorer,
    pairs: list[PairLink],
) -> Cluster:
    ids = [profiles[i].id for i in group]
    if len(group) == 1:
        representative = ids[0]
    else:
        # Most central member: highest mean combined score with the others.
        def centrality(i: int) -> float:
            return sum(scorer.score(i, j).combined for j in group if j != i) / (len(group) - 1)

        representative = profiles[max(group, key=lambda i: (centrality(i), -i))].id
    start, end = _date_span([profiles[i] for i in group])
    digest = hashlib.sha1("\n".join(sorted(ids)).encode()).hexdigest()[:12]
    return Cluster(
        id=f"event-{digest}",
        members=ids,
        representative=representative,
        date_start=start,
        date_end=end,
        shared_entities=_shared_entities([articles[i] for i in group], [profiles[i] for i in group]),
        pairs=pairs,
    )


def _date_span(members: Sequence[ArticleProfile]) -> tuple[str | None, str | None]:
    """Days named by at least two members; else the members' publication dates."""
    if len(members) > 1:
        named: Counter = Counter()
        for p in members:
            named.update(set(p.dates.dated_days()))
        shared = sorted(day for day, count in named.items() if count >= 2)
        if shared:
            return shared[0].isoformat(), shared[-1].isoformat()
    published = sorted(p.published for p in members if p.published)
    if published:
        return published[0], published[-1]
    days = sorted(d for p in members for d in p.dates.dated_days())
    if days:
        return days[0].isoformat(), days[-1].isoformat()
    return None, None


def _shared_entities(
    articles: Sequence[Article], members: Sequence[ArticleProfile], limit: int = 20
) -> list[str]:
    """Entities named by at least two members (most widely shared first); a singleton's own top names.

    Each is shown as the members most often write it.
    """
    in_members: Counter[str] = Counter()
    mentions: Counter[str] = Counter()
    for p in members:
        in_members.update(p.entities.keys())
        mentions.update(p.entities)
    need = 2 if len(members) > 1 else 1
    keys = [k for k in in_members if in_members[k] >= need]
    keys.sort(key=lambda k: (-in_members[k], -mentions[k], k))
    keys = keys[: limit * 2]  # room for keys that share a surface form
    wanted = set(keys)
    surfaces: dict[str, Counter[str]] = {}
    for article in articles:
        for entity in article.entities:
            key = entity_key(entity)
            if key in wanted:
                surfaces.setdefault(key, Counter())[entity.text] += 1
    shown: list[str] = []
    for k in keys:
        surface = surfaces[k].most_common(1)[0][0] if k in surfaces else k
        if surface not in shown:
            shown.append(surface)
    return shown[:limit]
