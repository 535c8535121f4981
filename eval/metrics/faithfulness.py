"""Faithfulness: the share of a summary's facts (numbers, dates, entities) found in its sources.

The checking itself is done by the summarise stage's guard, which records for
each summary how many facts it checked (``Summary.checked_facts``) and which
were not found in the source articles (``Summary.unsupported``).  This metric
only aggregates those counts, micro-averaged over summaries (every fact weighs
the same), as a percentage.  Summaries with nothing to check are left out of
``n`` by the caller.

>>> m = Faithfulness()
>>> round(m.score([(10, ["2023"]), (5, [])]).score, 2)
93.33
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eval.metrics.base import Metric, package_version


class Faithfulness(Metric):
    key = "faithfulness"
    label = "Faithfulness (% of checked numbers/dates/entities found in the source)"
    short = "faithful %"

    def item_statistics(self, item: tuple[int, Sequence[str]]) -> tuple[int, int]:
        checked, unsupported = item
        return checked, min(len(unsupported), checked)

    def aggregate(self, stats: Sequence[tuple[int, int]]) -> float:
        checked = sum(c for c, _ in stats)
        if checked == 0:
            return float("nan")
        return 100.0 * sum(c - u for c, u in stats) / checked

    def options(self) -> dict[str, Any]:
        return {"facts": "summarise-guard", "avg": "micro"}

    def versions(self) -> dict[str, str]:
        return {
            "french-news-pipeline": package_version("french-news-pipeline"),
            "numpy": package_version("numpy"),
        }
