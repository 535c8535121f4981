"""Event signature: the day an article's event happened, its key figures and its actors.

Two reports of one event name the same day and the same figures; the same
actors on another day, with another score or another figure for the same
quantity, are another event (a team's second match, tomorrow's inflation
release, the next daily round-up).  Embeddings and shared names cannot tell
these apart; the signature can, and says why.

Only the *lede* is read (title and first sentences, ``LEDE_WORDS`` words):
news states its event there, while the body recalls earlier days and figures.

- **Days**: relative words resolved against the publication date ("hier",
  "mardi", "samedi dernier", "la semaine prochaine", "dans la nuit de samedi à
  dimanche") plus written dates ("le 3 mars"), each as an interval of days.
- **Figures**: numbers with their *subject*: a score ("2-0"), a percentage, an
  amount (euros, dollars) or the noun the number counts ("4.771 nouveaux cas",
  "six morts").
- **Actors**: the lede's entity keys (:mod:`pipeline.dedup.entities`).
- **Stance**: whether the lede announces its event (future verbs) or reports
  it (compound past): a preview and the report of what happened are two events.

:func:`compare` returns the conflicts (another day, another figure for one
subject, between articles published on different days) and notes (what
agrees, and differences that are no veto) as short phrases that go into the
:class:`~pipeline.records.PairLink` of the pair.

>>> import datetime as dt
>>> sig = signature_of("Le PSG a battu Lyon 2-0 mardi, devant 40.000 spectateurs.", dt.date(2024, 3, 7))
>>> sig.days
(('mardi', datetime.date(2024, 3, 5), datetime.date(2024, 3, 5)),)
>>> sorted(sig.figures.items())
[('score', (200.0,)), ('spectateur', (40000.0,))]
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from pipeline.dedup.shingles import fold, fold_word, stop_words
from pipeline.french import (
    FUTURE_MARKERS,
    MONTH_PATTERN,
    MONTHS,
    NUMBER_WORDS,
    PAST_MARKERS,
    RELATIVE_DAY_PATTERN,
    RELATIVE_DAYS,
    SCALES,
    WEEKDAY_PATTERN,
    WEEKDAYS,
)

LEDE_WORDS = 60  # title + first sentences: where a news article states its event
# Two figures for one subject agree within this relative gap: outlets round
# ("plus de 4.700" for 4.771), a different day's count usually moves more.
FIGURE_TOLERANCE = 0.05

Interval = tuple[str, dt.date, dt.date]  # (the words that said it, first day, last day)

_MARKERS = "|".join(PAST_MARKERS + FUTURE_MARKERS)
_DAY_WORDS = re.compile(
    rf"\b(?:(?:dans\s+la\s+nuit\s+(?:de|du)\s+)?({WEEKDAY_PATTERN})(?:\s+(?:au|à)\s+({WEEKDAY_PATTERN}))?"
    rf"(?:\s+(\d{{1,2}})(?:er)?\s+({MONTH_PATTERN}))?(?:\s+({_MARKERS}))?"
    rf"|({RELATIVE_DAY_PATTERN})"
    rf"|(?:la\s+)?semaine\s+({_MARKERS})"
    rf"|(?:le\s+)?(\d{{1,2}})(?:er)?\s+({MONTH_PATTERN})(?:\s+(\d{{4}}))?)\b",
    re.IGNORECASE,
)
# Third-person future ("se tiendra", "auront", "mettra") and near-future auxiliaries.  The
# future endings are matched in lower case only and after the letters a future stem ends
# with, so that names ("Laura", "Alexandra") and nouns ("caméra", "extra", "front") are not verbs.
_FUTURE_VERB = re.compile(
    r"\b(?:[Vv]ont?|[Vv]a|[Dd]evr(?:ait|aient|a|ont)|[Dd]oi(?:t|vent)|s['’]apprêt(?:e|ent)|se\s+prépar(?:e|ent)\s+à"
    r"|(?!(?:extra|ultra|intra|contra)\b)[a-zàâçéèêëîïôûù]+[eiudrtv](?:ra|ront))\b"
)
# Compound past ("a fait", "ont été tués", "s'est imposé"): the lede reports a happening.
# Verbs of saying ("ont précisé les météorologues") date the report, not the event.
_SAYING = (
    "dit|déclaré|précisé|indiqué|affirmé|assuré|expliqué|estimé|souligné|ajouté|rapporté|réagi|averti|"
    "prévenu|mis\\s+en\\s+garde|confirmé|annoncé|fait\\s+savoir|jugé|raconté|rappelé|répondu|insisté"
)
_PAST_VERB = re.compile(
    r"\b(?:a|ont|avait|avaient|s['’]est|se\s+sont)\s+(?:(?:déjà|bien|encore|finalement|aussi|également|"
    r"notamment|ainsi|enfin|officiellement|pourtant|toutefois|longtemps|beaucoup|presque|été)\s+)?"
    rf"(?!(?:lieu|peu|tort|fort|plus|moins|{_SAYING})\b)"
    r"[a-zàâçéèêëîïôûù]+(?:ée?s?|ie?s?|ue?s?|ite?s?|erte?s?|orte?s?|aite?s?|einte?s?|ainte?s?)\b"
)
_SCORE = re.compile(rf"\b(\d{{1,2}})\s?[-–]\s?(\d{{1,2}})\b(?!\s*(?:{MONTH_PATTERN}|h\b|heures?))", re.I)
_NUMBER_WORD = "|".join(NUMBER_WORDS)
_FIGURE = re.compile(
    rf"(?<![\w,.])(\d{{1,3}}(?:[.\s\u00a0\u202f]\d{{3}})+|\d+)(?:,(\d+))?(?![\w.,]\d)"
    rf"|\b({_NUMBER_WORD})\b",
    re.IGNORECASE,
)
_AFTER = re.compile(
    r"\s*(%|pour\s?cent|€|\$)?\s*(?:(mille|millions?|milliards?)\s*)?(?:d[e'’]\s*)?"
    r"(%|€|\$|euros?|dollars?|livres?)?\s*([^\W\d_][\w’'-]*)?(?:\s+([^\W\d_][\w’'-]*))?",
    re.IGNORECASE,
)
# Words between a number and the noun it counts ("4.771 nouveaux cas", "deux autres morts").
_SKIP = frozenset(
    fold(w)
    for w in [
        *("nouveaux", "nouvelles", "nouveau", "nouvelle", "autres", "premiers", "premières"),
        *("derniers", "dernières", "plus", "moins", "environ", "près"),
    ]
)
# Counts of time (ages, durations, anniversaries) describe the story, not which event it is.
_NOT_EVENT_QUANTITIES = frozenset(
    ("an", "ans", "annee", "mois", "semaine", "jour", "heure", "minute", "seconde", "fois", "siecle")
)
_UNITS = {"%": "pourcent", "pour cent": "pourcent", "pourcent": "pourcent", "€": "euro", "$": "dollar"}


@dataclass(frozen=True)
class Signature:
    """What an article's lede says about its event."""

    days: tuple[Interval, ...]
    figures: dict[str, tuple[float, ...]]  # subject -> values
    actors: frozenset[str]
    published: dt.date | None = None
    # "ahead" (the lede announces: future verbs only), "after" (it reports: compound past
    # only) or None (both, or neither); with the words that said it.
    stance: tuple[str, str] | None = None

    @cached_property
    def days_text(self) -> str:
        """The first days, as :func:`compare` shows them (written once per article, not per pair)."""
        return _days_text(self.days)


