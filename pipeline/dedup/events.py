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
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.dedup import blocking
from pipeline.dedup.dates import DateEvidence, date_compatibility, far_published, publication_ordinals
from pipeline.dedup.entities import entity_key, entity_keys, entity_mass, idf_weights, overlap_of_sets
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


def blocking_cap(n: int, settings: DedupSettings) -> float:
    """The most of ``n`` articles an entity key or word may be found in and still propose pairs.

    An item in more than ~√n articles names a country or a beat, not one event,
    and would make every article a candidate of every other (quadratic work).
    Above ``max_blocking_df`` articles it never names one event, however large
    the corpus: the number of reports one event gets does not grow with the
    corpus, and a cap that kept growing with it made the candidate pairs grow
    faster than the articles.
    """
    return min(max(10.0, math.sqrt(n)), settings.max_blocking_df)


def _blocks(df: int, cap: float) -> bool:
    """Only an item that another article also has can propose a pair; a common one may not."""
    return 2 <= df <= cap


def top_keywords(
    bag: Iterable[tuple[str, int]], df: Mapping[str, int], n: int, cap: float, limit: int
) -> frozenset[str]:
    """The ``limit`` top TF-IDF content words of an article (``bag``: word, count) among those
    that may block; ``df``: document frequencies over ``n`` articles."""
    scored = [(count * math.log((n + 1) / (df[w] + 0.5)), w) for w, count in bag if _blocks(df[w], cap)]
    return frozenset(w for _, w in heapq.nlargest(limit, scored))


