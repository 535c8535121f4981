"""Paragraphs, French sentences and named entities, with offsets into the article text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.ingest.boilerplate import is_heading
from pipeline.nlp import load_spacy
from pipeline.records import Entity, Paragraph, Sentence

PARAGRAPH_SEPARATOR = "\n\n"
_SENTENCE_END = re.compile(r"[.!?…»\"')]$")


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


def analyse(
    text: str, paragraphs: Sequence[Paragraph], spacy_model: str
) -> tuple[list[Sentence], list[Entity]]:
    """Sentence-split and tag each paragraph with spaCy; paragraphs bound sentences."""
    nlp = load_spacy(spacy_model)
    sentences: list[Sentence] = []
    entities: list[Entity] = []
    docs = nlp.pipe(text[p.start : p.end] for p in paragraphs)
    for index, (paragraph, doc) in enumerate(zip(paragraphs, docs, strict=True)):
        base = paragraph.start
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
    return sentences, entities
