"""French language data that several stages read: ingest dates articles, dedup compares dates.

>>> MONTHS["août"], MONTHS["aout"]
(8, 8)
"""

from __future__ import annotations

# Month names, with and without accents (press text and page furniture drop them).
MONTHS = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
}  # fmt: skip
# A regex alternation of the names, longest first so that no name matches as a prefix of another.
MONTH_PATTERN = "|".join(sorted(MONTHS, key=len, reverse=True))
