"""The units an extractive summary is made of: ingest's sentences, repaired, with their quotation state.

Ingest's spaCy segmentation is reused (no second parse), with two cheap repairs:

* **glued sentences are split**: news pages often lose the space between two
  sentences (``médecin."L'unité``, ``Pyrénées.Alors``) or glue a crosshead onto the next
  sentence (``dans le cockpitLe pilote``); spaCy keeps those in one sentence;
* **fragments are merged**: a piece that does not end a sentence and is followed by a
  lower-case continuation, or leaves a bracket open (``l'AAIB (Air`` / ``Accidents`` / ``)``),
  is joined with what follows, so no unit is a sentence cut in the middle.

Each unit records whether it starts inside a quotation opened by an earlier unit, whether
its own quotation marks are balanced, and whether it is a bare quotation without its speaker:
selection uses these to never start a summary mid-quote or drop a speaker.

>>> text = 'Le préfet a parlé."Nous agirons", a dit M. Guyot.Alors les éleveurs ont réagi.'
>>> from pipeline.records import Article, Paragraph, Sentence
>>> a = Article("a", "a", "", text, paragraphs=[Paragraph(0, len(text), 1)],
...             sentences=[Sentence(0, len(text), 0)])
>>> [u.text for u in units(a)]
['Le préfet a parlé.', '"Nous agirons", a dit M. Guyot.', 'Alors les éleveurs ont réagi.']
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.records import Article

SENTENCE_END = tuple('.!?»"”…)')
OPENING_QUOTES = "«“"
CLOSING_QUOTES = "»”"
STRAIGHT_QUOTE = '"'
MAX_QUOTED_UNITS = 12

# Glued sentence boundary: end punctuation (and closing quotes) directly followed by a capital
# or an opening quote, e.g. `médecin."L'unité`, `Pyrénées.Alors`, `dit-il.«Nous`.  The word
# before the period has two letters or more, so initials (`M.Dupont`, `J.-C.`) stay whole.
_GLUED_END = re.compile(r"(?<=[^\W\d_]{2}[.!?…])([\"»”]?)(?=[\"«“]?[A-ZÀ-ÖØ-Þ][^\W\d_])")
# A crosshead glued onto the next sentence: `dans le cockpitLe pilote`.  Only a capitalised
# French function word may start the next sentence, so `iPhone` or `McDonald` are not split.
_OPENERS = frozenset(
    [
        "Le",
        "La",
        "Les",
        "L'",
        "Un",
        "Une",
        "Des",
        "Il",
        "Elle",
        "Ils",
        "Elles",
        "Ce",
        "Cette",
        "Ces",
        "Cet",
        "Dans",
        "En",
        "Pour",
        "Selon",
        "Au",
        "Aux",
        "Après",
        "Avant",
        "Depuis",
        "Si",
        "Mais",
        "Alors",
        "Lors",
        "De",
        "Du",
        "D'",
        "Sur",
        "Par",
        "Pour",
        "Quant",
        "Chez",
        "Face",
        "Cependant",
        "Pourtant",
        "Toutefois",
        "Ainsi",
        "Outre",
        "Enfin",
        "Mardi",
        "Lundi",
        "Mercredi",
        "Jeudi",
        "Vendredi",
        "Samedi",
        "Dimanche",
        "Parmi",
        "Avec",
    ]
)
_GLUED_HEADING = re.compile(
    r"(?<=[a-zà-öø-ÿ]{3})(?=(?:" + "|".join(re.escape(w) for w in _OPENERS) + r")(?:\s|(?<=')))"
)
# An AFP-style crosshead glued between two sentences: `fois".- Juste une étape -En désespoir`.
_CROSSHEAD = re.compile(r"(?<=[.!?»\"”])\s*-\s[^-.!?]{1,80}?\s-(?=\s*[\"«“]?[A-ZÀ-ÖØ-Þ])")
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
# A newsroom label before the headline proper: `VIDÉO. Condamnation de Cahuzac : ...`.
_MEDIA_LABEL = re.compile(r"^(?:VID[ÉE]OS?|PHOTOS?|EN IMAGES|INFOGRAPHIE|AUDIO|(?:EN )?DIRECT)\s*[.:\-–—]\s+")
MIN_HEADLINE_WORDS = 4


@dataclass(frozen=True)
class Unit:
    """One summary candidate: a span of ``Article.text`` and what selection must know about it."""

    start: int
    end: int
    paragraph: int
    index: int  # order among the article's units
    text: str
    inside_quote: bool  # starts inside a quotation opened by an earlier unit
    balanced_quotes: bool  # opens no quotation that continues after it
    bare_quote: bool  # a quotation with (almost) no words of its own outside the quotes

    @property
    def words(self) -> int:
        return count_words(self.text)

    @property
    def clean_start(self) -> bool:
        return starts_like_a_sentence(self.text)

    @property
    def complete(self) -> bool:
        return self.text.endswith(SENTENCE_END)


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def starts_like_a_sentence(text: str) -> bool:
    """A capital, a digit or an opening quote first; not a continuation or punctuation."""
    first = text[:1]
    return bool(first) and (first.isupper() or first.isdigit() or first in OPENING_QUOTES + STRAIGHT_QUOTE)


def headline(title: str | None) -> str | None:
    """The article's title as a summary sentence, or ``None`` where it cannot be one.

    The journalist's own one-line summary often carries the abstract's words, so a summary may
    open with it (the reranker decides).  A newsroom label (``VIDÉO.``) is dropped and a final
    period added; a question, a fragment of fewer than ``MIN_HEADLINE_WORDS`` words, an unclean
    start, unbalanced quotes or a bare quotation without its speaker is not a sentence to open
    a summary with.

    >>> headline("VIDÉO. Condamnation de Cahuzac : Hollande regrette de ne pas l'avoir écarté")
    "Condamnation de Cahuzac : Hollande regrette de ne pas l'avoir écarté."
    >>> headline("Vers une suspension des allocations ?") is None
    True
    """
    start, end = headline_span(title or "")
    text = " ".join((title or "")[start:end].split())
    if count_words(text) < MIN_HEADLINE_WORDS or text.endswith("?"):
        return None
    if not starts_like_a_sentence(text):
        return None
    if _quote_state(text, False) or _bare_quote(text, False):
        return None
    return text if text.endswith((".", "!", "…")) else f"{text}."


def headline_span(title: str) -> tuple[int, int]:
    """Where in ``title`` the headline's words are: without surrounding space or a newsroom label.

    >>> headline_span(" VIDÉO. Grand débat : Wargon détaille la méthode ")
    (8, 48)
    """
    stripped = title.lstrip()
    start = len(title) - len(stripped)
    label = _MEDIA_LABEL.match(stripped)
    return start + (label.end() if label else 0), len(title.rstrip())


def units(article: Article) -> list[Unit]:
    """The article's summary units in text order (see the module docstring)."""
    spans = list(_merge_fragments(article, _split_glued(article)))
    out: list[Unit] = []
    open_quote = False
    open_for = 0  # units since the quotation opened
    paragraph = -1
    for start, end, par in spans:
        # Quotations do not run across paragraphs, nor over many sentences: a quote
        # "open" that long was a stray mark, and believing it would mislabel the rest.
        if par != paragraph or open_for > MAX_QUOTED_UNITS:
            open_quote, paragraph = False, par
        text = article.text[start:end]
        state = _quote_state(text, open_quote)
        out.append(
            Unit(
                start=start,
                end=end,
                paragraph=par,
                index=len(out),
                text=text,
                inside_quote=open_quote,
                balanced_quotes=not state,
                bare_quote=_bare_quote(text, open_quote),
            )
        )
        open_for = open_for + 1 if state and open_quote else 0
        open_quote = state
    return out


