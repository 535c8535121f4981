"""Clustering metrics against gold clusters: pairwise precision/recall/F1 and adjusted Rand index.

A clustering is a mapping ``{item: cluster label}``.  Labels are arbitrary
(only "same label or not" matters), and only items present in *both* mappings
are compared; :func:`align` says which items were left out.

Pairwise scores count pairs of items: a pair is *predicted* when the system
puts both items in one cluster and *gold* when the reference does.
Precision = |predicted ∩ gold| / |predicted|, recall = |predicted ∩ gold| / |gold|.
With no predicted pair, precision is 1.0 (no wrong link was made); with no gold
pair, recall is 1.0 (nothing was missed).  So all-singletons against a gold
with pairs scores P=1, R=0, F1=0, and one big cluster against gold singletons
P=0, R=1, F1=0.

>>> gold = {"a": 1, "b": 1, "c": 2}
>>> pairwise_scores({"a": "x", "b": "x", "c": "y"}, gold)
PairwiseScores(precision=1.0, recall=1.0, f1=1.0, predicted_pairs=1, gold_pairs=1, true_pairs=1)
>>> adjusted_rand_index({"a": "x", "b": "x", "c": "y"}, gold)
1.0
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from sklearn.metrics import adjusted_rand_score, pair_confusion_matrix

# Generic in the item type: Mapping keys are invariant, so ``Mapping[Hashable, …]``
# would refuse a ``dict[str, str]``.  Cluster labels (values) may be any hashable.
Item = TypeVar("Item", bound=Hashable)
Cluster = TypeVar("Cluster", bound=Hashable)
Labels = Mapping[Item, Hashable]


@dataclass(frozen=True)
class PairwiseScores:
    precision: float
    recall: float
    f1: float
    predicted_pairs: int
    gold_pairs: int
    true_pairs: int


def align(predicted: Labels[Item], gold: Labels[Item]) -> tuple[list[Item], set[Item], set[Item]]:
    """Items in both mappings (sorted by ``str``), and those only in ``predicted`` / only in ``gold``.

    >>> align({"a": 1, "b": 1}, {"b": 0, "c": 0})
    (['b'], {'a'}, {'c'})
    """
    common = sorted(set(predicted) & set(gold), key=str)
    return common, set(predicted) - set(gold), set(gold) - set(predicted)


def _aligned_ids(predicted: Labels[Item], gold: Labels[Item]) -> tuple[list[int], list[int]]:
    """(gold, predicted) cluster ids over the common items: labels of any hashable type become ints."""
    items, _, _ = align(predicted, gold)
    pred_ids: dict[Hashable, int] = {}
    gold_ids: dict[Hashable, int] = {}
    true = [gold_ids.setdefault(gold[i], len(gold_ids)) for i in items]
    pred = [pred_ids.setdefault(predicted[i], len(pred_ids)) for i in items]
    return true, pred


def pairwise_scores(predicted: Labels[Item], gold: Labels[Item]) -> PairwiseScores:
    """Pairwise precision, recall and F1 of ``predicted`` against ``gold``.

    Textbook case (Manning et al., *Introduction to IR*, §16.3): 17 items in
    three clusters; 20 of the 40 same-cluster pairs are right, out of 44 gold pairs.

    >>> system = dict(enumerate("AAAAAABBBBBBCCCCC"))
    >>> truth = dict(enumerate("xxxxxo" "xoooo" "d" "xxdd" "d"))
    >>> s = pairwise_scores(system, truth)
    >>> s.predicted_pairs, s.gold_pairs, s.true_pairs
    (40, 44, 20)
    >>> round(s.precision, 3), round(s.recall, 3), round(s.f1, 3)
    (0.5, 0.455, 0.476)

    Everything in singletons, against gold singletons: nothing to find, nothing found.

    >>> pairwise_scores({"a": 1, "b": 2}, {"a": 1, "b": 2}).f1
    1.0
    """
    true, pred = _aligned_ids(predicted, gold)
    # Ordered pairs: [[apart in both, together only in pred], [together only in gold, together in both]].
    counts = pair_confusion_matrix(true, pred) // 2 if true else np.zeros((2, 2), dtype=int)
    true_pairs = int(counts[1, 1])
    predicted_pairs = int(counts[0, 1]) + true_pairs
    gold_pairs = int(counts[1, 0]) + true_pairs
    precision = true_pairs / predicted_pairs if predicted_pairs else 1.0
    recall = true_pairs / gold_pairs if gold_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScores(precision, recall, f1, predicted_pairs, gold_pairs, true_pairs)


def adjusted_rand_index(predicted: Labels[Item], gold: Labels[Item]) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985) via scikit-learn, over the common items.

    1.0 for identical partitions (labels may differ), about 0 for chance
    agreement, negative for worse than chance.

    >>> adjusted_rand_index({"a": 0, "b": 0, "c": 1, "d": 1}, {"a": 5, "b": 5, "c": 7, "d": 7})
    1.0
    >>> adjusted_rand_index({"a": 0, "b": 0, "c": 1, "d": 1}, {"a": 0, "b": 1, "c": 0, "d": 1})
    -0.5

    scikit-learn's documented example: one gold cluster split in two.

    >>> round(adjusted_rand_index({"a": 0, "b": 0, "c": 1, "d": 2}, {"a": 0, "b": 0, "c": 1, "d": 1}), 2)
    0.57
    """
    true, pred = _aligned_ids(predicted, gold)
    return float(adjusted_rand_score(true, pred)) if true else 0.0


def labels_from_members(clusters: Iterable[tuple[Cluster, Iterable[Item]]]) -> dict[Item, Cluster]:
    """``{item: cluster}`` from ``(cluster, members)`` pairs.

    >>> labels_from_members([("e1", ["a", "b"]), ("e2", ["c"])])
    {'a': 'e1', 'b': 'e1', 'c': 'e2'}
    """
    labels: dict[Item, Cluster] = {}
    for cluster, members in clusters:
        for item in members:
            if item in labels:
                raise ValueError(f"{item!r} is in clusters {labels[item]!r} and {cluster!r}")
            labels[item] = cluster
    return labels


def load_gold_clusters(path: str | Path) -> dict[str, str]:
    """``{article name: cluster slug}`` from a gold ``clusters.jsonl``."""
    rows: list[tuple[str, list[str]]] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                rows.append((row["cluster"], row["members"]))
    return labels_from_members(rows)
