"""The metric interface, after sacrebleu: a few hooks, a score object and a signature.

A metric turns each test item (a ``(hypothesis, reference)`` pair, or whatever
its subclass scores) into *statistics* and aggregates any list of statistics
into one number.  Splitting the two is what lets one base class compute the
corpus score, per-item scores for plots, percentile bootstrap intervals and
paired comparisons for every metric alike.

Every score carries a :class:`Signature`: the metric, tokenizer and options,
``n``, the bootstrap settings and the versions of the libraries that computed
it, so a number in a report can be reproduced.
"""

from __future__ import annotations

import importlib.metadata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from eval.bootstrap import TOO_SMALL, BootstrapSettings, PairedResult, paired_bootstrap, percentile_ci


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        if name == "french-news-pipeline":  # a source checkout that was not pip-installed
            import pipeline

            return pipeline.__version__
        return "unknown"


@dataclass(frozen=True)
class Signature:
    """``metric|key:value|...|lib:version``, in a fixed order, like sacrebleu's signatures.

    >>> Signature("rouge1", {"tok": "french-v1", "n": 5}, {"rouge-score": "0.1.2"}).format()
    'rouge1|tok:french-v1|n:5|rouge-score:0.1.2'
    """

    metric: str
    options: dict[str, Any]
    versions: dict[str, str] = field(default_factory=dict)

    def format(self) -> str:
        parts = [self.metric]
        parts += [f"{k}:{_show(v)}" for k, v in self.options.items() if v is not None]
        parts += [f"{k}:{v}" for k, v in sorted(self.versions.items())]
        return "|".join(parts)

    def __str__(self) -> str:
        return self.format()


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass
class MetricScore:
    """One metric's result for one system: score, interval, n, signature and per-item scores."""

    metric: str  # stable key, e.g. "rougeL-fr"
    label: str  # for humans, e.g. "ROUGE-L F (French tokenizer)"
    short: str  # e.g. "ROUGE-L fr-tok"
    score: float | None
    n: int
    ci: tuple[float, float] | None
    ci_note: str | None
    signature: str
    items: list[float | None] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "label": self.label,
            "short": self.short,
            "score": self.score,
            "n": self.n,
            "ci": list(self.ci) if self.ci else None,
            "ci_note": self.ci_note,
            "signature": self.signature,
            "items": self.items,
            "extra": self.extra,
        }


class Metric(ABC):
    """Subclasses set ``key``/``label`` and implement the three hooks below."""

    key: str  # set by the subclass or its __init__
    label: str  # for humans, in full
    short: str  # a table column header
    higher_is_better: ClassVar[bool] = True
    # Why no bootstrap interval is given for this metric at all (e.g. items are not independent).
    no_ci_reason: ClassVar[str | None] = None

    # --- hooks ---------------------------------------------------------------

    @abstractmethod
    def item_statistics(self, item: Any) -> Any:
        """Sufficient statistics of one test item."""

    @abstractmethod
    def aggregate(self, stats: Sequence[Any]) -> float:
        """The corpus score of a list of statistics (called on bootstrap resamples too)."""

    @abstractmethod
    def options(self) -> dict[str, Any]:
        """The settings that change the number (tokenizer, smoothing, ...), for the signature."""

    def versions(self) -> dict[str, str]:
        """Libraries whose version can change the number."""
        return {"numpy": package_version("numpy")}

    def item_score(self, stat: Any) -> float | None:
        """The score of one item on its own (for distributions in the report)."""
        return self.aggregate([stat])

    def extra(self, stats: Sequence[Any]) -> dict[str, Any]:
        """Anything else worth recording with the score (e.g. sacrebleu's own signature)."""
        return {}

    # --- the template --------------------------------------------------------

    def statistics(self, items: Sequence[Any]) -> list[Any]:
        return [self.item_statistics(item) for item in items]

    def signature(self, n: int, bootstrap: BootstrapSettings | None) -> Signature:
        options = dict(self.options())
        options["n"] = n
        if bootstrap is not None and self.no_ci_reason is None and bootstrap.allows(n):
            options.update(bs=bootstrap.samples, rs=bootstrap.seed, ci=f"{bootstrap.confidence:g}")
        return Signature(self.key, options, self.versions())

    def score(self, items: Sequence[Any], bootstrap: BootstrapSettings | None = None) -> MetricScore:
        """Score ``items``; with ``bootstrap``, add a percentile interval when ``n`` allows."""
        stats = self.statistics(items)
        n = len(stats)
        value = self.aggregate(stats) if n else None
        ci, note = None, None
        if n == 0:
            note = "no items"
        elif self.no_ci_reason is not None:
            note = self.no_ci_reason
        elif bootstrap is not None:
            ci = percentile_ci(stats, self.aggregate, bootstrap)
            note = None if ci is not None else TOO_SMALL
        return MetricScore(
            metric=self.key,
            label=self.label,
            short=self.short,
            score=value,
            n=n,
            ci=ci,
            ci_note=note,
            signature=self.signature(n, bootstrap).format(),
            items=[self.item_score(s) for s in stats],
            extra=self.extra(stats) if n else {},
        )

    def compare(
        self, items_a: Sequence[Any], items_b: Sequence[Any], bootstrap: BootstrapSettings
    ) -> PairedResult:
        """Paired bootstrap of system ``a`` minus system ``b`` on the same items, in the same order."""
        stats_a, stats_b = self.statistics(items_a), self.statistics(items_b)
        if self.no_ci_reason is not None:
            n = len(stats_a)
            delta = self.aggregate(stats_a) - self.aggregate(stats_b) if n else float("nan")
            return PairedResult(delta=delta, ci=None, p_value=None, n=n, note=self.no_ci_reason)
        return paired_bootstrap(stats_a, stats_b, self.aggregate, self.aggregate, bootstrap)