def lede(title: str | None, sentences: Sequence[str], max_words: int = LEDE_WORDS) -> tuple[str, int]:
    """Title and first whole sentences up to about ``max_words`` words; also how many sentences."""
    count = len(title.split()) if title else 0
    used = 0
    while used < len(sentences) and count < max_words:
        count += len(sentences[used].split())
        used += 1
    return "\n".join([title, *sentences[:used]] if title else sentences[:used]), used


def signature_of(text: str, published: dt.date | None, actors: Iterable[str] = ()) -> Signature:
    """The signature of a lede ``text`` published on ``published`` (relative days need it)."""
    return Signature(
        tuple(event_days(text, published)), key_figures(text), frozenset(actors), published, stance(text)
    )


def stance(text: str) -> tuple[str, str] | None:
    """Whether a lede announces its event (``"ahead"``) or reports it (``"after"``), and the verb.

    A preview ("l'éclipse traversera l'Afrique dimanche") and the report of the
    happening ("l'éclipse a traversé l'Afrique") published another day are two
    news events on one subject, though they may name the same day and figures.
    The headline and first sentence (the lede's first two lines) frame the
    event, and the first tensed verb there decides; later sentences give
    background ("le dernier cyclone avait tué 3.500 personnes").

    >>> stance("La tempête devrait toucher les côtes mercredi.")
    ('ahead', 'devrait')
    >>> stance("L'ouragan a fait six morts en Louisiane, a déclaré le gouverneur.")
    ('after', 'a fait')
    >>> stance("Il arrivera mardi, ont précisé les autorités.\\nLe précédent avait tué dix personnes.")
    ('ahead', 'arrivera')
    >>> stance("Une caméra en plein ciel.\\nLe ministre a annoncé une réforme.") is None
    True
    """
    head = "\n".join(text.split("\n")[:2])
    ahead, after = _FUTURE_VERB.search(head), _PAST_VERB.search(head)
    if ahead and (after is None or ahead.start() < after.start()):
        return "ahead", re.sub(r"\s+", " ", ahead.group(0))
    if after:
        return "after", re.sub(r"\s+", " ", after.group(0))
    return None


