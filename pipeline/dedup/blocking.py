"""Candidate article pairs from MinHash LSH over sets of distinctive items, in bounded memory.

Each article has a set of *blocking items* (entity keys and keywords that a few
other articles share).  Two articles become candidates when their MinHash
signatures agree on all ``r`` rows of at least one of ``b`` bands, as in
``datasketch.MinHashLSH`` with the ``(b, r)`` it picks for the threshold.

A ``MinHashLSH`` over 100k articles with 30-odd bands holds a Python set per
bucket and costs over a gigabyte, so the bands are indexed a few at a time:
each *band group* is its own ``MinHashLSH`` over the matching slice of the
signatures (the same buckets, hence exactly the same candidates as one index
over all bands), queried and dropped before the next one is built.

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
from datasketch import LeanMinHash, MinHashLSH

from pipeline.dedup.shingles import signature

BANDS_PER_INDEX = 4  # bands held in memory at once (100k articles: ~40 MB a band)


def candidate_pairs(
    item_sets: Sequence[Iterable[str]], threshold: float, num_perm: int, limit: int
) -> np.ndarray:
    """Pairs of sets whose signatures collide in some band: rows ``(i, j)``, ``i < j``, sorted, unique."""
    n = len(item_sets)
    none = np.zeros((0, 2), dtype=np.int64)
    if n < 2:
        return none
    signatures = [signature(set(items), num_perm) if items else None for items in item_sets]
    present = [i for i, s in enumerate(signatures) if s is not None]
    if len(present) < 2:
        return none
    scheme = signatures[present[0]].scheme  # type: ignore[union-attr]
    seed = signatures[present[0]].seed  # type: ignore[union-attr]
    matrix = np.zeros((n, num_perm), dtype=signatures[present[0]].hashvalues.dtype)  # type: ignore[union-attr]
    for i in present:
        matrix[i] = signatures[i].hashvalues  # type: ignore[union-attr]
    del signatures
    reference = MinHashLSH(threshold=threshold, num_perm=num_perm)  # datasketch picks (b, r)
    bands, rows = reference.b, reference.r
    del reference

    # Best candidates so far per article: index and estimated Jaccard.
    best = np.full((n, limit), -1, dtype=np.int64)
    best_sim = np.full((n, limit), -1.0, dtype=np.float32)
    for first in range(0, bands, BANDS_PER_INDEX):
        count = min(BANDS_PER_INDEX, bands - first)
        columns = slice(first * rows, (first + count) * rows)
        lsh = MinHashLSH(num_perm=count * rows, params=(count, rows))
        sketches = {i: LeanMinHash(seed=seed, hashvalues=matrix[i, columns], scheme=scheme) for i in present}
        for i, sketch in sketches.items():
            lsh.insert(i, sketch, check_duplication=False)
        for i, sketch in sketches.items():
            found = np.fromiter((j for j in lsh.query(sketch) if j != i), dtype=np.int64)
            if found.size:
                _keep_best(best, best_sim, i, found, matrix)
        del lsh, sketches
    rows, slots = np.nonzero(best >= 0)
    others = best[rows, slots]
    codes = np.unique(np.minimum(rows, others) * n + np.maximum(rows, others))  # sorted, unique
    return np.stack([codes // n, codes % n], axis=1)


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
