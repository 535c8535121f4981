"""Metrics with one interface (:class:`Metric`), signatures and bootstrap intervals."""

from eval.metrics.base import Metric, MetricScore, Signature
from eval.metrics.clustering import ClusteringMetric, clustering_metrics
from eval.metrics.faithfulness import Faithfulness
from eval.metrics.rouge import ROUGE_TYPES, Rouge, rouge_metrics
from eval.metrics.sacrebleu_metrics import Bleu, Chrf

__all__ = [
    "ROUGE_TYPES",
    "Bleu",
    "Chrf",
    "ClusteringMetric",
    "Faithfulness",
    "Metric",
    "MetricScore",
    "Rouge",
    "Signature",
    "clustering_metrics",
    "rouge_metrics",
]
