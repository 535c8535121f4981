"""Percentile and paired bootstrap confidence intervals over items (summaries, paragraphs).

Resampling is seeded, and every system scored on the same number of items sees
the same resampled indices, so intervals are reproducible and comparisons are
paired.  With fewer than ``min_n`` items no interval is given: a bootstrap over
three summaries says more about the three summaries than about the system.

>>> import statistics
>>> bs = BootstrapSettings(samples=200, seed=1)
>>> low, high = percentile_ci([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], statistics.mean, bs)
>>> low < 3.5 < high
True
>>> percentile_ci([1.0, 2.0], statistics.mean, bs) is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from scipy.stats import bootstrap

T = TypeVar("T")

MIN_N = 5
TOO_SMALL = "n too small for a CI"


@dataclass(frozen=True)
class BootstrapSettings:
    samples: int = 1000
    seed: int = 12345
    min_n: int = MIN_N
    confidence: float = 0.95

    def allows(self, n: int) -> bool:
        return self.samples > 1 and n >= self.min_n

    def short(self) -> str:
        return f"bs:{self.samples}|rs:{self.seed}|ci:{self.confidence:g}|min-n:{self.min_n}"


@dataclass(frozen=True)
class PairedResult:
    """System minus baseline on the same items, with a CI and a one-sided p-value."""

    delta: float
    ci: tuple[float, float] | None
    p_value: float | None  # share of resamples where the system is not better
    n: int
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "delta": self.delta,
            "ci": list(self.ci) if self.ci else None,
            "p_value": self.p_value,
            "n": self.n,
            "note": self.note,
        }


def bootstrap_result(n: int, statistic: Callable[[np.ndarray], float], settings: BootstrapSettings) -> Any:
    """``scipy.stats.bootstrap`` (percentile method) of ``statistic`` over resamples of item indices.

    Indices, not the items, are resampled: items may be any objects (BLEU's are
    tuples of counts).  Resamples depend only on ``n`` and the seed, so systems
    scored on the same items see the same ones (paired comparisons).
    """
    return bootstrap(
        (np.arange(n),),
        statistic,
        n_resamples=settings.samples,
        confidence_level=settings.confidence,
        method="percentile",
        vectorized=False,
        rng=np.random.default_rng(settings.seed),
    )


def _bounds(result: Any) -> tuple[float, float]:
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def percentile_ci(
    stats: Sequence[T], compute: Callable[[list[T]], float], settings: BootstrapSettings
) -> tuple[float, float] | None:
    """The percentile interval of ``compute`` over resamples of ``stats``; None when n is too small."""
    if not settings.allows(len(stats)):
        return None
    return _bounds(bootstrap_result(len(stats), lambda idx: compute([stats[i] for i in idx]), settings))


def paired_bootstrap(
    stats_a: Sequence[Any],
    stats_b: Sequence[Any],
    compute_a: Callable[[list[Any]], float],
    compute_b: Callable[[list[Any]], float],
    settings: BootstrapSettings,
) -> PairedResult:
    """Paired bootstrap of ``a - b``: item ``i`` of both lists must be the same test item."""
    if len(stats_a) != len(stats_b):
        raise ValueError(f"paired bootstrap needs the same items: {len(stats_a)} vs {len(stats_b)}")
    n = len(stats_a)
    if n == 0:
        return PairedResult(delta=float("nan"), ci=None, p_value=None, n=0, note="no common items")
    delta = compute_a(list(stats_a)) - compute_b(list(stats_b))
    if not settings.allows(n):
        return PairedResult(delta=delta, ci=None, p_value=None, n=n, note=TOO_SMALL)
    result = bootstrap_result(
        n, lambda idx: compute_a([stats_a[i] for i in idx]) - compute_b([stats_b[i] for i in idx]), settings
    )
    p_value = float(np.mean(result.bootstrap_distribution <= 0.0))
    return PairedResult(delta=delta, ci=_bounds(result), p_value=p_value, n=n)