def _split_glued(article: Article) -> Iterator[tuple[int, int, int]]:
    for s in article.sentences:
        text = article.text[s.start : s.end]
        paragraph_start = (
            article.paragraphs[s.paragraph].start if s.paragraph < len(article.paragraphs) else 0
        )
        before = article.text[min(paragraph_start, s.start) : s.start]
        cuts = {_glued_cut(before, text, m) for m in _GLUED_END.finditer(text)}
        cuts |= {m.start() for m in _GLUED_HEADING.finditer(text)}
        for m in _CROSSHEAD.finditer(text):
            cuts |= {m.start(), m.end()}
        begin = 0
        for cut in [*sorted(cuts), len(text)]:
            piece = text[begin:cut]
            lead = len(piece) - len(piece.lstrip())
            if piece.strip():
                yield s.start + begin + lead, s.start + begin + len(piece.rstrip()), s.paragraph
            begin = cut


def _glued_cut(before: str, text: str, match: re.Match[str]) -> int:
    """Where a glued boundary cuts: after a closing quote, before an opening one.

    A straight quote ``"`` closes when an odd number of them precede it in its paragraph
    (``before`` is the paragraph up to the sentence).
    """
    quote = match.group(1)
    if (
        quote == STRAIGHT_QUOTE
        and (before.count(STRAIGHT_QUOTE) + text.count(STRAIGHT_QUOTE, 0, match.start(1))) % 2 == 0
    ):
        return match.start(1)
    return match.end(1)


