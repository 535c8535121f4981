"""ROUGE-1/2/L F-measure via rouge-score, with a choice of tokenizer.

Two settings are reported side by side and labelled:

* ``tok:french-v1`` - :class:`eval.tokenizers.FrenchTokenizer`, which keeps
  accented words whole; the number to read for French.
* ``tok:rouge-default`` - rouge-score's own defaults (``[a-z0-9]`` tokens, no
  stemming), the setting of published tables computed with rouge-score (e.g.
  OrangeSum and XL-Sum baselines), so numbers can be compared with them.

Scores are F-measures x 100, averaged over items (macro average).

>>> m = Rouge("rouge1", "french")
>>> round(m.score([("la délégation marocaine", "une délégation marocaine")]).score, 2)
66.67
>>> round(Rouge("rouge1", "rouge-default").score([("la délégation", "une délégation")]).score, 2)
75.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rouge_score import rouge_scorer

from eval.metrics.base import Metric, package_version
from eval.tokenizers import get_tokenizer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_NAMES = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L"}
_TOKENIZER_LABELS = {
    "french": "French tokenizer",
    "rouge-default": "rouge-score default tokenizer, comparable with published tables",
}
_SHORT = {"french": "fr", "rouge-default": "default"}


class Rouge(Metric):
    """One ROUGE variant (``rouge1``, ``rouge2`` or ``rougeL``) with one tokenizer."""

    def __init__(self, rouge_type: str = "rougeL", tokenizer: str = "french"):
        if rouge_type not in ROUGE_TYPES:
            raise ValueError(f"unknown ROUGE type {rouge_type!r}; choose from {', '.join(ROUGE_TYPES)}")
        self.rouge_type = rouge_type
        self.tokenizer_name = tokenizer
        self.tokenizer = get_tokenizer(tokenizer)
        self._scorer = rouge_scorer.RougeScorer([rouge_type], tokenizer=self.tokenizer)
        self.key = f"{rouge_type}-{_SHORT.get(tokenizer, tokenizer)}"
        self.label = f"{_NAMES[rouge_type]} F ({_TOKENIZER_LABELS.get(tokenizer, tokenizer)})"
        self.short = f"{_NAMES[rouge_type]} {_SHORT.get(tokenizer, tokenizer)}-tok"

    def item_statistics(self, item: tuple[str, str]) -> float:
        hypothesis, reference = item
        # rouge-score's argument order is (target, prediction).
        return self._scorer.score(reference, hypothesis)[self.rouge_type].fmeasure

    def aggregate(self, stats: Sequence[float]) -> float:
        return 100.0 * sum(stats) / len(stats)

    def options(self) -> dict[str, Any]:
        return {"tok": getattr(self.tokenizer, "name", self.tokenizer_name), "stem": False, "avg": "macro-f"}

    def versions(self) -> dict[str, str]:
        return {"rouge-score": package_version("rouge-score"), "numpy": package_version("numpy")}


def rouge_metrics() -> list[Rouge]:
    """All six: ROUGE-1/2/L with the French tokenizer, then with rouge-score's default."""
    return [Rouge(t, tok) for tok in ("french", "rouge-default") for t in ROUGE_TYPES]