def _weekday_before(day: dt.date, weekday: int, strictly: bool) -> dt.date:
    back = (day.weekday() - weekday) % 7
    return day - dt.timedelta(days=7 if strictly and back == 0 else back)


def _weekday_after(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7 or 7)


def event_days(text: str, published: dt.date | None) -> list[Interval]:
    """Days the text names, resolved against ``published``.

    A bare weekday in a sentence about the future ("se réunira mardi") is the
    next such day, otherwise the last one (news reports what happened); "samedi
    dernier" is strictly before the day of writing.

    >>> day = dt.date(2024, 3, 7)  # a Thursday
    >>> text = "Hier, puis samedi dernier et la semaine prochaine."
    >>> [(w, str(a), str(b)) for w, a, b in event_days(text, day)]
    [('Hier', '2024-03-06', '2024-03-06'), ('samedi dernier', '2024-03-02', '2024-03-02'), \
('la semaine prochaine', '2024-03-11', '2024-03-17')]
    >>> [(w, str(a), str(b)) for w, a, b in event_days("Il se réunira mardi. Le 2 mars.", day)]
    [('mardi', '2024-03-12', '2024-03-12'), ('Le 2 mars', '2024-03-02', '2024-03-02')]
    """
    out: list[Interval] = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        future = bool(_FUTURE_VERB.search(sentence))
        for m in _DAY_WORDS.finditer(sentence):
            first, last, dnum, dmonth, marker, relative, week_marker, num, month, year = m.groups()
            words = m.group(0).strip()
            if num:  # a written date: needs no publication date when it has a year
                base_year = int(year) if year else (published.year if published else None)
                if base_year is None:
                    continue
                try:
                    day = dt.date(base_year, MONTHS[month.lower()], int(num))
                except ValueError:
                    continue
                if not year and published and day > published + dt.timedelta(days=180):
                    day = day.replace(year=base_year - 1)  # "le 28 décembre" written in January
                out.append((words, day, day))
                continue
            if published is None:
                continue
            if relative:
                day = published + dt.timedelta(days=RELATIVE_DAYS[relative.lower()])
                out.append((words, day, day))
            elif week_marker:
                monday = published - dt.timedelta(days=published.weekday())
                shift = -7 if week_marker.lower() in PAST_MARKERS else 7
                start = monday + dt.timedelta(days=shift)
                out.append((words, start, start + dt.timedelta(days=6)))
            elif first:
                if dnum and dmonth:  # "mardi 5 mars": the date decides
                    try:
                        day = dt.date(published.year, MONTHS[dmonth.lower()], int(dnum))
                    except ValueError:
                        continue
                    out.append((words, day, day))
                    continue
                weekday = WEEKDAYS[first.lower()]
                mark = (marker or "").lower()
                if mark in FUTURE_MARKERS or (not mark and future):
                    start = _weekday_after(published - dt.timedelta(days=1), weekday)
                else:
                    start = _weekday_before(published, weekday, strictly=mark in PAST_MARKERS)
                end = start
                if last:  # "dans la nuit de samedi à dimanche"
                    end = start + dt.timedelta(days=(WEEKDAYS[last.lower()] - weekday) % 7)
                out.append((words, start, end))
    return out


def _value(digits: str, decimals: str | None) -> float:
    return float(re.sub(r"[.\s\u00a0\u202f]", "", digits) + (f".{decimals}" if decimals else ""))


def _subject(words: Iterable[str | None]) -> str | None:
    """The first content word among ``words``, folded, crude singular."""
    for word in words:
        if not word:
            continue
        key = fold_word(word.lower()).strip("'’-")
        if key in _SKIP:
            continue
        if key in stop_words() or len(key) < 3 or key in MONTHS or key in _NOT_EVENT_QUANTITIES:
            return None  # checked before the crude singular: "fois" and "mois" would lose their s
        return key[:-1] if key.endswith(("s", "x")) and len(key) > 3 else key
    return None


