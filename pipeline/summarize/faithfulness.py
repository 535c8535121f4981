"""Faithfulness guard: every number, date and named entity of a summary must occur in its sources.

Facts are compared after normalisation, so that a summary may write "quinze" where
the article writes "15", "75.000" where it writes "75 000", or "Etats-Unis" where
it writes "États-Unis".  What is not found is reported, never silently fixed.

>>> check = FactChecker(nlp=None)  # numbers and dates only; entities need a spaCy pipeline
>>> r = check("Quinze participants et 75.000 étudiants.", ["Les 15 participants ont formé 75 000 étudiants."])
>>> r.checked, r.unsupported
(2, [])
>>> check("Seize participants.", ["Les 15 participants."]).unsupported
['Seize']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from spacy.language import Language
from text_to_num import alpha2digit

from pipeline.french import MONTHS, SCALES, fold

# "une vingtaine" is a number too; text2num leaves these approximate forms alone.
APPROXIMATE = {
    "dizaine": 10,
    "douzaine": 12,
    "quinzaine": 15,
    "vingtaine": 20,
    "trentaine": 30,
    "quarantaine": 40,
    "cinquantaine": 50,
    "soixantaine": 60,
    "centaine": 100,
    "millier": 1000,
}

# Function words that may differ between a summary's and an article's wording of a name.
NAME_STOPWORDS = frozenset(
    [
        "de",
        "du",
        "des",
        "la",
        "le",
        "les",
        "l",
        "d",
        "et",
        "en",
        "au",
        "aux",
        "a",
        "the",
        "of",
        "pour",
        "sur",
        "par",
        "mme",
        "m",
        "mr",
        "me",
        "dr",
        "pr",
    ]
)

# Digits with optional thousands separators (space, dot, narrow/no-break space) and decimals.
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[ .\u00a0\u202f]\d{3})+|\d+)(?:,(\d+))?")
_APPROX = re.compile(r"\b(" + "|".join(APPROXIMATE) + r")s?\b")
_MONTH = "|".join(m for m in MONTHS if m == fold(m))  # the folded names: texts are folded
# "11 février 2024", "10-21 février", "du 11 au 21 février 2024", "février 2024", "1er mars".
_DATE = re.compile(
    r"\b(?:(\d{1,2})(?:er)?(?:\s*(?:-|au|et)\s*(\d{1,2})(?:er)?)?\s+)?(" + _MONTH + r")\b(?:\s+(\d{4}))?"
)


def _number_value(match: re.Match[str]) -> float:
    whole = re.sub(r"[ .\u00a0\u202f]", "", match.group(1))
    return float(f"{whole}.{match.group(2)}") if match.group(2) else float(whole)


_DIGITS_THEN_SCALE = re.compile(r"(?<![\w.,])(\d+)(?:,(\d+))?\s*(mille|millions?|milliards?)\b")


def _expand_scale(m: re.Match[str]) -> str:
    value = float(f"{m.group(1)}.{m.group(2) or 0}") * SCALES[m.group(3)]
    return f"{value:.0f}"


def _digitise(text: str) -> str:
    """French number words -> digits ("quinze" -> "15", "34 millions" -> "34000000")."""
    text = _DIGITS_THEN_SCALE.sub(_expand_scale, text.lower())
    try:
        return alpha2digit(text, "fr")
    except Exception:  # text2num is strict on odd input; the raw text is still usable
        return text


def numbers_in(text: str) -> set[float]:
    """Every numeric value written in ``text``, in digits or in French words.

    >>> sorted(numbers_in("quinze participants, 75.000 étudiants, 34 millions, une vingtaine"))
    [15.0, 20.0, 75000.0, 34000000.0]
    """
    digitised = fold(_digitise(text))
    values = {_number_value(m) for m in _NUMBER.finditer(digitised)}
    values |= {float(APPROXIMATE[m.group(1)]) for m in _APPROX.finditer(digitised)}
    return values


@dataclass
class FaithfulnessResult:
    checked: int = 0
    unsupported: list[str] = field(default_factory=list)
    facts: list[tuple[str, str, bool]] = field(default_factory=list)  # (kind, text, supported)


@dataclass
class _Source:
    folded: str
    words: frozenset[str]
    numbers: set[float]


class FactChecker:
    """Checks summaries against their source texts.  ``nlp`` finds the named entities."""

    def __init__(self, nlp: Language | None):
        self.nlp = nlp

    def __call__(self, summary: str, sources: Sequence[str]) -> FaithfulnessResult:
        joined = "\n".join(sources)
        folded = fold(joined)
        source = _Source(folded, frozenset(re.findall(r"\w+", folded)), numbers_in(joined))
        result = FaithfulnessResult()
        seen: set[tuple[str, str]] = set()

        def record(kind: str, text: str, supported: bool) -> None:
            key = (kind, fold(text))
            if key in seen:
                return
            seen.add(key)
            result.facts.append((kind, text, supported))
            result.checked += 1
            if not supported:
                result.unsupported.append(text)

        # Dates first, then numbers outside dates, so "21 février 2024" counts once.
        summary_folded = fold(summary)
        masked = list(summary)
        for m in _DATE.finditer(summary_folded):
            if not (m.group(1) or m.group(4)):
                continue  # a bare month name is not a date fact
            record("date", summary[m.start() : m.end()], self._date_supported(m, source))
            masked[m.start() : m.end()] = " " * (m.end() - m.start())
        rest = "".join(masked)
        for text, value in _number_mentions(rest):
            record("number", text, value in source.numbers)

        if self.nlp is not None:
            for ent in self.nlp(summary).ents:
                record("entity", ent.text, self._entity_supported(ent.text, source))
        return result

    @staticmethod
    def _date_supported(m: re.Match[str], source: _Source) -> bool:
        if m.group(3) not in source.words:
            return False
        numbers = [g for g in (m.group(1), m.group(2), m.group(4)) if g]
        return all(float(n) in source.numbers for n in numbers)

    @staticmethod
    def _entity_supported(name: str, source: _Source) -> bool:
        folded = fold(name).strip()
        if re.search(r"(?<!\w)" + re.escape(folded) + r"(?!\w)", source.folded):
            return True
        # Word by word: "Mme Lamrani" is supported by "Sarah Lamrani ... Mme Lamrani".
        words = [w for w in re.findall(r"\w+", folded) if w not in NAME_STOPWORDS and len(w) > 1]
        return bool(words) and all(w in source.words for w in words)


def _number_mentions(text: str) -> list[tuple[str, float]]:
    """(surface text, value) of each number in ``text``, in digits or words.

    Word numbers are located on a digitised copy; the surface text reported is the
    original wording when it can be recovered, else the digits.
    """
    mentions: list[tuple[str, float]] = []
    for m in _DIGITS_THEN_SCALE.finditer(fold(text)):
        mentions.append((text[m.start() : m.end()], float(_expand_scale(m))))
    # Blank what was read (same length, so offsets stay valid) before the next readings.
    text = _blank(text, _DIGITS_THEN_SCALE)
    for m in _NUMBER.finditer(fold(text)):
        mentions.append((text[m.start() : m.end()], _number_value(m)))
    for m in _APPROX.finditer(fold(text)):
        mentions.append((text[m.start() : m.end()], float(APPROXIMATE[m.group(1)])))
    # Number words: digitise each word run that text2num turns into digits.
    for m in re.finditer(r"[^\W\d_]+(?:[\s-]+[^\W\d_]+)*", text):
        run = m.group(0)
        digitised = fold(_digitise(run))
        if digitised == fold(run).lower():
            continue
        for n in _NUMBER.finditer(digitised):
            value = _number_value(n)
            mentions.append((_surface_of_number_words(run, value), value))
    return mentions


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    """``text`` with the matches of ``pattern`` (on its folded form) replaced by spaces."""
    chars = list(text)
    for m in pattern.finditer(fold(text)):
        chars[m.start() : m.end()] = " " * (m.end() - m.start())
    return "".join(chars)


def _surface_of_number_words(run: str, value: float) -> str:
    """The shortest span of ``run`` whose words text2num reads as ``value`` ('Seize')."""
    words = run.split()
    for size in range(1, len(words) + 1):
        for start in range(len(words) - size + 1):
            piece = " ".join(words[start : start + size])
            if value in {_number_value(n) for n in _NUMBER.finditer(fold(_digitise(piece)))}:
                return piece
    return run
