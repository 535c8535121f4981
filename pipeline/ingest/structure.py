"""Paragraphs, French sentences and named entities, with offsets into the article text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.ingest.boilerplate import is_heading
from pipeline.nlp import SENTENCES_AND_ENTITIES, load_spacy, parse
from pipeline.records import Entity, Paragraph, Sentence

PARAGRAPH_SEPARATOR = "\n\n"
_SENTENCE_END = re.compile(r"[.!?…»\"')]$")
# Longest text given to spaCy at once: its parser needs memory in proportion to the text
# (measured: +150 MB for one 50,000-character text).  News paragraphs stay far below.
MAX_PIECE_CHARS = 10_000
# A likely sentence break: end punctuation after a word of two or more letters ("M. Dupont"
# is not one), then a space and a capital or an opening quote.
_SENTENCE_BREAK = re.compile(r"(?<=\w\w[.!?…]) +(?=[A-ZÀ-ÖØ-Þ«\"])")


@dataclass
class Layout:
    text: str
    paragraphs: list[Paragraph]


def build_paragraphs(lines: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """Group kept ``(line number, text)`` lines into ``(first line, paragraph text)``.

    Blank lines always end a paragraph.  Inside a block, a line break ends a paragraph
    when the line ends like a sentence or is a heading; otherwise the text was
    hard-wrapped and the lines are joined.
    """
    paragraphs: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    padded = [(number, line.strip()) for number, line in lines] + [(0, "")]
    for (number, line), (_, following) in zip(padded, [*padded[1:], (0, "")], strict=True):
        if not line:
            if current:
                paragraphs.append((start, " ".join(current)))
            current = []
            continue
        if not current:
            start = number
        current.append(line)
        # A heading is short, unpunctuated and followed by a capitalised line; a
        # hard-wrapped line usually continues in lower case.
        heading = is_heading(line, max_words=12) and following[:1].isupper()
        if _SENTENCE_END.search(line) or heading:
            paragraphs.append((start, " ".join(current)))
            current = []
    return paragraphs


def layout(paragraphs: Sequence[tuple[int, str]]) -> Layout:
    """Join paragraphs with blank lines and record each one's span."""
    parts, records, offset = [], [], 0
    for line, text in paragraphs:
        parts.append(text)
        records.append(Paragraph(start=offset, end=offset + len(text), line=line))
        offset += len(text) + len(PARAGRAPH_SEPARATOR)
    return Layout(PARAGRAPH_SEPARATOR.join(parts), records)


def pieces(text: str, limit: int) -> list[tuple[int, str]]:
    """``text`` cut into ``(offset, piece)`` of at most ``limit`` characters, for spaCy.

    spaCy refuses texts over ``nlp.max_length`` (E088) and its parser needs memory
    in proportion to the text, so a very long paragraph (a one-line 4 MB file) is
    cut, preferably between sentences, else at a space.  Ordinary paragraphs are
    under the limit and come back whole.

    >>> pieces("Il a vu M. Dupont. Puis il est parti.", 30)
    [(0, 'Il a vu M. Dupont. '), (19, 'Puis il est parti.')]
    """
    found: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > limit:
        window = text[start : start + limit]
        ends = [m.end() for m in _SENTENCE_BREAK.finditer(window)]
        cut = ends[-1] if ends and ends[-1] >= limit // 2 else window.rfind(" ") + 1
        if cut < limit // 2:  # no usable break (one huge "word"): cut anywhere
            cut = limit
        found.append((start, text[start : start + cut]))
        start += cut
    found.append((start, text[start:]))
    return found


def analyse_many(layouts: Sequence[Layout], spacy_model: str) -> list[tuple[list[Sentence], list[Entity]]]:
    """Sentence-split and tag every paragraph of several documents in one batched spaCy pass.

    Paragraphs bound sentences.  Batching across documents is what makes ingest
    cost about what spaCy alone costs; only the parser and the NER run.
    """
    limit = min(MAX_PIECE_CHARS, load_spacy(spacy_model).max_length)
    # (document, paragraph index, offset of the piece in the article text, piece)
    units = [
        (d, index, paragraph.start + offset, piece)
        for d, found in enumerate(layouts)
        for index, paragraph in enumerate(found.paragraphs)
        for offset, piece in pieces(found.text[paragraph.start : paragraph.end], limit)
    ]
    docs = parse(spacy_model, (piece for *_, piece in units), SENTENCES_AND_ENTITIES)
    results: list[tuple[list[Sentence], list[Entity]]] = [([], []) for _ in layouts]
    for (d, index, base, _), doc in zip(units, docs, strict=True):
        sentences, entities = results[d]
        for sent in doc.sents:
            stripped = sent.text.strip()
            if not stripped:
                continue
            start = base + sent.start_char + (len(sent.text) - len(sent.text.lstrip()))
            sentences.append(Sentence(start=start, end=start + len(stripped), paragraph=index))
        entities.extend(
            Entity(text=ent.text, label=ent.label_, start=base + ent.start_char, end=base + ent.end_char)
            for ent in doc.ents
        )
    return results