def _merge_fragments(
    article: Article, spans: Iterator[tuple[int, int, int]]
) -> Iterator[tuple[int, int, int]]:
    """Join a piece with the next one while it is an unfinished sentence."""
    current: tuple[int, int, int] | None = None
    for start, end, par in spans:
        if current is not None:
            text = article.text[current[0] : current[1]]
            following = article.text[start:end]
            if current[2] == par and _unfinished(text, following):
                current = (current[0], end, par)
                continue
            yield current
        current = (start, end, par)
    if current is not None:
        yield current


def _unfinished(text: str, following: str) -> bool:
    """Whether ``text`` and ``following`` are two pieces of one sentence that segmentation cut."""
    if text.count("(") > text.count(")"):
        return True  # `l'AAIB (Air` / `Accidents` / `)`
    first = following[:1]
    continuation = (
        first.islower()
        or first in ",;:)]»”"
        or following.startswith(("...", "…"))
        or re.match(r"-\w", following) is not None  # `affirme` / `-t` / `-il.`
    )
    if continuation:
        # No French sentence starts in lower case: after an ellipsis (`un ancêtre commun...`
        # / `apparu il y a...`) or an abbreviation, it is the rest of the sentence.
        return True
    if text.endswith(SENTENCE_END):
        return False
    # An unfinished piece runs on into the next one, unless it is a heading
    # (short, no comma: `De la fumée dans le cockpit`); a name cut in two
    # (`..., Raymond` / `Lee s'est rabattu`) follows a comma.
    if "," in text:
        return True
    # A name cut in two after a finished sentence: `Raymond` / `Lee s'est rabattu`.  A short
    # heading is followed by a sentence that opens with a function word instead.
    next_word = following.split(maxsplit=1)[0] if following.strip() else ""
    return count_words(text) <= 2 and next_word[:1].isupper() and next_word not in _OPENERS


def _quote_state(text: str, open_before: bool) -> bool:
    """Whether a quotation is still open after ``text``, given it was open before it."""
    return _scan_quotes(text, open_before)[1]


def _scan_quotes(text: str, open_before: bool) -> tuple[str, bool]:
    """(the text outside quotation marks, whether a quotation is open at its end)."""
    state = open_before
    outside = []
    for ch in text:
        if ch in OPENING_QUOTES:
            state = True
        elif ch in CLOSING_QUOTES:
            state = False
        elif ch == STRAIGHT_QUOTE:
            state = not state
        elif not state:
            outside.append(ch)
            continue
        outside.append(" ")
    return "".join(outside), state


def _bare_quote(text: str, open_before: bool) -> bool:
    """A quotation with fewer than three words outside its quotes: whose words, it does not say."""
    if not open_before and not any(ch in text for ch in OPENING_QUOTES + CLOSING_QUOTES + STRAIGHT_QUOTE):
        return False
    return count_words(_scan_quotes(text, open_before)[0]) < 3
