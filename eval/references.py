"""Reference sets: gold clusters, reference summaries and reference translations.

A reference set is a directory of up to three JSONL files (UTF-8, one object a
line); any of them may be missing, and the metrics that need it are skipped:

``clusters.jsonl``
    ``{"cluster": slug, "members": [article name, ...], "description": "..."}``
``summaries.jsonl``
    ``{"kind": "article", "target": article name, "fr": "...", "en": "..."}`` or
    ``{"kind": "event", "target": cluster slug, "members": [...], "fr": "...", "en": "..."}``
``translations.jsonl``
    ``{"article": article name, "paragraph": 0-based index, "fr": "French paragraph as in
    the article", "en": "reference English translation"}``

Article names are input file stems (``Article.name``).  Without a path the set
embedded with the pipeline (``corpus/references``) is used.

>>> refs = load_references(None)
>>> refs.source
'embedded'
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLUSTERS_FILE = "clusters.jsonl"
SUMMARIES_FILE = "summaries.jsonl"
TRANSLATIONS_FILE = "translations.jsonl"
FILES = (CLUSTERS_FILE, SUMMARIES_FILE, TRANSLATIONS_FILE)

_REPO_ROOT = Path(__file__).resolve().parents[1]


class ReferenceError(ValueError):
    """A reference file that cannot be read, or a line that breaks the format."""


@dataclass(frozen=True)
class GoldCluster:
    slug: str
    members: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class ReferenceSummary:
    kind: str  # "article" | "event"
    target: str  # article name, or cluster slug for events
    fr: str
    en: str | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReferenceTranslation:
    article: str
    paragraph: int
    fr: str
    en: str


@dataclass
class ReferenceSet:
    source: str  # "embedded" or the directory given
    path: str
    clusters: list[GoldCluster] = field(default_factory=list)
    summaries: list[ReferenceSummary] = field(default_factory=list)
    translations: list[ReferenceTranslation] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)  # file name -> content hash
    missing: list[str] = field(default_factory=list)  # files not present in the directory

    def gold_labels(self) -> dict[str, str]:
        """``{article name: gold cluster slug}``."""
        return {member: c.slug for c in self.clusters for member in c.members}

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "path": self.path,
            "sha256": dict(sorted(self.sha256.items())),
            "missing": sorted(self.missing),
            "counts": {
                "clusters": len(self.clusters),
                "summaries_article": sum(s.kind == "article" for s in self.summaries),
                "summaries_event": sum(s.kind == "event" for s in self.summaries),
                "translations": len(self.translations),
            },
        }


def embedded_references_dir() -> Path:
    """``corpus/references`` of a source checkout, or the copy a wheel carries."""
    import pipeline

    candidates = (
        _REPO_ROOT / "corpus" / "references",
        Path(pipeline.__file__).resolve().parent / "_data" / "corpus" / "references",
    )
    for path in candidates:
        if path.is_dir():
            return path
    return candidates[0]


def load_references(path: str | Path | None) -> ReferenceSet:
    """Load the reference set in ``path`` (``None`` or ``""``: the embedded one)."""
    if path:
        directory, source = Path(path), str(path)
        if not directory.is_dir():
            raise ReferenceError(f"reference directory {directory} does not exist")
    else:
        directory, source = embedded_references_dir(), "embedded"
    refs = ReferenceSet(source=source, path=str(directory))
    for name in FILES:
        file = directory / name
        if not file.is_file():
            refs.missing.append(name)
            continue
        data = file.read_bytes()
        refs.sha256[name] = hashlib.sha256(data).hexdigest()
        rows = _parse_jsonl(file, data)
        if name == CLUSTERS_FILE:
            refs.clusters = [_cluster(file, line, row) for line, row in rows]
        elif name == SUMMARIES_FILE:
            refs.summaries = [_summary(file, line, row) for line, row in rows]
        else:
            refs.translations = [_translation(file, line, row) for line, row in rows]
    return refs


def references_config(settings: Any) -> dict[str, Any]:
    """What the score stage's outputs depend on outside the run: the reference files' hashes.

    Declared as the score stage's external input (``pipeline.stage.STAGES``), so a
    changed reference file makes ``pipeline run`` score again.
    """
    try:
        return {"references_sha256": load_references(settings.score.references or None).sha256}
    except ReferenceError as exc:
        return {"references_error": str(exc)}


def _parse_jsonl(file: Path, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReferenceError(f"{file}: not UTF-8 ({exc})") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReferenceError(f"{file}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ReferenceError(f"{file}:{number}: expected a JSON object")
        rows.append((number, row))
    return rows


def _field(file: Path, line: int, row: dict[str, Any], key: str, kind: type, optional: bool = False) -> Any:
    value = row.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ReferenceError(f"{file}:{line}: {key!r} must be a {kind.__name__}, got {value!r}")
    if isinstance(value, str) and not value.strip():
        raise ReferenceError(f"{file}:{line}: {key!r} is empty")
    return value


def _names(file: Path, line: int, row: dict[str, Any], key: str) -> tuple[str, ...]:
    members = _field(file, line, row, key, list)
    if not all(isinstance(m, str) and m for m in members):
        raise ReferenceError(f"{file}:{line}: {key!r} must be a list of article names")
    return tuple(members)


def _cluster(file: Path, line: int, row: dict[str, Any]) -> GoldCluster:
    return GoldCluster(
        slug=_field(file, line, row, "cluster", str),
        members=_names(file, line, row, "members"),
        description=row.get("description") or "",
    )


def _summary(file: Path, line: int, row: dict[str, Any]) -> ReferenceSummary:
    kind = _field(file, line, row, "kind", str)
    if kind not in ("article", "event"):
        raise ReferenceError(f"{file}:{line}: 'kind' must be 'article' or 'event', got {kind!r}")
    return ReferenceSummary(
        kind=kind,
        target=_field(file, line, row, "target", str),
        fr=_field(file, line, row, "fr", str),
        en=_field(file, line, row, "en", str, optional=True),
        members=_names(file, line, row, "members") if "members" in row else (),
    )


def _translation(file: Path, line: int, row: dict[str, Any]) -> ReferenceTranslation:
    paragraph = _field(file, line, row, "paragraph", int)
    if paragraph < 0:
        raise ReferenceError(f"{file}:{line}: 'paragraph' must be >= 0")
    return ReferenceTranslation(
        article=_field(file, line, row, "article", str),
        paragraph=paragraph,
        fr=_field(file, line, row, "fr", str),
        en=_field(file, line, row, "en", str),
    )
