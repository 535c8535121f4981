"""Article metadata found in the text itself: date markers, dates in the lede, datelines.

>>> date, rest = split_date_marker(" date 2024-02 Washington — Une délégation")
>>> date.iso, date.precision, rest
('2024-02', 'month', 'Washington — Une délégation')
>>> find_date("Organisée du 11 au 21 février 2024 par le Service commercial.").iso
'2024-02-21'
>>> find_date("Publié le 3 mars 2023 à 10h").raw
'3 mars 2023'
>>> find_dateline("Washington — Une délégation commerciale marocaine a effectué une visite")
'Washington'
>>> find_dateline("PARIS (AFP) - Le gouvernement a annoncé")
'PARIS'
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pipeline.french import MONTH_PATTERN as _MONTH
from pipeline.french import MONTHS
from pipeline.records import DateInfo

# A marker at the very start of a text: "date 2024-02", "Date : 2024-02-11", "Publié le 2024-02-11".
_DATE_MARKER = re.compile(
    r"^\s*(?:date|publi[ée](?: le)?|mis à jour(?: le)?)\s*:?\s*(\d{4})-(\d{2})(?:-(\d{2}))?\b\s*", re.I
)
# "du 11 au 21 février 2024", "1er mars 2023", "21 février 2024".
_DAY_RANGE = re.compile(
    rf"\b(?:du\s+)?(\d{{1,2}})(?:er)?\s+(?:au|-|–)\s+(\d{{1,2}})(?:er)?\s+({_MONTH})\s+(\d{{4}})\b", re.I
)
_DAY = re.compile(rf"\b(\d{{1,2}})(?:er)?\s+({_MONTH})\s+(\d{{4}})\b", re.I)
_NUMERIC = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_MONTH_YEAR = re.compile(rf"\b({_MONTH})\s+(\d{{4}})\b", re.I)

# "Washington —", "PARIS (AFP) -", "Rabat, 12 fév. –": a capitalised place then a dash.
_DATELINE = re.compile(
    r"^([A-ZÀ-Ý][\w'.-]*(?:[ -][A-ZÀ-Ýa-zà-ÿ][\w'.-]*){0,3})"  # place: up to four words
    r"\s*(?:\([^)]{1,30}\))?"  # (AFP)
    r"\s*(?:,[^—–-]{1,25})?"  # , 12 fév.
    r"\s*[—–-]{1,2}\s+"
)


def split_date_marker(text: str) -> tuple[DateInfo | None, str]:
    """Recognise a leading explicit date marker and return it with the rest of the text."""
    m = _DATE_MARKER.match(text)
    if not m:
        return None, text
    year, month, day = m.group(1), m.group(2), m.group(3)
    if not _valid(int(year), int(month), int(day) if day else 1):
        return None, text
    precision: Literal["day", "month"] = "day" if day else "month"
    iso = f"{year}-{month}-{day}" if day else f"{year}-{month}"
    return DateInfo(raw=m.group(0).strip(), iso=iso, precision=precision, origin="date-line"), text[m.end() :]


def find_date(text: str) -> DateInfo | None:
    """The first full date written in ``text`` (a range gives its end: the report follows it)."""
    candidates: list[tuple[int, DateInfo]] = []
    for m in _DAY_RANGE.finditer(text):
        info = _day_info(m.group(0), int(m.group(4)), m.group(3), int(m.group(2)))
        if info:
            candidates.append((m.start(), info))
    for m in _DAY.finditer(text):
        info = _day_info(m.group(0), int(m.group(3)), m.group(2), int(m.group(1)))
        if info:
            candidates.append((m.start(), info))
    for m in _NUMERIC.finditer(text):
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if _valid(y, mo, d):
            candidates.append((m.start(), DateInfo(m.group(0), f"{y:04d}-{mo:02d}-{d:02d}", "day", "lede")))
    if not candidates:
        for m in _MONTH_YEAR.finditer(text):
            mo = MONTHS[m.group(1).lower()]
            candidates.append(
                (m.start(), DateInfo(m.group(0), f"{int(m.group(2)):04d}-{mo:02d}", "month", "lede"))
            )
    # Earliest position wins; at the same position the longer match (a range) wins.
    candidates.sort(key=lambda c: (c[0], -len(c[1].raw)))
    return candidates[0][1] if candidates else None


def _day_info(raw: str, year: int, month_name: str, day: int) -> DateInfo | None:
    month = MONTHS[month_name.lower()]
    if not _valid(year, month, day):
        return None
    return DateInfo(raw=raw, iso=f"{year:04d}-{month:02d}-{day:02d}", precision="day", origin="lede")


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return 1900 <= year <= 2100


def parse_date_string(raw: str) -> DateInfo | None:
    """A date from metadata (HTML/JSONL): ISO forms first, then French written dates."""
    raw = raw.strip()
    m = re.match(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", raw)
    if m:
        y, mo, d = int(m.group(1)), m.group(2), m.group(3)
        if d and _valid(y, int(mo), int(d)):
            return DateInfo(raw, f"{y:04d}-{int(mo):02d}-{int(d):02d}", "day", "metadata")
        if mo and _valid(y, int(mo), 1):
            return DateInfo(raw, f"{y:04d}-{int(mo):02d}", "month", "metadata")
        if _valid(y, 1, 1):
            return DateInfo(raw, f"{y:04d}", "year", "metadata")
    found = find_date(raw)
    return DateInfo(found.raw, found.iso, found.precision, "metadata") if found else None


def find_dateline(paragraph: str) -> str | None:
    m = _DATELINE.match(paragraph)
    return m.group(1) if m else None
