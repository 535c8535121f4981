"""Cutting French text into the units the engines translate.

* :func:`split_clauses` splits an over-long sentence at clause boundaries
  (semicolons and colons, then commas and dashes, then conjunctions, then any
  space) so that every piece fits a model's input limit; nothing is ever dropped.
* :func:`segment_text` cuts free text into paragraphs (blank lines) and sentences,
  as character spans, for texts that did not come through ingest.  Sentences end
  at ``.!?…`` (closing quotes and brackets included) before a capital, a digit or
  an opening quote, never after a known abbreviation or an initial, and never
  inside quotes or brackets left open: a cheap, conservative splitter (a cut that
  is not there costs the pivot nothing, a cut mid-clause costs it the context),
  with no model to load.

>>> split_clauses("Il pleut, et le vent souffle fort; la mer est grosse.", lambda s: len(s) < 40)
['Il pleut, et le vent souffle fort;', 'la mer est grosse.']
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Boundary kinds, most natural first.  Each pattern matches the gap between two
# clauses; the second clause starts where the match ends (conjunctions start it).
_BOUNDARIES: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?<=[;:])\s+"),
    re.compile(r"(?<=,)\s+|\s+(?=[—–-]\s)|(?<=\s[—–-])\s+|(?<=\))\s+"),
    re.compile(
        r"\s+(?=(?:et|mais|ou|car|donc|or|ni|puis|tandis|alors que|lorsque|puisque|parce que|"
        r"afin|bien que|qui|que|qu['’]|dont|où|avec|sans|pour|selon)\b)",
        re.IGNORECASE,
    ),
    re.compile(r"\s+"),
)


def split_clauses(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Split ``text`` into pieces for which ``fits(piece)`` holds, cutting at the best boundary.

    Pieces joined with spaces give ``text`` back up to whitespace.  A piece with no
    space left that still does not fit is cut in the middle of the characters (a
    very long URL, say): an over-long input is split, never truncated.
    """
    text = text.strip()
    if not text or fits(text):
        return [text] if text else []
    cut = _best_cut(text)
    left, right = text[: cut[0]].strip(), text[cut[1] :].strip()
    if not left or not right:  # cannot happen with _best_cut, kept as a guard against loops
        return [text]
    return split_clauses(left, fits) + split_clauses(right, fits)


def _best_cut(text: str) -> tuple[int, int]:
    """(end of left piece, start of right piece) nearest the middle, preferring clause ends."""
    middle = len(text) / 2
    for window in (0.3, 0.5):  # look near the middle first so pieces stay balanced
        low, high = middle - window * len(text), middle + window * len(text)
        for pattern in _BOUNDARIES:
            cuts = [
                (m.start(), m.end())
                for m in pattern.finditer(text)
                if m.start() > 0 and m.end() < len(text) and low <= m.start() <= high
            ]
            if cuts:
                return min(cuts, key=lambda c: abs(c[0] - middle))
    half = len(text) // 2
    return half, half


def normalise_space(text: str) -> str:
    """Collapse every run of whitespace (newlines included) to one space."""
    return " ".join(text.split())


# Words after which a full stop does not end the sentence (lowercase; initials are handled apart).
_ABBREVIATIONS = frozenset(
    re.findall(
        r"\S+",
        "m mm mme mmes mlle mlles dr pr me mgr st ste cf etc p pp vol ch art av bd no n° ex env hab "
        "jan janv fév févr avr juil sept oct nov déc lun mar mer jeu ven sam dim gén col cdt lt sgt "
        "adj capt min max tél fig éd coll dir trad approx mr mrs ms prof inc ltd co corp jr sr vs",
    )
)
# End punctuation, closing quotes/brackets (French puts a space before »), then a space and
# what starts a sentence: a capital or a digit, maybe after an opening quote.
_SENTENCE_END = re.compile(
    r"[.!?…]+(?:[ \u00a0\u202f]?[»\"”’')\]])*(?=\s+[«\"“(\[]?[ \u00a0\u202f]?[A-ZÀ-ÖØ-Þ0-9])"
)
_OPENERS, _CLOSERS = "«“([", "»”)]"


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of one paragraph (whitespace trimmed), without any model.

    >>> text = "M. Dupont est arrivé à 8 h. Il a dit « C'est fini. Vraiment. » Puis il est parti !"
    >>> [text[a:b] for a, b in split_sentences(text)]
    ['M. Dupont est arrivé à 8 h.', "Il a dit « C'est fini. Vraiment. »", 'Puis il est parti !']
    >>> text = "Au Royaume-Uni, des évêques ont écrit à J. K. Rowling. 3 sont partis."
    >>> [text[a:b] for a, b in split_sentences(text)]
    ['Au Royaume-Uni, des évêques ont écrit à J. K. Rowling.', '3 sont partis.']
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if not _ends_sentence(text, start, match.start(), end):
            continue
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    trimmed = []
    for a, b in spans:
        chunk = text[a:b]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            trimmed.append((a + lead, a + lead + len(chunk.strip())))
    return trimmed


def _ends_sentence(text: str, start: int, stop: int, end: int) -> bool:
    """Whether the punctuation at ``stop`` (closers up to ``end``) closes the sentence begun at ``start``."""
    before = text[start:stop]
    if text[stop] == ".":
        word = re.search(r"([^\W\d_][\w'-]*|\d+)$", before)
        if word is not None:
            token = word.group(1)
            if token.lower() in _ABBREVIATIONS or (len(token) == 1 and token.isupper()):
                return False  # "M. Dupont", "J. K. Rowling"
    # Inside quotes or brackets left open, the sentence goes on ("« C'est fini. Vraiment. »").
    sentence = text[start:end]
    opened = sum(sentence.count(c) for c in _OPENERS) - sum(sentence.count(c) for c in _CLOSERS)
    return opened <= 0 and sentence.count('"') % 2 == 0


def segment_text(text: str) -> list[list[tuple[int, int]]]:
    """Sentence spans of ``text``, grouped by paragraph (paragraphs are split at blank lines).

    >>> text = "Il pleut. Le vent souffle.\\n\\nLa mer est grosse."
    >>> [[text[a:b] for a, b in para] for para in segment_text(text)]
    [['Il pleut.', 'Le vent souffle.'], ['La mer est grosse.']]
    """
    paragraphs: list[list[tuple[int, int]]] = []
    start = 0
    for match in [*re.finditer(r"\n[ \t\r\f\v]*\n\s*", text), None]:
        end = match.start() if match else len(text)
        block = text[start:end]
        if block.strip():
            paragraphs.append([(start + a, start + b) for a, b in split_sentences(block)])
        if match:
            start = match.end()
    return paragraphs
