"""Turning each input format into raw documents (finding the files is :mod:`pipeline.discovery`).

A reader never raises for bad input: it yields a :class:`RawDocument` or a
:class:`Rejection` with a reason code, so one bad file never stops a batch.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import trafilatura

from pipeline.discovery import SUPPORTED_SUFFIXES, discover, stat_rejection
from pipeline.ingest.decoding import DecodeError, decode_bytes, normalize_text
from pipeline.records import Rejection

__all__ = ["SUPPORTED_SUFFIXES", "RawDocument", "discover", "read_documents"]


@dataclass
class RawDocument:
    """Decoded text of one article before cleaning, with metadata the container gave."""

    source: str
    name: str
    text: str
    encoding: str
    title: str | None = None
    date: str | None = None
    url: str | None = None
    outlet: str | None = None


def _reject(source: object, reason: str, detail: str) -> Rejection:
    return Rejection(source=str(source), stage="ingest", reason=reason, detail=detail)


def read_documents(path: Path, max_bytes: int) -> Iterator[RawDocument | Rejection]:
    """Read one input file into documents (several for JSONL)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield _reject(path, "unsupported-format", f"not one of {', '.join(SUPPORTED_SUFFIXES)}")
        return
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            yield _reject(path, "not-a-file", "not a regular file (a device, pipe or socket)")
            return
        size = st.st_size
        if size > max_bytes:
            yield _reject(path, "too-large", f"{size:,} bytes is over the {max_bytes:,}-byte limit")
            return
        data = path.read_bytes()
    except OSError as exc:
        yield stat_rejection(path, exc)
        return
    if not data.strip():
        yield _reject(path, "empty", "the file is empty")
        return
    try:
        decoded = decode_bytes(data)
    except DecodeError as exc:
        yield _reject(path, exc.reason, exc.detail)
        return
    if suffix == ".jsonl":
        yield from _jsonl_documents(path, decoded.text, decoded.encoding)
    elif suffix in (".html", ".htm"):
        yield _html_document(path, decoded.text, decoded.encoding)
    elif suffix == ".md":
        yield _markdown_document(path, normalize_text(decoded.text), decoded.encoding)
    else:
        text = normalize_text(decoded.text)
        yield RawDocument(source=str(path), name=path.stem, text=text, encoding=decoded.encoding)


def _jsonl_documents(path: Path, text: str, encoding: str) -> Iterator[RawDocument | Rejection]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}#L{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield _reject(where, "bad-json", f"line {number} is not valid JSON: {exc.msg}")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
            yield _reject(where, "missing-text", f"line {number} has no non-empty string field 'text'")
            continue

        def field(key: str, obj: dict = obj) -> str | None:
            value = obj.get(key)
            return normalize_text(value) if isinstance(value, str) and value.strip() else None

        yield RawDocument(
            source=where,
            name=f"{path.stem}#{number}",
            text=normalize_text(obj["text"]),
            encoding=encoding,
            title=field("title"),
            date=field("date"),
            url=field("url"),
            outlet=field("source"),
        )


def _html_document(path: Path, html: str, encoding: str) -> RawDocument | Rejection:
    extracted = trafilatura.extract(
        html, output_format="json", with_metadata=True, include_comments=False, include_tables=False
    )
    if not extracted:
        return _reject(path, "no-article", "no article text could be extracted from the HTML page")
    meta = json.loads(extracted)
    return RawDocument(
        source=str(path),
        name=path.stem,
        text=normalize_text(meta.get("text") or ""),
        encoding=encoding,
        title=normalize_text(meta["title"]) if meta.get("title") else None,
        date=meta.get("date") or None,
        url=meta.get("source") or meta.get("url") or None,
        outlet=meta.get("sitename") or meta.get("hostname") or None,
    )


_MD_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(\S(?:.*?\S)?)\1")


def _markdown_document(path: Path, text: str, encoding: str) -> RawDocument:
    """Markdown to plain text: headings keep their text, links their label, emphasis goes."""
    title = None
    lines = []
    for line in text.split("\n"):
        heading = _MD_HEADING.match(line)
        if heading:
            line = heading.group(1)
            if title is None:
                title = line
                continue
        if line.startswith("```"):
            continue
        line = _MD_LINK.sub(r"\1", line)
        line = _MD_EMPHASIS.sub(r"\2", line)
        lines.append(re.sub(r"^\s*(?:[-*+]|>)\s+", "", line))
    return RawDocument(
        source=str(path), name=path.stem, text="\n".join(lines), encoding=encoding, title=title
    )
