"""Candidate article pairs from MinHash LSH over sets of distinctive items, in bounded memory.

Each article has a set of *blocking items* (entity keys and keywords that a few
other articles share).  Two articles become candidates when their MinHash
signatures agree on all ``r`` rows of at least one of ``b`` bands, as in
``datasketch.MinHashLSH`` with the ``(b, r)`` it picks for the threshold.

A ``MinHashLSH`` over 100k articles with 30-odd bands holds a Python set per
bucket and costs over a gigabyte, so the buckets are found with numpy instead,
a few bands at a time: sorting a band's values groups the articles that agree
on all of them (the same buckets as ``MinHashLSH``, hence exactly the same
candidates), in a few integer arrays per band.  The pairs of a few bands'
buckets are merged into every article's running best candidates at once, in
numpy, not article by article (100k articles: some 400k numpy calls saved).

Pairs that ``allowed`` rules out (for events: published too far apart to be
one event) never take a candidate's place, so each article's places go to pairs
that could link.  Each article keeps at most ``limit`` candidates, those whose full signatures
agree most (the MinHash estimate of Jaccard similarity), so the number of pairs
to score grows linearly with the corpus.  The pairs come back as one integer
array (a million pairs as Python tuples in a set would cost some 200 MB).

>>> sets = [{"ustda", "austin", "lamrani"}, {"ustda", "austin", "lamrani", "texas"}, {"inde", "fes"}]
>>> candidate_pairs(sets, threshold=0.3, num_perm=64, limit=5).tolist()
[[0, 1]]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from datasketch import MinHashLSH

from pipeline.dedup.shingles import signature

BANDS_PER_INDEX = 8  # bands whose buckets are held at once (100k articles: ~3 MB a band)


PairFilter = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (lo, hi) -> which pairs may be candidates


def candidate_pairs(
    item_sets: Sequence[Iterable[str]],
    threshold: float,
    num_perm: int,
    limit: int,
    allowed: PairFilter | None = None,
) -> np.ndarray:
    """Pairs of sets whose signatures collide in some band: rows ``(i, j)``, ``i < j``, sorted, unique.

    ``allowed(lo, hi)``, if given, says which pairs ``(lo[k], hi[k])`` may be candidates at all.
    """
    n = len(item_sets)
    none = np.zeros((0, 2), dtype=np.int64)
    if n < 2:
        return none
    matrix: np.ndarray | None = None  # one signature per row (rows of empty sets stay unused)
    present = []
    for i, items in enumerate(item_sets):
        if not items:
            continue
        values = signature(set(items), num_perm).hashvalues
        if matrix is None:
            matrix = np.zeros((n, num_perm), dtype=values.dtype)
        matrix[i] = values
        present.append(i)
    if matrix is None or len(present) < 2:
        return none
    reference = MinHashLSH(threshold=threshold, num_perm=num_perm)  # datasketch picks (b, r)
    bands, rows = reference.b, reference.r
    del reference

    # Best candidates so far per article: index and estimated Jaccard.
    best = np.full((n, limit), -1, dtype=np.int64)
    best_sim = np.full((n, limit), -1.0, dtype=np.float32)
    ids = np.asarray(present, dtype=np.int64)
    for first in range(0, bands, BANDS_PER_INDEX):
        bucket_pairs = [
            _bucket_pairs(matrix[ids, b * rows : (b + 1) * rows])
            for b in range(first, min(first + BANDS_PER_INDEX, bands))
        ]
        codes = np.unique(np.concatenate(bucket_pairs))  # (k, l) as k * m + l over ``ids``' positions
        del bucket_pairs
        lo, hi = ids[codes // len(ids)], ids[codes % len(ids)]
        del codes
        if allowed is not None:
            keep = allowed(lo, hi)
            lo, hi = lo[keep], hi[keep]
        _keep_best(best, best_sim, lo, hi, matrix)
    rows, slots = np.nonzero(best >= 0)
    others = best[rows, slots]
    codes = np.unique(np.minimum(rows, others) * n + np.maximum(rows, others))  # sorted, unique
    return np.stack([codes // n, codes % n], axis=1)


def _bucket_pairs(band: np.ndarray) -> np.ndarray:
    """Every pair ``(k, l)``, ``k < l``, of rows of ``band`` with equal values (sharing a band's
    LSH bucket), as ``k * len(band) + l``."""
    _, labels = np.unique(band, axis=0, return_inverse=True)
    labels = labels.reshape(-1)
    order = np.argsort(labels, kind="stable")  # rows bucket by bucket, ascending within one
    ends = np.cumsum(np.bincount(labels))[labels[order]]  # where each row's bucket ends in ``order``
    after = ends - np.arange(len(order)) - 1  # rows after it in its bucket: its partners
    total = int(after.sum())
    at = np.repeat(np.arange(len(order)), after)  # each pair's first row, as a position in ``order``
    offsets = np.arange(total) - np.repeat(np.cumsum(after) - after, after)
    return order[at] * len(band) + order[at + 1 + offsets]


def _keep_best(
    best: np.ndarray, best_sim: np.ndarray, lo: np.ndarray, hi: np.ndarray, matrix: np.ndarray
) -> None:
    """Merge the candidate pairs ``(lo, hi)`` (``lo < hi``, unique) into the running
    top-``limit`` candidates of each article, both ways."""
    n, limit = best.shape
    rows, slots = np.nonzero(best >= 0)
    held = np.sort(rows * n + best[rows, slots])

    def holds(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if not held.size:
            return np.zeros(len(a), dtype=bool)
        codes = a * n + b
        return held[np.minimum(np.searchsorted(held, codes), held.size - 1)] == codes

    forward, backward = holds(lo, hi), holds(hi, lo)
    new = ~(forward & backward)
    lo, hi, forward, backward = lo[new], hi[new], forward[new], backward[new]
    if not lo.size:
        return
    sims = np.empty(len(lo), dtype=np.float32)  # symmetric: once per pair
    step = 1 << 16  # pairs compared at once (bounded memory)
    for start in range(0, len(lo), step):
        a, b = lo[start : start + step], hi[start : start + step]
        sims[start : start + step] = (matrix[b] == matrix[a]).mean(axis=1).astype(np.float32)
    # With what each article holds already; highest estimate first, ties to the earlier
    # article, so results do not depend on set order.
    all_left = np.concatenate([rows, lo[~forward], hi[~backward]])
    all_right = np.concatenate([best[rows, slots], hi[~forward], lo[~backward]])
    all_sims = np.concatenate([best_sim[rows, slots], sims[~forward], sims[~backward]])
    order = np.lexsort((all_right, -all_sims, all_left))
    all_left, all_right, all_sims = all_left[order], all_right[order], all_sims[order]
    starts = np.searchsorted(all_left, all_left, "left")
    rank = np.arange(len(all_left)) - starts
    top = rank < limit
    best.fill(-1)
    best_sim.fill(-1.0)
    best[all_left[top], rank[top]] = all_right[top]
    best_sim[all_left[top], rank[top]] = all_sims[top]