def build_profiles(articles: Sequence[Article], settings: DedupSettings) -> list[ArticleProfile]:
    """Profiles for all articles.

    Keywords are each article's top TF-IDF content words among those that at
    least one other article also uses (a word no other article has cannot link).
    """
    # Every bag is needed until the document frequencies are known; kept as a tuple of
    # words and an array of counts (~2 KB an article, where a Counter takes ~10 KB).
    bags: list[tuple[tuple[str, ...], array]] = []
    df: Counter[str] = Counter()
    for article in articles:
        bag = Counter(content_words(article.text))
        df.update(bag.keys())
        bags.append((tuple(bag), array("i", bag.values())))
    n = len(articles)
    profiles = []
    cap = blocking_cap(n, settings)
    for article, (words, counts) in zip(articles, bags, strict=True):
        entities = entity_keys(article.entities, article.text)
        dates = DateEvidence.of(article.text, article.date)
        profiles.append(
            ArticleProfile(
                id=article.id,
                entities=entities,
                dates=dates,
                keywords=top_keywords(
                    zip(words, counts, strict=True), df, n, cap, settings.keywords_per_article
                ),
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


def candidate_pairs(profiles: Sequence[ArticleProfile], settings: DedupSettings) -> np.ndarray:
    """Pairs of articles whose sets of shared entity keys and keywords collide in the blocking LSH
    (rows ``(i, j)``, ``i < j``, sorted), except those published too far apart to be one event.

    The date veto is a time window, as in news event tracking: a pair published more than
    ``max_date_gap_days`` apart is vetoed whatever its scores, so it is not worth a candidate's
    place (in an archive of years, most pairs that share names are such pairs).
    """
    entity_df = _blocking_df([p.entities.keys() for p in profiles])
    cap = blocking_cap(len(profiles), settings)
    item_sets = [{k for k in p.entities if _blocks(entity_df[k], cap)} | p.keywords for p in profiles]
    published = publication_ordinals([p.dates for p in profiles])

    def within_window(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return ~far_published(published, lo, hi, settings.max_date_gap_days)

    return blocking.candidate_pairs(
        item_sets, settings.blocking_threshold, settings.num_perm, settings.max_candidates, within_window
    )


class PairScorer:
    """Scores any pair of profiled articles (memoised: a pair is scored once).

    A 100k-article corpus scores over a million pairs, so the scores live in flat
    arrays, one row per pair, not as a dict of :class:`PairLink` objects:
    :meth:`score_all` scores the candidate pairs in bulk (sorted, so a pair's row
    is found by bisection), and pairs scored later (average linkage's cross pairs)
    get rows found through a small dict.  :meth:`score` gives a pair's
    ``PairLink``; :meth:`links` all of them in pair order, as the clusters need.
    """

    def __init__(self, profiles: Sequence[ArticleProfile], embeddings: np.ndarray, settings: DedupSettings):
        self.profiles = profiles
        self.embeddings = embeddings
        self.settings = settings
        self.idf = idf_weights([p.entities.keys() for p in profiles])
        # Each article's entity keys and their weighted mass, once (not once per pair).
        self._keys = [set(p.entities) for p in profiles]
        self._mass = array("d", (entity_mass(keys, self.idf) for keys in self._keys))
        self._n = max(len(profiles), 1)
        self._codes = array("q")  # every row's pair as i * n + j; the bulk rows come first, sorted
        self._bulk = 0  # rows scored by score_all
        self._later: dict[int, int] = {}  # code -> row, for pairs scored one by one
        self._scores = array("d")  # semantic, entities, dates, combined (rounded), 4 per row
        self._flags = array("b")  # _LINKED | _VETOED per row
        self._reasons: dict[int, str] = {}  # row -> reason, where there is one
        self._reason_texts: dict[str, str] = {}  # reason -> its one copy
        self._published = publication_ordinals([p.dates for p in profiles])
        self._date_veto = f"dates more than {settings.max_date_gap_days} days apart"

    def __len__(self) -> int:
        return len(self._codes)

    def _semantic(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Embedding cosines of pairs ``(left[k], right[k])``, in [-1, 1] (0 without embeddings)."""
        if self.embeddings.shape[0] == 0:
            return np.zeros(len(left))
        e = self.embeddings
        # A batched matmul of rows gives each pair's dot product bit for bit as ``e[i] @ e[j]``.
        dots = np.matmul(e[left][:, None, :], e[right][:, :, None])[:, 0, 0]
        return np.clip(dots.astype(np.float64), -1.0, 1.0)

    def score_all(self, pairs: np.ndarray) -> None:
        """Score ``pairs`` (rows ``(i, j)``, ``i < j``, sorted, unique) before any other pair."""
        if len(self._codes):
            raise RuntimeError("score_all comes first")
        for start in range(0, len(pairs), _BULK):
            chunk = pairs[start : start + _BULK]
            self._score_new(chunk[:, 0], chunk[:, 1])
        self._bulk = len(self._codes)

    def _row(self, i: int, j: int) -> int:
        """The row of pair ``{i, j}``, scoring it if it is new."""
        lo, hi = (i, j) if i < j else (j, i)
        code = lo * self._n + hi
        at = bisect_left(self._codes, code, 0, self._bulk)
        if at < self._bulk and self._codes[at] == code:
            return at
        row = self._later.get(code)
        if row is None:
            row = self._later[code] = len(self._codes)
            self._score_new(np.array([lo]), np.array([hi]))
        return row

    def _score_new(self, left: np.ndarray, right: np.ndarray) -> None:
        """Score pairs ``(left[k], right[k])``, ``left[k] < right[k]``, and append their rows.

        The numbers are combined for all pairs at once; the dates (unless published too far
        apart), entity sets and signatures are compared pair by pair.
        """
        s = self.settings
        profiles, keys, mass, idf = self.profiles, self._keys, self._mass, self.idf
        semantic = self._semantic(left, right)
        far = far_published(self._published, left, right, s.max_date_gap_days)
        pairs = list(zip(left.tolist(), right.tolist(), strict=True))
        entities = np.array([overlap_of_sets(keys[i], keys[j], mass[i], mass[j], idf) for i, j in pairs])
        gap = s.max_date_gap_days
        date_parts = [
            (0.0, True) if is_far else date_compatibility(profiles[i].dates, profiles[j].dates, gap)
            for (i, j), is_far in zip(pairs, far.tolist(), strict=True)
        ]
        dates = np.array([score for score, _ in date_parts])
        # Raw cosines of unrelated news in one language sit well above 0: rescale
        # so that `semantic_floor` counts as no similarity at all.
        semantic_scaled = np.maximum(0.0, (semantic - s.semantic_floor) / (1.0 - s.semantic_floor))
        total = s.semantic_weight + s.entity_weight + s.date_weight
        combined = (
            s.semantic_weight * semantic_scaled + s.entity_weight * entities + s.date_weight * dates
        ) / total
        reaches = (combined >= s.event_threshold).tolist()
        first = len(self._codes)
        flags = []
        for k, ((i, j), (_, veto), reach) in enumerate(zip(pairs, date_parts, reaches, strict=True)):
            a, b = profiles[i].signature, profiles[j].signature
            reasons = [self._date_veto] if veto else []
            if a is not None and b is not None:
                conflicts, notes = compare(a, b)
                veto = veto or bool(conflicts)
                reasons += conflicts + notes
            linked = reach and not veto
            flags.append((_LINKED if linked else 0) | (_VETOED if veto else 0))
            # Words only where they say more than the numbers (a veto, a link): a large
            # corpus scores millions of pairs that simply fall short of the threshold.
            if veto or linked:
                reason = ("veto: " if veto else "") + "; ".join(reasons)
                # One copy per wording: most vetoes share their words.
                self._reasons[first + k] = self._reason_texts.setdefault(reason, reason)
        self._codes.frombytes((left * self._n + right).astype(np.int64).tobytes())
        rounded = np.stack([round4(column) for column in (semantic, entities, dates, combined)], axis=1)
        self._scores.frombytes(rounded.astype(np.float64).tobytes())  # 4 per row
        self._flags.frombytes(np.array(flags, dtype=np.int8).tobytes())

    def combined(self, i: int, j: int) -> float:
        """The pair's combined score (rounded, as its ``PairLink`` shows it)."""
        return self._scores[4 * self._row(i, j) + 3]

    def is_vetoed(self, i: int, j: int) -> bool:
        return bool(self._flags[self._row(i, j)] & _VETOED)

    def score(self, i: int, j: int) -> PairLink:
        return self._link(self._row(i, j))

    def linked(self) -> list[tuple[float, int, int]]:
        """``(combined, i, j)`` of every linked pair scored so far."""
        out = []
        for row, flags in enumerate(self._flags):
            if flags & _LINKED:
                i, j = divmod(self._codes[row], self._n)
                out.append((self._scores[4 * row + 3], i, j))
        return out

    def links(self) -> Iterator[tuple[int, int, PairLink]]:
        """``(i, j, link)`` for every pair scored so far, in pair order.

        Equal scores share one float object: over a million links hold only some
        tens of thousands of distinct rounded values.
        """
        floats: dict[float, float] = {}
        share = floats.setdefault
        codes, scores, flags, reasons, n = self._codes, self._scores, self._flags, self._reasons, self._n
        ids = [p.id for p in self.profiles]
        view = np.frombuffer(codes, dtype=np.int64)
        order = np.argsort(view, kind="stable").tolist()  # the bulk rows, with the later ones in place
        del view  # a view would keep ``codes`` from growing (later scoring)
        for row in order:
            i, j = divmod(codes[row], n)
            q = 4 * row
            semantic, entities, dates, combined = scores[q], scores[q + 1], scores[q + 2], scores[q + 3]
            link = PairLink(
                a=ids[i],
                b=ids[j],
                semantic=share(semantic, semantic),
                entities=share(entities, entities),
                dates=share(dates, dates),
                combined=share(combined, combined),
                linked=bool(flags[row] & _LINKED),
                reason=reasons.get(row, ""),
            )
            yield i, j, link

    def _link(self, row: int) -> PairLink:
        i, j = divmod(self._codes[row], self._n)
        semantic, entities, dates, combined = self._scores[4 * row : 4 * row + 4]
        return PairLink(
            a=self.profiles[i].id,
            b=self.profiles[j].id,
            semantic=semantic,
            entities=entities,
            dates=dates,
            combined=combined,
            linked=bool(self._flags[row] & _LINKED),
            reason=self._reasons.get(row, ""),
        )


def round4(values: np.ndarray) -> np.ndarray:
    """``round(v, 4)`` of every value, as Python rounds it (the nearest double to the decimal).

    ``rint(v * 1e4) / 1e4`` is that, except where the product's own rounding could move
    ``v * 1e4`` across a half: those few values are rounded by Python.

    >>> round4(np.array([0.03125, 0.12345, -0.00004, 2.675, 0.5])).tolist()
    [0.0312, 0.1235, -0.0, 2.675, 0.5]
    """
    scaled = np.asarray(values, dtype=np.float64) * 1e4
    out = np.rint(scaled) / 1e4
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    for k in np.flatnonzero(near_half).tolist():
        out[k] = round(float(values[k]), 4)
    return out


_LINKED, _VETOED = 1, 2
_BULK = 1 << 13  # pairs scored at once by score_all (bounded memory: 25 MB of embedding rows)


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
    scorer.score_all(candidates)
    members: dict[int, list[int]] = {i: [i] for i in range(len(profiles))}
    root = list(range(len(profiles)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    linked = sorted(scorer.linked(), key=lambda item: (-item[0], item[1], item[2]))
    for _, i, j in linked:
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        cross = [(x, y) for x in members[ri] for y in members[rj]]
        scores = [scorer.combined(x, y) for x, y in cross]  # scores every cross pair, as the links show
        if any(scorer.is_vetoed(x, y) for x, y in cross):
            continue
        if sum(scores) / len(scores) < settings.event_threshold:
            continue
        keep, gone = min(ri, rj), max(ri, rj)
        root[gone] = keep
        members[keep] = sorted(members[keep] + members.pop(gone))

    groups = sorted(members.values(), key=lambda m: m[0])
    cluster_of = {i: g[0] for g in groups for i in g}
    pairs_by_cluster: dict[int, list[PairLink]] = {g[0]: [] for g in groups}
    linked_pairs = 0
    for i, j, link in scorer.links():
        linked_pairs += link.linked
        pairs_by_cluster[cluster_of[i]].append(link)
        if cluster_of[j] != cluster_of[i]:
            pairs_by_cluster[cluster_of[j]].append(link)
    clusters = [_make_cluster(g, articles, profiles, scorer, pairs_by_cluster[g[0]]) for g in groups]
    counts = {
        "candidate_pairs": len(candidates),
        "scored_pairs": len(scorer),
        "linked_pairs": linked_pairs,
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
            return sum(scorer.combined(i, j) for j in group if j != i) / (len(group) - 1)

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
