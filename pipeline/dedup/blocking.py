"""Candidate article pairs from MinHash LSH over sets of distinctive items, in bounded memory.

Each article has a set of *blocking items* (entity keys and keywords that a few
other articles share).  Two articles become candidates when their MinHash
signatures agree on all ``r`` rows of at least one of ``b`` bands, as in
``datasketch.MinHashLSH`` with the ``(b, r)`` it picks for the threshold.

A ``MinHashLSH`` over 100k articles with 30-odd bands holds a Python set per
bucket and costs over a gigabyte, so the buckets are found with numpy instead,
a few bands at a time: sorting a band's values groups the articles that agree
on all of them (the same buckets as ``MinHashLSH``, hence exactly the same
candidates), in a few integer arrays per band.

Each article keeps at most ``limit`` candidates, those whose full signatures
agree most (the MinHash estimate of Jaccard similarity), so the number of pairs
to score grows linearly with the corpus.  The pairs come back as one integer
array (a million pairs as Python tuples in a set would cost some 200 MB).

>>> sets = [{"ustda", "austin", "lamrani"}, {"ustda", "austin", "lamrani", "texas"}, {"inde", "fes"}]
>>> candidate_pairs(sets, threshold=0.3, num_perm=64, limit=5).tolist()
[[0, 1]]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from datasketch import MinHashLSH

from pipeline.dedup.shingles import signature

BANDS_PER_INDEX = 8  # bands whose buckets are held at once (100k articles: ~3 MB a band)


def candidate_pairs(
    item_sets: Sequence[Iterable[str]], threshold: float, num_perm: int, limit: int
) -> np.ndarray:
    """Pairs of sets whose signatures collide in some band: rows ``(i, j)``, ``i < j``, sorted, unique."""
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
        buckets = [
            _buckets(matrix[ids, b * rows : (b + 1) * rows])
            for b in range(first, min(first + BANDS_PER_INDEX, bands))
        ]
        for k, i in enumerate(present):
            parts = [order[start[k] : end[k]] for order, start, end in buckets if end[k] - start[k] > 1]
            if not parts:
                continue
            found = ids[np.unique(np.concatenate(parts))]
            found = found[found != i]
            _keep_best(best, best_sim, i, found, matrix)
        del buckets
    rows, slots = np.nonzero(best >= 0)
    others = best[rows, slots]
    codes = np.unique(np.minimum(rows, others) * n + np.maximum(rows, others))  # sorted, unique
    return np.stack([codes // n, codes % n], axis=1)


def _buckets(band: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``band`` grouped by equal values (a band's LSH buckets): row ``k``'s bucket is
    ``order[start[k]:end[k]]``."""
    _, labels = np.unique(band, axis=0, return_inverse=True)
    labels = labels.reshape(-1)
    order = np.argsort(labels, kind="stable")
    ranked = labels[order]
    return order, np.searchsorted(ranked, labels, "left"), np.searchsorted(ranked, labels, "right")


def _keep_best(best: np.ndarray, best_sim: np.ndarray, i: int, found: np.ndarray, matrix: np.ndarray) -> None:
    """Merge ``found`` into row ``i`` of the running top-``limit`` candidates."""
    found = found[~np.isin(found, best[i])]
    if not found.size:
        return
    sims = (matrix[found] == matrix[i]).mean(axis=1).astype(np.float32)
    ids = np.concatenate([best[i], found])
    scores = np.concatenate([best_sim[i], sims])
    # Highest estimate first; ties go to the earlier article, so results do not depend on set order.
    order = np.lexsort((ids, -scores))[: best.shape[1]]
    best[i], best_sim[i] = ids[order], scores[order]
    best[i][best_sim[i] < 0] = -1
