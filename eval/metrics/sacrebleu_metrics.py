"""Corpus-level BLEU and chrF through sacrebleu, with sacrebleu's own signatures.

Each item is a ``(hypothesis, reference)`` pair.  Its statistics are sacrebleu's
own sufficient statistics (n-gram matches and totals), and a list of them is
summed and turned into a score by sacrebleu, which is exactly what
``corpus_score`` does, and what sacrebleu's own bootstrap does on resamples.
Those two steps are underscore methods of sacrebleu's metric classes;
``tests/test_metrics.py`` checks that our corpus score equals the public
``corpus_score`` so a change in sacrebleu cannot slip by.  (Re-scoring each
bootstrap resample through ``corpus_score`` gives the same numbers but takes
seconds per system instead of milliseconds.)

Our signature embeds sacrebleu's verbatim (``extra["sacrebleu_signature"]``).

>>> round(Bleu().score([("the cat sat on the mat", "the cat sat on the mat")]).score, 6)
100.0
>>> Bleu().score([("the cat sat on the mat", "the cat sat on the mat")]).extra["sacrebleu_signature"]
'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:...'
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.metrics.base import Metric as SacrebleuMetric

from eval.metrics.base import Metric, package_version


class _Sacrebleu(Metric):
    """Shared plumbing: items are ``(hypothesis, reference)``; one reference per item."""

    def __init__(self) -> None:
        self._metric = self._make()

    def _make(self) -> SacrebleuMetric:
        raise NotImplementedError

    def item_statistics(self, item: tuple[str, str]) -> tuple[float, ...]:
        hypothesis, reference = item
        (stats,) = self._metric._extract_corpus_statistics([hypothesis], [[reference]])
        return tuple(float(x) for x in stats)

    def aggregate(self, stats: Sequence[tuple[float, ...]]) -> float:
        totals = np.asarray(stats, dtype=float).sum(axis=0)
        return float(self._metric._compute_score_from_stats(totals.tolist()).score)

    def corpus_score(self, items: Sequence[tuple[str, str]]) -> Any:
        """sacrebleu's public ``corpus_score`` on the items (a fresh metric object each time)."""
        metric = self._make()
        result = metric.corpus_score([h for h, _ in items], [[r for _, r in items]])
        return result, metric.get_signature()

    def extra(self, stats: Sequence[tuple[float, ...]]) -> dict[str, Any]:
        # The signature only depends on the options and one reference per item.
        _, signature = self.corpus_score([("x", "x")])
        return {"sacrebleu_signature": str(signature)}

    def versions(self) -> dict[str, str]:
        return {"sacrebleu": package_version("sacrebleu"), "numpy": package_version("numpy")}


class Bleu(_Sacrebleu):
    key = "bleu"
    label = "BLEU (sacrebleu, corpus-level)"
    short = "BLEU"

    def _make(self) -> SacrebleuMetric:
        return BLEU()

    @functools.cached_property
    def _sentence_bleu(self) -> BLEU:
        return BLEU(effective_order=True)

    def item_score(self, stat: tuple[float, ...]) -> float:
        # One paragraph on its own: sentence BLEU needs effective order, or most are 0.
        return float(self._sentence_bleu._compute_score_from_stats([int(x) for x in stat]).score)

    def options(self) -> dict[str, Any]:
        return {"tok": "13a", "smooth": "exp", "case": "mixed", "level": "corpus", "item-eff": True}


class Chrf(_Sacrebleu):
    key = "chrf"
    label = "chrF (sacrebleu, corpus-level)"
    short = "chrF"

    def _make(self) -> SacrebleuMetric:
        return CHRF()

    def options(self) -> dict[str, Any]:
        return {"nc": 6, "nw": 0, "beta": 2, "level": "corpus"}
