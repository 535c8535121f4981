"""Cutting French text into the units the engines translate.

* :func:`split_clauses` splits an over-long sentence at clause boundaries
  (semicolons and colons, then commas and dashes, then conjunctions, then any
  space) so that every piece fits a model's input limit; nothing is ever dropped.
* :func:`segment_text` cuts free text into paragraphs (blank lines) and sentences
  (spaCy), as character spans, for texts that did not come through ingest.

>>> split_clauses("Il pleut, et le vent souffle fort; la mer est grosse.", lambda s: len(s) < 40)
['Il pleut, et le vent souffle fort;', 'la mer est grosse.']
"""

from __future__ import annotations

import re
from collections.abc import Callable

from spacy.language import Language

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


def segment_text(text: str, nlp: Language) -> list[list[tuple[int, int]]]:
    """Sentence spans of ``text``, grouped by paragraph (paragraphs are split at blank lines).

    >>> import spacy
    >>> nlp = spacy.blank("fr"); _ = nlp.add_pipe("sentencizer")
    >>> text = "Il pleut. Le vent souffle.\\n\\nLa mer est grosse."
    >>> [[text[a:b] for a, b in para] for para in segment_text(text, nlp)]
    [['Il pleut.', 'Le vent souffle.'], ['La mer est grosse.']]
    """
    paragraphs: list[list[tuple[int, int]]] = []
    start = 0
    for match in [*re.finditer(r"\n[ \t\r\f\v]*\n\s*", text), None]:
        end = match.start() if match else len(text)
        block = text[start:end]
        if block.strip():
            spans = []
            for sent in nlp(block).sents:
                stripped = sent.text.strip()
                if stripped:
                    offset = start + sent.start_char + (len(sent.text) - len(sent.text.lstrip()))
                    spans.append((offset, offset + len(stripped)))
            paragraphs.append(spans)
        if match:
            start = match.end()
    return paragraphs
