"""The record types that flow between stages, one JSONL line each.

Every record is a plain dataclass that round-trips through ``to_dict`` /
``from_dict`` so the run directory stays loadable with
``datasets.load_dataset("json", data_files=...)``.  Character offsets refer to
``Article.text`` (the cleaned, normalised article text), except an ``Occurrence``
whose ``part`` is ``"title"``: its offsets are into ``Article.title``.

>>> s = Span(0, 5)
>>> Span.from_dict(s.to_dict()) == s
True
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

T = TypeVar("T", bound="Record")


class Record:
    """Mixin: dataclass <-> JSON-compatible dict, recursing into nested records."""

    # Empty slots let the small, numerous records (spans, entities, occurrences,
    # pair links) drop their per-instance __dict__: a 100k-article corpus holds millions.
    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        hints = _type_hints(cls)
        kwargs = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in data:
                kwargs[f.name] = _decode(hints[f.name], data[f.name])
        return cls(**kwargs)


_HINTS: dict[type, dict[str, Any]] = {}


def _type_hints(cls: type) -> dict[str, Any]:
    # Resolving the annotations costs ~0.3 ms per call: once per class, not once per record.
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_decode(item, v) for v in value]
    if origin is tuple:
        return tuple(value)
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint.from_dict(value)
    return value


# --- ingest ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span(Record):
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Paragraph(Record):
    start: int
    end: int
    line: int  # 1-based line of the input file where the paragraph begins


@dataclass(frozen=True, slots=True)
class Sentence(Record):
    start: int
    end: int
    paragraph: int  # index into Article.paragraphs


@dataclass(frozen=True, slots=True)
class Entity(Record):
    text: str
    label: str  # spaCy French labels: PER, LOC, ORG, MISC
    start: int
    end: int


@dataclass(frozen=True)
class DateInfo(Record):
    raw: str  # as written in the source
    iso: str  # "2024-02-11", "2024-02" or "2024"
    precision: Literal["day", "month", "year"]
    origin: Literal["date-line", "lede", "metadata"]


@dataclass(frozen=True)
class Removal(Record):
    """A piece of page furniture dropped by ingest, and the rule that dropped it."""

    rule: str
    line: int  # 1-based line in the decoded input
    text: str


@dataclass
class Article(Record):
    id: str  # "<name>-<first 12 hex of sha256(text)>": stable across runs and machines
    name: str  # file stem (or "<stem>#<line>" for JSONL inputs); references are keyed by it
    source: str  # the input path
    text: str
    title: str | None = None
    date: DateInfo | None = None
    dateline: str | None = None
    url: str | None = None
    outlet: str | None = None
    language: str = "fr"
    language_share: float = 1.0
    encoding: str = "utf-8"
    paragraphs: list[Paragraph] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    content_sha256: str = ""

    def sentence_texts(self) -> list[str]:
        return [self.text[s.start : s.end] for s in self.sentences]

    def paragraph_texts(self) -> list[str]:
        return [self.text[p.start : p.end] for p in self.paragraphs]


@dataclass(frozen=True)
class Rejection(Record):
    source: str
    stage: str
    reason: str  # short machine-readable code, e.g. "empty", "binary", "not-french"
    detail: str  # a sentence for humans


# --- provenance shared by every model output ------------------------------


@dataclass(frozen=True)
class Provenance(Record):
    """Which path and which model produced an output, and from what input."""

    backend: str  # e.g. "neural", "ct2", "offline-extractive", "apertium"
    model: str | None  # hub id, package name or tool name
    revision: str | None
    params: dict[str, Any]
    input_sha256: str


# --- dedup ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Occurrence(Record):
    article_id: str
    start: int
    end: int
    part: Literal["text", "title"] = "text"  # which of the article's strings start:end is in


@dataclass
class Passage(Record):
    """A group of near-identical sentences or paragraphs, across or within articles."""

    id: str
    kind: Literal["sentence", "paragraph"]
    text: str  # the first occurrence's text
    occurrences: list[Occurrence]
    jaccard: float  # lowest estimated Jaccard similarity inside the group


@dataclass(frozen=True, slots=True)
class PairLink(Record):
    """Why two articles were (or were not) put in the same event cluster."""

    a: str
    b: str
    semantic: float
    entities: float
    dates: float
    combined: float
    linked: bool
    # Why, in words: a veto (dates too far apart, another event day or figure in
    # the event signature) and what the two articles agree on; "" when nothing to say.
    reason: str = ""


@dataclass
class Cluster(Record):
    id: str
    members: list[str]
    representative: str
    date_start: str | None
    date_end: str | None
    shared_entities: list[str]
    pairs: list[PairLink]
    provenance: Provenance | None = None  # the embedding model behind the semantic scores


# --- summarise ------------------------------------------------------------


@dataclass
class SummarySentence(Record):
    text: str
    sources: list[Occurrence]  # where in which article the content comes from


@dataclass
class Summary(Record):
    id: str
    kind: Literal["article", "event"]
    target: str  # article id or cluster id
    text: str
    sentences: list[SummarySentence]
    provenance: Provenance
    unsupported: list[str] = field(default_factory=list)  # facts not found in the sources
    checked_facts: int = 0


# --- translate ------------------------------------------------------------


@dataclass(frozen=True)
class AlignedSentence(Record):
    source: Span  # in the French text
    target: Span  # in the English text
    split: bool = False  # the French sentence was split at clause boundaries to fit


@dataclass
class Translation(Record):
    id: str
    kind: Literal["article", "summary"]
    target: str  # article id or summary id
    source_text: str
    text: str
    paragraphs: list[Span]  # in `text`, one per source paragraph
    alignment: list[AlignedSentence]
    provenance: Provenance
    unknown_words: list[str] = field(default_factory=list)  # engine-marked, e.g. "*word" (Apertium)
