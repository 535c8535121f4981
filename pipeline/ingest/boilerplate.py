"""Page furniture removal with general, named rules.

Each rule looks at the *shape* of a line (a timestamp followed by a short headline,
a short call to follow or share, a lone separator…), never at a particular site's
wording.  Every removed line is returned as a :class:`Removal` naming its rule, so
users can audit what was dropped and why.

>>> lines = ["- 08:43 Un titre", "- 08:30 Un autre titre", "- 08:00 Encore un", "Suivez-nous sur X",
...          "Le corps de l'article commence ici."]
>>> kept, removed = strip_boilerplate(lines, ticker_min_lines=3)
>>> kept
[(5, "Le corps de l'article commence ici.")]
>>> sorted({r.rule for r in removed})
['news-ticker', 'social-prompt']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.records import Removal

_WORD = re.compile(r"\w+")


def _words(line: str) -> int:
    return len(_WORD.findall(line))


@dataclass(frozen=True)
class LineRule:
    """A line is furniture when it matches ``pattern`` and is at most ``max_words`` long."""

    name: str
    pattern: re.Pattern[str]
    max_words: int

    def matches(self, line: str) -> bool:
        return _words(line) <= self.max_words and bool(self.pattern.search(line))


_I = re.IGNORECASE
LINE_RULES: tuple[LineRule, ...] = (
    # "Suivez-nous sur …", "Partager", "Abonnez-vous", "Follow us on …"
    LineRule(
        "social-prompt",
        re.compile(
            r"^\W*(suivez[- ]nous|rejoignez[- ]nous|abonnez[- ]vous|inscrivez[- ]vous|partager|partagez"
            r"|share( this)?|follow us|like us|retrouvez[- ]nous|t[ée]l[ée]chargez (notre|l'application))\b",
            _I,
        ),
        max_words=12,
    ),
    # "Getting your … player ready…", "Écouter cet article", "Listen to this article"
    LineRule(
        "audio-player",
        re.compile(
            r"\b(player|lecteur|audio)\b.*\b(ready|loading|chargement|pr[êe]t)\b"
            r"|^\W*([ée]couter|listen to) (cet|this|l')\s*(article|audio)",
            _I,
        ),
        max_words=12,
    ),
    # "LIRE AUSSI : …", "À lire aussi", "Voir aussi", "Sur le même sujet", "Read more"
    LineRule(
        "read-also-teaser",
        re.compile(
            r"^\W*((à |a )?lire (aussi|également|la suite)|voir aussi|sur le m[êe]me sujet|en savoir plus"
            r"|read (also|more))\b",
            _I,
        ),
        max_words=40,
    ),
    # "Publicité", "Advertisement", "Sponsorisé"
    LineRule(
        "advertising",
        re.compile(r"^\W*(publicit[ée]|advertisement|annonce|sponsoris[ée]|contenu sponsoris[ée])\W*$", _I),
        max_words=3,
    ),
    # "|", "***", "—", "• • •": a line with no letters or digits at all
    LineRule("separator", re.compile(r"^[^\w]+$"), max_words=0),
)

# "- 08:43Le Maroc …", "07h30 | Titre", "12:05 - Titre": a timestamp opening a short headline.
_TICKER_LINE = re.compile(r"^\W{0,3}\d{1,2}\s?[:hH]\s?\d{2}(?!\d)")
_TICKER_MAX_WORDS = 30
_TERMINAL = re.compile(r"[.!?…»\"')]$")


def strip_boilerplate(
    lines: Sequence[str], ticker_min_lines: int = 3
) -> tuple[list[tuple[int, str]], list[Removal]]:
    """Return the kept ``(line number, text)`` pairs (1-based) and the removals."""
    rule_of: dict[int, str] = {}
    _mark_tickers(lines, ticker_min_lines, rule_of)
    for i, line in enumerate(lines):
        if i in rule_of or not line.strip():
            continue
        for rule in LINE_RULES:
            if rule.matches(line):
                rule_of[i] = rule.name
                break
    _mark_section_label(lines, rule_of)
    kept = [(i + 1, line) for i, line in enumerate(lines) if i not in rule_of]
    removed = [Removal(rule=rule_of[i], line=i + 1, text=lines[i]) for i in sorted(rule_of)]
    return kept, removed


def _mark_tickers(lines: Sequence[str], min_lines: int, rule_of: dict[int, str]) -> None:
    """A run of ``min_lines`` or more timestamped short lines is a news ticker."""
    run: list[int] = []
    for i, line in enumerate([*lines, ""]):
        if line.strip() and _TICKER_LINE.match(line) and _words(line) <= _TICKER_MAX_WORDS:
            run.append(i)
            continue
        if line.strip() == "" and run and i < len(lines):
            continue  # blank lines inside a ticker do not end it
        if len(run) >= min_lines:
            rule_of.update(dict.fromkeys(run, "news-ticker"))
        run = []


def _mark_section_label(lines: Sequence[str], rule_of: dict[int, str]) -> None:
    """A one- or two-word line above a headline is the site's section label ("Économie")."""
    first = [i for i, line in enumerate(lines) if line.strip() and i not in rule_of][:2]
    if len(first) < 2:
        return
    label, headline = (lines[i].strip() for i in first)
    if _words(label) <= 2 and not _TERMINAL.search(label) and is_heading(headline):
        rule_of[first[0]] = "section-label"


def is_heading(line: str, max_words: int = 20) -> bool:
    """A short line that does not end like a sentence: a title or a subheading."""
    line = line.strip()
    return 0 < _words(line) <= max_words and not _TERMINAL.search(line) and not line.endswith(":")
