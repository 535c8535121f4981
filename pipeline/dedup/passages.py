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

A 100k-article corpus has millions of units, most of them leaders of a group
of one, so the index is kept compact (:class:`LeaderIndex`): the LSH buckets
are those ``MinHashLSH`` builds for the same ``(b, r)`` (hence the same
candidates) but keyed by one integer per band in plain dicts, and each
leader's shingle set is a run of integer shingle ids in one shared array, not
a ``frozenset`` of strings.
"""

from __future__ import annotations

import hashlib
import heapq
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

from pipeline.dedup.shingles import content_words, shingles, signature, words
from pipeline.records import Article, Occurrence, Passage
from pipeline.settings import DedupSettings

# Candidates are verified exactly, so the LSH may err towards false positives:
# weigh a missed pair more than a wasted check when datasketch picks bands/rows.
_LSH_WEIGHTS = (0.3, 0.7)
# Candidates checked one by one up to this many; more in one numpy pass (its set-up costs
# about as much as this many checks).
_FEW_CANDIDATES = 16


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
    occurrences: list[Occurrence]
    min_jaccard: float = 1.0


class LeaderIndex:
    """Group leaders: their MinHash LSH buckets and exact shingle sets, in compact form.

    ``query`` gives exactly the keys ``datasketch.MinHashLSH(threshold, num_perm,
    weights)`` would (a key shares all ``r`` values of some band), but a bucket is
    one dict entry keyed by the band's values packed into one integer (MinHash
    values are 32-bit), holding a key or a list of keys, instead of a bytes key
    and a set.  Shingles become integer ids (one per distinct string, so Jaccard
    stays exact), and each leader's ids are one run of a shared array.  Keys are
    the group numbers: non-negative and inserted in increasing order.

    >>> from pipeline.dedup.shingles import signature
    >>> index = LeaderIndex(threshold=0.4, num_perm=64)
    >>> a = {"agence", "mission", "austin", "dallas", "texas"}
    >>> index.insert(0, signature(a), index.ids(a))
    >>> b = {"agence", "mission", "austin", "dallas", "houston"}
    >>> sorted(index.query(signature(b))), index.jaccard(index.ids(b), 0)
    ([0], 0.6666666666666666)
    """

    __slots__ = ("_buckets", "_ids", "_items", "_mask", "_starts", "bands", "rows")

    def __init__(self, threshold: float, num_perm: int, weights: tuple[float, float] = (0.5, 0.5)):
        reference = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=weights)  # picks (b, r)
        self.bands, self.rows = reference.b, reference.r
        self._buckets: list[dict[int, int | list[int]]] = [{} for _ in range(self.bands)]
        self._ids: dict[str, int] = {}  # shingle -> id
        self._items = array("i")  # the leaders' shingle ids, one run after another
        self._starts = array("q", [0])  # key k's run is _items[_starts[k] : _starts[k + 1]]
        self._mask = np.zeros(0, dtype=bool)  # scratch for best(): one flag per shingle id

    def ids(self, shingle_set: Iterable[str]) -> set[int]:
        """The ids of a set of shingles (new shingles get new ids)."""
        ids = self._ids
        return {ids.setdefault(s, len(ids)) for s in shingle_set}

    def _band_keys(self, minhash: LeanMinHash) -> list[int]:
        values = minhash.hashvalues[: self.bands * self.rows]
        if values.max(initial=0) >> 32:
            raise ValueError("LeaderIndex packs 32-bit MinHash values (datasketch's affine32 scheme)")
        raw = values.astype("<u4").tobytes()
        width = 4 * self.rows
        return [int.from_bytes(raw[k * width : (k + 1) * width], "little") for k in range(self.bands)]

    def query(self, minhash: LeanMinHash) -> set[int]:
        """Keys of the leaders that share all values of at least one band with ``minhash``."""
        found: set[int] = set()
        for bucket, band in zip(self._buckets, self._band_keys(minhash), strict=True):
            hit = bucket.get(band)
            if hit is None:
                continue
            if isinstance(hit, int):
                found.add(hit)
            else:
                found.update(hit)
        return found

    def insert(self, key: int, minhash: LeanMinHash, ids: set[int]) -> None:
        """Index leader ``key`` (larger than every key so far) with its shingle ids."""
        if key < len(self._starts) - 1:
            raise ValueError(f"keys must increase: {key} after {len(self._starts) - 2}")
        for bucket, band in zip(self._buckets, self._band_keys(minhash), strict=True):
            hit = bucket.get(band)
            if hit is None:
                bucket[band] = key
            elif isinstance(hit, int):
                bucket[band] = [hit, key]
            else:
                hit.append(key)
        end = len(self._items)
        while len(self._starts) <= key:  # keys never inserted have empty runs
            self._starts.append(end)
        self._items.extend(ids)
        self._starts.append(len(self._items))

    def best(self, ids: set[int], keys: Collection[int], limit: int) -> tuple[int, float]:
        """The leader most similar to shingle ids ``ids`` (exact Jaccard; ties go to the smaller
        key) among the ``limit`` smallest of ``keys``, and its similarity; ``(-1, -1.0)`` for none.

        Many candidates (a crowded region of the corpus: templated text) are checked in one
        numpy pass over their runs of shingle ids, few one by one.
        """
        if len(keys) <= _FEW_CANDIDATES:
            best, best_sim = -1, -1.0
            for key in heapq.nsmallest(limit, keys) if len(keys) > limit else keys:
                sim = self.jaccard(ids, key)
                if sim > best_sim or (sim == best_sim and key < best):
                    best, best_sim = key, sim
            return best, best_sim
        chosen = np.fromiter(keys, dtype=np.int64, count=len(keys))
        chosen.sort()
        chosen = chosen[:limit]
        starts = np.frombuffer(self._starts, dtype=np.int64)
        begin, lengths = starts[chosen], starts[chosen + 1] - starts[chosen]
        ends = np.cumsum(lengths)
        # Every candidate's run of shingle ids, one after another; which of them ``ids`` has.
        runs = np.frombuffer(self._items, dtype=np.int32)[
            np.arange(ends[-1]) - np.repeat(ends - lengths - begin, lengths)
        ]
        del starts  # views of the arrays insert() extends
        if len(self._mask) < len(self._ids):
            self._mask = np.zeros(2 * len(self._ids), dtype=bool)
        own = np.fromiter(ids, dtype=np.int64, count=len(ids))
        self._mask[own] = True
        shared = np.concatenate(([0], np.cumsum(self._mask[runs])))
        self._mask[own] = False
        inter = shared[ends] - shared[ends - lengths]
        sims = inter / (len(ids) + lengths - inter)
        at = int(np.argmax(sims))  # the first of equal maxima: the smaller key
        return int(chosen[at]), float(sims[at])

    def jaccard(self, ids: set[int], key: int) -> float:
        """Exact Jaccard similarity of a set of shingle ids and leader ``key``'s (1.0 for two empty sets)."""
        start, end = self._starts[key], self._starts[key + 1]
        inter = len(ids.intersection(self._items[start:end]))
        union = len(ids) + (end - start) - inter
        return inter / union if union else 1.0


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
    Most units stay alone, so a group is its first occurrence in flat arrays
    until a second unit joins it.
    """
    index = LeaderIndex(settings.passage_threshold, settings.num_perm, _LSH_WEIGHTS)
    limit = settings.max_passage_candidates
    first_article: list[str] = []  # per group: its first occurrence
    first_span = array("q")  # start, end of each group's first occurrence
    joined: dict[int, _Group] = {}  # groups of two or more: the later occurrences
    exact: dict[int, int] = {}  # hash of the content words -> group

    def join(gid: int, occurrence: Occurrence, sim: float = 1.0) -> None:
        group = joined.get(gid)
        if group is None:
            group = joined[gid] = _Group([])
        group.occurrences.append(occurrence)
        group.min_jaccard = min(group.min_jaccard, sim)

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
            join(exact[key], occurrence)
            continue
        shingle_set = shingles(tokens, settings.shingle_words)
        minhash = signature(shingle_set, settings.num_perm)
        ids = index.ids(shingle_set)
        found = index.query(minhash)
        crowded = len(found) > limit
        # Crowded: verify the oldest leaders only, bounded work per unit.
        best, best_sim = index.best(ids, found, limit)
        if best >= 0 and best_sim >= settings.passage_threshold:
            join(best, occurrence, best_sim)
            exact[key] = best
            continue
        gid = len(first_article)
        exact[key] = gid
        first_article.append(unit.article_id)
        first_span.extend((unit.start, unit.end))
        # Crowded: many similar leaders already cover this region (templated text
        # with other names); another leader would only make every later query
        # longer.  The unit keeps its own group; exact copies still join it.
        if not crowded:
            index.insert(gid, minhash, ids)
    del index, exact
    passages = []
    for gid in sorted(joined):
        group = joined[gid]
        first = Occurrence(first_article[gid], first_span[2 * gid], first_span[2 * gid + 1])
        group.occurrences.insert(0, first)
        passages.append(_to_passage(kind, group, text_of))
    return passages


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
