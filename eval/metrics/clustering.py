"""Event clustering against gold clusters: pairwise precision/recall/F1 and adjusted Rand index.

The arithmetic lives in :mod:`eval.clustering` (plain functions over
``{article name: cluster label}`` dicts); these classes give it the common
metric interface and signatures.  Items are ``(article name, predicted label,
gold label)`` triples.  No bootstrap interval: pairwise scores are not a mean
over independent items (resampling articles duplicates pairs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eval.metrics.base import Metric, package_version

_LABELS = {
    "precision": "Pairwise precision",
    "recall": "Pairwise recall",
    "f1": "Pairwise F1",
    "ari": "Adjusted Rand index",
}


class ClusteringMetric(Metric):
    no_ci_reason = "no CI: pairwise clustering scores are not a mean over independent items"

    def __init__(self, which: str = "f1"):
        if which not in _LABELS:
            raise ValueError(f"unknown clustering score {which!r}; choose from {', '.join(_LABELS)}")
        self.which = which
        self.key = f"cluster-{which}"
        self.label = _LABELS[which]
        self.short = which

    def item_statistics(self, item: tuple[str, str, str]) -> tuple[str, str, str]:
        return item

    def aggregate(self, stats: Sequence[tuple[str, str, str]]) -> float:
        from eval.clustering import adjusted_rand_index, pairwise_scores

        pred, gold = _labels(stats)
        if self.which == "ari":
            return float(adjusted_rand_index(pred, gold))
        return float(getattr(pairwise_scores(pred, gold), self.which))

    def extra(self, stats: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
        from eval.clustering import pairwise_scores

        scores = pairwise_scores(*_labels(stats))
        return {
            "predicted_pairs": scores.predicted_pairs,
            "gold_pairs": scores.gold_pairs,
            "true_pairs": scores.true_pairs,
        }

    def item_score(self, stat: tuple[str, str, str]) -> float | None:
        return None  # a single article has no pairs

    def options(self) -> dict[str, Any]:
        return {"over": "article-pairs", "scale": "0-1"}

    def versions(self) -> dict[str, str]:
        # The pair counts and the ARI are scikit-learn's (eval.clustering).
        return {
            "french-news-pipeline": package_version("french-news-pipeline"),
            "scikit-learn": package_version("scikit-learn"),
        }


def _labels(stats: Sequence[tuple[str, str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    return {name: p for name, p, _ in stats}, {name: g for name, _, g in stats}


def clustering_metrics() -> list[ClusteringMetric]:
    return [ClusteringMetric(w) for w in ("precision", "recall", "f1", "ari")]