def key_figures(text: str) -> dict[str, tuple[float, ...]]:
    """Numbers with their subject: scores, percentages, amounts and counted nouns.

    Years, clock times and the day numbers of dates are not figures.

    >>> text = "Plus de 4.771 nouveaux cas, soit 12,5 % de plus, et 1,2 milliard d'euros."
    >>> sorted(key_figures(text).items())
    [('cas', (4771.0,)), ('euro', (1200000000.0,)), ('pourcent', (12.5,))]
    >>> key_figures("Six morts le 3 mars 2024 à 13h, en 2023.")
    {'mort': (6.0,)}
    """
    figures: dict[str, set[float]] = {}
    taken: list[tuple[int, int]] = []
    for m in _SCORE.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        figures.setdefault("score", set()).add(float(max(a, b) * 100 + min(a, b)))  # 2-0 and 0-2: 200
        taken.append(m.span())
    for m in _FIGURE.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        value = float(NUMBER_WORDS[m.group(3).lower()]) if m.group(3) else _value(m.group(1), m.group(2))
        after = _AFTER.match(text, m.end())
        assert after is not None  # every group is optional
        unit_before, scale, unit, word1, word2 = after.groups()
        if scale:
            value *= SCALES[scale.lower()]
        unit = unit_before or unit
        if unit:
            key = unit.lower().replace("\u00a0", " ")
            subject = _UNITS.get(key) or _subject([key])
        else:
            if word1 and fold_word(word1.lower()) in MONTHS:
                continue  # a date's day
            if word1 and re.fullmatch(r"h\d*|heures?", word1, re.I):
                continue  # a clock time
            if not m.group(3) and not m.group(2) and 1900 <= value <= 2100:
                continue  # a year
            subject = _subject([word1, word2])
        if subject and subject not in _NOT_EVENT_QUANTITIES:
            figures.setdefault(subject, set()).add(value)
    return {k: tuple(sorted(v)) for k, v in sorted(figures.items())}


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= FIGURE_TOLERANCE * max(abs(x), abs(y))


def compare(a: Signature, b: Signature) -> tuple[list[str], list[str]]:
    """``(conflicts, notes)`` between two signatures, as phrases for the pair's explanation.

    - another day: both ledes name days and no day of one falls in a day of the other;
    - another figure: a subject both ledes count with no value in common (within
      :data:`FIGURE_TOLERANCE`; scores exactly);
    - announced vs reported: one lede announces its event, the other reports one
      (:func:`stance`): a preview and the outcome, or another occurrence.

    A difference is a *conflict* (another event) only between articles
    published on different days: reports of one day's event published that
    day differ in which step they lead with ("arrêtés mardi", "mis en examen
    vendredi") and update their tolls during the day.  Between same-day (or
    undated) articles it is only noted.  The notes also say what agrees.
    """
    differences: list[str] = []
    notes: list[str] = []
    if a.days and b.days:
        shared = [(x, y) for x in a.days for y in b.days if x[1] <= y[2] and y[1] <= x[2]]
        if shared:
            x, y = shared[0]
            notes.append(f"same day {max(x[1], y[1]).isoformat()} ({x[0]!r} / {y[0]!r})")
        else:
            differences.append(f"other day: {a.days_text} vs {b.days_text}")
    if a.stance and b.stance and a.stance[0] != b.stance[0]:
        ahead, after = (a, b) if a.stance[0] == "ahead" else (b, a)
        assert ahead.stance is not None and after.stance is not None
        differences.append(f"announced vs reported: {ahead.stance[1]!r} / {after.stance[1]!r}")
    for subject in sorted(a.figures.keys() & b.figures.keys()):
        va, vb = a.figures[subject], b.figures[subject]
        exact = subject == "score"
        common = [x for x in va if any((x == y) if exact else _close(x, y) for y in vb)]
        if common:
            notes.append(f"same {subject} {_num(subject, common[0])}")
        else:
            shown = " vs ".join("/".join(_num(subject, x) for x in v) for v in (va, vb))
            differences.append(f"other {subject}: {shown}")
    apart = a.published is not None and b.published is not None and a.published != b.published
    if not apart:
        notes = [f"{d} (published the same day: not a veto)" for d in differences] + notes
        differences = []
    shared_actors = sorted(a.actors & b.actors)
    if shared_actors and (differences or notes):
        notes.append("same actors " + ", ".join(shared_actors[:3]))
    return differences, notes


def _days_text(days: tuple[Interval, ...]) -> str:
    return ", ".join(
        f"{w!r}={s.isoformat()}" + (f"..{e.isoformat()}" if e != s else "") for w, s, e in days[:2]
    )


def _num(subject: str, x: float) -> str:
    return f"{int(x) // 100}-{int(x) % 100}" if subject == "score" else f"{x:g}"
