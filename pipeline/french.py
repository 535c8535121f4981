"""French language data and helpers that several stages use: ingest dates articles, dedup compares
dates and words, summarize checks facts.

>>> MONTHS["août"], MONTHS["aout"]
(8, 8)
"""

from __future__ import annotations

import functools
import unicodedata

# Month names, with and without accents (press text and page furniture drop them).
MONTHS = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
}  # fmt: skip
# A regex alternation of the names, longest first so that no name matches as a prefix of another.
MONTH_PATTERN = "|".join(sorted(MONTHS, key=len, reverse=True))

# Weekday names (Monday = 0, as datetime.date.weekday()).
WEEKDAYS = {"lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6}
WEEKDAY_PATTERN = "|".join(WEEKDAYS)
# Days named relative to the day of writing, as an offset in days ("avant-hier" before "hier").
RELATIVE_DAYS = {
    "avant-hier": -2, "hier": -1, "aujourd'hui": 0, "aujourd’hui": 0, "ce matin": 0, "cet après-midi": 0,
    "ce soir": 0, "cette nuit": 0, "après-demain": 2, "demain": 1,
}  # fmt: skip
RELATIVE_DAY_PATTERN = "|".join(sorted(RELATIVE_DAYS, key=len, reverse=True))
# Words after a weekday or "semaine" that place it before or after the day of writing.
PAST_MARKERS = ("dernier", "dernière", "passé", "passée")
FUTURE_MARKERS = ("prochain", "prochaine", "suivant", "suivante")
# Cardinal number words a headline writes out ("six morts", "deux buts").
NUMBER_WORDS = {
    "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
    "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20,
    "trente": 30, "quarante": 40, "cinquante": 50, "cent": 100, "mille": 1000,
}  # fmt: skip
# Scale words after a number: "1,2 milliard d'euros".
SCALES = {"mille": 1e3, "million": 1e6, "millions": 1e6, "milliard": 1e9, "milliards": 1e9}


def fold(text: str) -> str:
    """Lower-case, strip accents and unify apostrophes and spaces: 'États-Unis' -> 'etats-unis'.

    One character in, one character out, so offsets into the folded text are offsets
    into the original.

    >>> fold("Réforme de l’État")
    "reforme de l'etat"
    """
    return "".join(_fold_char(ch) for ch in text)


@functools.lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    if ch in "’‘":
        return "'"
    if ch in "\u00a0\u202f":
        return " "
    base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c)).lower()
    return base if len(base) == 1 else ch
