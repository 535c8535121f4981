"""Clustering metrics on textbook cases, and against the gold seed clusters."""

from __future__ import annotations

import pytest

from eval.clustering import (
    adjusted_rand_index,
    align,
    labels_from_members,
    load_gold_clusters,
    pairwise_scores,
)
from tests.conftest import CORPUS

# Manning, Raghavan & Schütze, Introduction to Information Retrieval, §16.3 (Figure 16.4):
# three clusters of 17 points; TP = 20, FP = 20, FN = 24, TN = 72, Rand index 0.68.
IIR_SYSTEM = dict(enumerate("AAAAAABBBBBBCCCCC"))
IIR_GOLD = dict(enumerate("xxxxxoxoooodxxddd"))


def test_iir_example_pair_counts():
    s = pairwise_scores(IIR_SYSTEM, IIR_GOLD)
    tp, fp, fn = s.true_pairs, s.predicted_pairs - s.true_pairs, s.gold_pairs - s.true_pairs
    tn = 17 * 16 // 2 - tp - fp - fn
    assert (tp, fp, fn, tn) == (20, 20, 24, 72)
    assert round((tp + tn) / (tp + fp + fn + tn), 2) == 0.68  # the book's Rand index
    assert s.precision == 0.5
    assert s.recall == pytest.approx(20 / 44)
    assert s.f1 == pytest.approx(2 * 0.5 * (20 / 44) / (0.5 + 20 / 44))


def test_ari_matches_the_pair_counting_formula():
    # ARI from the four pair counts (Steinley 2004), independent of scikit-learn's contingency code.
    tp, fp, fn, tn = 20, 20, 24, 72
    expected = 2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
    assert adjusted_rand_index(IIR_SYSTEM, IIR_GOLD) == pytest.approx(expected)


def test_identical_partitions_with_other_labels():
    gold = {"a": "e1", "b": "e1", "c": "e2", "d": "e3"}
    predicted = {"a": 7, "b": 7, "c": 1, "d": 0}
    assert adjusted_rand_index(predicted, gold) == 1.0
    s = pairwise_scores(predicted, gold)
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)


def test_degenerate_partitions():
    gold = {"a": 1, "b": 1, "c": 2, "d": 2}
    singletons = {k: k for k in gold}
    one_cluster = dict.fromkeys(gold, 0)
    s = pairwise_scores(singletons, gold)
    assert (s.precision, s.recall, s.f1) == (1.0, 0.0, 0.0)
    s = pairwise_scores(one_cluster, {k: k for k in gold})
    assert (s.precision, s.recall, s.f1) == (0.0, 1.0, 0.0)
    assert pairwise_scores(singletons, singletons).f1 == 1.0
    assert adjusted_rand_index(one_cluster, gold) == 0.0  # a constant labelling agrees by chance only
    assert adjusted_rand_index({}, {}) == 0.0


def test_only_common_items_are_compared():
    predicted = {"a": 1, "b": 1, "extra": 1}
    gold = {"a": "x", "b": "x", "missing": "y"}
    assert align(predicted, gold) == (["a", "b"], {"extra"}, {"missing"})
    assert pairwise_scores(predicted, gold).f1 == 1.0


def test_gold_file_and_member_lists():
    gold = load_gold_clusters(CORPUS / "references" / "clusters.jsonl")
    assert len(gold) == 5 and len(set(gold.values())) == 3
    assert gold["000_710035bb6a824cb7"] == gold["002_0b75a9a2d9278537"] == "feb-2024-us-digital-mission"
    with pytest.raises(ValueError, match="is in clusters"):
        labels_from_members([("e1", ["a"]), ("e2", ["a"])])
