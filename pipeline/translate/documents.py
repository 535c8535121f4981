"""From records to sentences and back: what is translated, and how the English is laid out.

A :class:`Document` is a French text cut into paragraphs of sentence spans.  The
engines only ever see the sentences; :func:`assemble` rebuilds the English text
paragraph by paragraph and records, for every sentence, which French span became
which English span (``Translation.alignment``).

>>> doc = Document("summary", "s1", "Il pleut. Le vent souffle.", [[Span(0, 9), Span(10, 26)]])
>>> english = [Rendered("It is raining."), Rendered("The wind blows.")]
>>> tr = assemble(doc, english, Provenance("demo", None, None, {}, ""))
>>> tr.text
'It is raining. The wind blows.'
>>> [(doc.text[a.source.start : a.source.end], tr.text[a.target.start : a.target.end]) for a in tr.alignment]
[('Il pleut.', 'It is raining.'), ('Le vent souffle.', 'The wind blows.')]
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.records import AlignedSentence, Article, Provenance, Span, Summary, Translation
from pipeline.translate.base import Rendered
from pipeline.translate.segment import normalise_space, segment_text


@dataclass
class Document:
    kind: str  # "article" or "summary"
    target: str  # the article or summary id
    text: str
    paragraphs: list[list[Span]]  # sentence spans in `text`, grouped by paragraph

    def sentences(self) -> list[str]:
        return [normalise_space(self.text[s.start : s.end]) for para in self.paragraphs for s in para]

    @property
    def translation_id(self) -> str:
        return f"{self.kind}:{self.target}:en"  # a summary may share its article's id


def article_document(article: Article) -> Document:
    """Sentences from ingest (``Article.sentences``), grouped by ``Article.paragraphs``.

    A paragraph without sentences (a title line, say) is translated as one unit;
    an article with no segmentation at all is segmented here
    (:func:`~pipeline.translate.segment.segment_text`).  Where ingest cut a
    sentence mid-clause, the pieces are joined again (:func:`join_clause_cuts`).
    """
    if not article.sentences and not article.paragraphs:
        return text_document("article", article.id, article.text)
    by_paragraph: dict[int, list[Span]] = {}
    for sentence in article.sentences:
        span = _strip(article.text, sentence.start, sentence.end)
        if span is not None:
            by_paragraph.setdefault(sentence.paragraph, []).append(span)
    for index, paragraph in enumerate(article.paragraphs):
        if index not in by_paragraph:
            span = _strip(article.text, paragraph.start, paragraph.end)
            if span is not None:
                by_paragraph[index] = [span]
    paragraphs = [
        join_clause_cuts(article.text, sorted(by_paragraph[i], key=lambda s: s.start))
        for i in sorted(by_paragraph)
    ]
    return Document("article", article.id, article.text, paragraphs)


# A sentence ends with .!?… (maybe then closing quotes or brackets); the next one starts
# with a capital, a digit, a quote, a bracket or a dash.
_CLOSED = re.compile(r"[.!?…:;][\s»\"”’')\]]*$")
_ONLY_OPENERS = re.compile(r"[\s«\"“(\[—–-]+")  # a piece cut off before its sentence ("«")
_OPENS = re.compile(r"^[\s«\"“(\[—–-]*[A-ZÀ-ÖØ-Þ0-9]")


def join_clause_cuts(text: str, spans: list[Span]) -> list[Span]:
    """Join consecutive sentence spans where the cut between them is not a sentence end.

    A statistical segmenter sometimes cuts mid-clause (after "«", inside a
    hyphenated name); translated apart, the pieces lose their context.

    >>> text = "Au Royaume-Uni, des évêques ont écrit. « Ils attendent. »"
    >>> spans = [Span(0, 9), Span(10, 38), Span(39, 40), Span(41, 57)]
    >>> [text[s.start : s.end] for s in join_clause_cuts(text, spans)]
    ['Au Royaume-Uni, des évêques ont écrit.', '« Ils attendent. »']
    """
    joined: list[Span] = []
    for span in spans:
        if joined:
            previous, piece = text[joined[-1].start : joined[-1].end], text[span.start : span.end]
            opens = bool(_OPENS.match(piece) or _ONLY_OPENERS.fullmatch(piece))
            if _ONLY_OPENERS.fullmatch(previous) or not (_CLOSED.search(previous) and opens):
                joined[-1] = Span(joined[-1].start, span.end)
                continue
        joined.append(span)
    return joined


def summary_document(summary: Summary) -> Document:
    """A summary's own sentences (``Summary.sentences``) located in its text, else segmented here."""
    spans: list[Span] = []
    cursor = 0
    for sentence in summary.sentences:
        wanted = sentence.text.strip()
        start = summary.text.find(wanted, cursor) if wanted else -1
        if start < 0:
            spans = []
            break
        spans.append(Span(start, start + len(wanted)))
        cursor = start + len(wanted)
    if not spans:
        return text_document("summary", summary.id, summary.text)
    # Keep the summary's paragraph breaks: a blank line between two sentences starts a new paragraph.
    paragraphs: list[list[Span]] = [[spans[0]]]
    for previous, span in itertools.pairwise(spans):
        gap = summary.text[previous.end : span.start]
        if gap.count("\n") >= 2:
            paragraphs.append([])
        paragraphs[-1].append(span)
    return Document("summary", summary.id, summary.text, paragraphs)


def text_document(kind: str, target: str, text: str) -> Document:
    """Free text: paragraphs at blank lines, then sentences (no model: see :func:`segment_text`)."""
    paragraphs = [[Span(a, b) for a, b in para] for para in segment_text(text)]
    return Document(kind, target, text, paragraphs)


def assemble(document: Document, rendered: Sequence[Rendered], provenance: Provenance) -> Translation:
    """The :class:`Translation` record of ``document`` from its sentences' translations (in order)."""
    count = sum(len(p) for p in document.paragraphs)
    if len(rendered) != count:
        raise ValueError(f"{document.target}: {len(rendered)} translations for {count} sentences")
    parts: list[str] = []
    paragraphs: list[Span] = []
    alignment: list[AlignedSentence] = []
    unknown: dict[str, None] = {}
    position = 0
    sentences = iter(rendered)
    for number, paragraph in enumerate(document.paragraphs):
        if number:
            parts.append("\n\n")
            position += 2
        start = position
        for source in paragraph:
            english = next(sentences)
            unknown.update(dict.fromkeys(english.unknown))
            text = english.text.strip()
            if text and position > start:
                parts.append(" ")
                position += 1
            parts.append(text)
            alignment.append(AlignedSentence(source, Span(position, position + len(text)), english.split))
            position += len(text)
        paragraphs.append(Span(start, position))
    return Translation(
        id=document.translation_id,
        kind=document.kind,  # type: ignore[arg-type]
        target=document.target,
        source_text=document.text,
        text="".join(parts),
        paragraphs=paragraphs,
        alignment=alignment,
        provenance=provenance,
        unknown_words=list(unknown),
    )


def _strip(text: str, start: int, end: int) -> Span | None:
    """The span without its surrounding whitespace, or None if nothing is left."""
    chunk = text[start:end]
    if not chunk.strip():
        return None
    lead = len(chunk) - len(chunk.lstrip())
    return Span(start + lead, start + lead + len(chunk.strip()))
