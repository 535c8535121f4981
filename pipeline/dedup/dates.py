"""Dates: publication dates as intervals, dates mentioned in the text, and their compatibility.

Two reports of one event are published close together and mention the same
days ("du 11 au 21 février").  A report of another event on the same subject is
published at another time or mentions other days.  This module turns both
signals into one score in [0, 1] (0.5 = no evidence either way) and a veto for
publication dates too far apart.

>>> sorted(mentioned_days("Lors de cette visite (10-12 février), puis le 3 mars 2024.", default_year=2024))
[(2024, 2, 10), (2024, 2, 11), (2024, 2, 12), (2024, 3, 3)]
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from pipeline.french import MONTH_PATTERN as _MONTH
from pipeline.french import MONTHS
from pipeline.records import DateInfo

# "11 février 2024", "1er mars", "du 11 au 21 février 2024", "(10-21 février)", "11 et 12 mai"
_DAYS = re.compile(
    rf"\b(\d{{1,2}})(?:er)?(?:\s*(?:au|-|–|et)\s*(\d{{1,2}})(?:er)?)?\s+({_MONTH})(?:\s+(\d{{4}}))?\b",
    re.IGNORECASE,
)
_NUMERIC = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_MAX_RANGE_DAYS = 31  # a longer "range" is a misreading, not an event

Day = tuple[int | None, int, int]  # (year or None when the text does not say, month, day)


def mentioned_days(text: str, default_year: int | None = None) -> set[Day]:
    """Days named in ``text`` (ranges expanded); a missing year becomes ``default_year``."""
    days: set[Day] = set()
    for match in _DAYS.finditer(text):
        first, last, month_name, year_text = match.groups()
        month = MONTHS[month_name.lower()]
        year = int(year_text) if year_text else default_year
        start, end = int(first), int(last) if last else int(first)
        if end < start or end - start > _MAX_RANGE_DAYS:
            end = start
        for day in range(start, end + 1):
            if _valid(year, month, day):
                days.add((year, month, day))
    for match in _NUMERIC.finditer(text):
        day, month, year = (int(g) for g in match.groups())
        if _valid(year, month, day):
            days.add((year, month, day))
    return days


def _valid(year: int | None, month: int, day: int) -> bool:
    try:
        dt.date(year or 2000, month, day)  # 2000 is a leap year: 29 February passes
    except ValueError:
        return False
    return year is None or 1900 <= year <= 2100


def publication_interval(date: DateInfo | None) -> tuple[dt.date, dt.date] | None:
    """The days a dated article may have been published on, from its precision.

    >>> publication_interval(DateInfo("février 2024", "2024-02", "month", "date-line"))
    (datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
    """
    if date is None:
        return None
    try:
        parts = [int(p) for p in date.iso.split("-")]
        if len(parts) == 3:
            day = dt.date(*parts)
            return day, day
        if len(parts) == 2:
            year, month = parts
            return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
        return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)
    except (ValueError, TypeError):
        return None


@dataclass(frozen=True)
class DateEvidence:
    """What one article says about when its event happened."""

    published: tuple[dt.date, dt.date] | None
    days: frozenset[Day]

    @classmethod
    def of(cls, text: str, date: DateInfo | None) -> DateEvidence:
        published = publication_interval(date)
        default_year = published[1].year if published else None
        return cls(published, frozenset(mentioned_days(text, default_year)))

    def dated_days(self) -> list[dt.date]:
        return list(self._dated)

    @cached_property
    def _dated(self) -> tuple[dt.date, ...]:
        # Once per article, not once per pair it is scored in.
        return tuple(sorted(dt.date(y, m, d) for y, m, d in self.days if y is not None))


def publication_ordinals(evidence: Sequence[DateEvidence]) -> np.ndarray:
    """Each article's publication interval as two day ordinals, ``(-1, -1)`` when it has none
    (for :func:`far_published`)."""
    out = np.full((len(evidence), 2), -1, dtype=np.int64)
    for row, e in enumerate(evidence):
        if e.published:
            out[row] = e.published[0].toordinal(), e.published[1].toordinal()
    return out


def far_published(ordinals: np.ndarray, left: np.ndarray, right: np.ndarray, max_gap_days: int) -> np.ndarray:
    """Which pairs ``(left[k], right[k])`` were published more than ``max_gap_days`` apart: the
    first veto of :func:`date_compatibility` (score 0), for many pairs in one numpy pass.

    >>> early = DateEvidence.of("", DateInfo("2024-02-01", "2024-02-01", "day", "meta"))
    >>> late = DateEvidence.of("", DateInfo("2024-02-20", "2024-02-20", "day", "meta"))
    >>> ordinals = publication_ordinals([early, late, DateEvidence.of("", None)])
    >>> far_published(ordinals, np.array([0, 0, 1]), np.array([1, 2, 2]), 7).tolist()
    [True, False, False]
    """
    a, b = ordinals[left], ordinals[right]
    gap = np.maximum(np.maximum(b[:, 0] - a[:, 1], a[:, 0] - b[:, 1]), 0)  # interval_gap
    return (a[:, 0] >= 0) & (b[:, 0] >= 0) & (gap > max_gap_days)


def interval_gap(a: tuple[dt.date, dt.date], b: tuple[dt.date, dt.date]) -> int:
    """Days between two intervals (0 when they overlap)."""
    if a[1] < b[0]:
        return (b[0] - a[1]).days
    if b[1] < a[0]:
        return (a[0] - b[1]).days
    return 0


def _same_day(a: Day, b: Day) -> bool:
    return a[1:] == b[1:] and (a[0] is None or b[0] is None or a[0] == b[0])


def _days_apart(a: Day, b: Day) -> int:
    """Days between two named days; a missing year is taken as the other's (or a leap year)."""
    year_a = a[0] or b[0] or 2000
    year_b = b[0] or a[0] or 2000
    try:
        return abs((dt.date(year_a, a[1], a[2]) - dt.date(year_b, b[1], b[2])).days)
    except ValueError:  # 29 February borrowed into a common year
        return abs((dt.date(2000, a[1], a[2]) - dt.date(2000, b[1], b[2])).days)


def date_compatibility(a: DateEvidence, b: DateEvidence, max_gap_days: int) -> tuple[float, bool]:
    """``(score, veto)``: how well the two articles' dates agree.

    - publication dates further apart than ``max_gap_days``: score 0 and veto;
      otherwise 1 at the same date, falling to 0.5 at the largest allowed gap;
    - mentioned days: 1 when the articles name a common day, 0 when both name
      days and none is common, and a veto when all their days are more than
      ``max_gap_days`` apart (two dated events, not one);
    - the days one article names against the other's publication date: 1 when
      one of them falls within ``max_gap_days`` of it, 0 otherwise.

    The score is the mean of the signals present; 0.5 when there is none.

    >>> x = DateEvidence.of("du 11 au 21 février 2024", None)
    >>> y = DateEvidence.of("(10-21 février)", DateInfo("2024-02", "2024-02", "month", "date-line"))
    >>> z = DateEvidence.of("du 3 au 5 mars 2019", DateInfo("2019-03", "2019-03", "month", "date-line"))
    >>> date_compatibility(x, y, 7)
    (1.0, False)
    >>> date_compatibility(y, z, 7)
    (0.0, True)
    >>> date_compatibility(x, z, 7)
    (0.0, True)
    >>> date_compatibility(x, DateEvidence.of("le 23 février 2024", None), 7)
    (0.0, False)
    """
    signals: list[float] = []
    if a.published and b.published:
        gap = interval_gap(a.published, b.published)
        if gap > max_gap_days:
            return 0.0, True
        signals.append(1.0 - 0.5 * gap / max(max_gap_days, 1))
    if a.days and b.days:
        if any(_same_day(x, y) for x in a.days for y in b.days):
            signals.append(1.0)
        elif min(_days_apart(x, y) for x in a.days for y in b.days) > max_gap_days:
            return 0.0, True  # every day one names is far from every day the other names
        else:
            signals.append(0.0)
    for named, other in ((a, b), (b, a)):
        dated = named._dated
        if dated and other.published and not (a.days and b.days):
            window = (
                other.published[0] - dt.timedelta(days=max_gap_days),
                other.published[1] + dt.timedelta(days=max_gap_days),
            )
            signals.append(1.0 if any(window[0] <= d <= window[1] for d in dated) else 0.0)
    if not signals:
        return 0.5, False
    return sum(signals) / len(signals), False
