"""OrangeSum (``../shared/datasets/orangesum``) as pipeline articles, for benchmarks and training.

Each row's body goes through the pipeline's real ingest (:func:`pipeline.ingest.ingest_document`),
with the row's title given as the document title, exactly as a JSONL input with ``title`` and
``text`` fields would be ingested.  Ingested articles are kept in the pipeline's output cache
(keyed by the ingest code and settings), so a second benchmark or training run does not parse
the articles again.

The data is CC BY-SA 4.0 (``orangesum/LICENSE.txt``); cite Kamal Eddine, Tixier and
Vazirgiannis (2020), "BARThez: a Skilled Pretrained French Sequence-to-Sequence Model".
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.records import Article

ARTICLES_FILE = "articles.jsonl.gz"
SPLITS = ("train", "valid")
_CHUNK = 64  # articles per cache commit: a killed run keeps what it parsed


@dataclass(frozen=True)
class Example:
    """One OrangeSum row: an article and the journalist's abstract."""

    id: str
    title: str
    abstract: str
    body: str


def read_split(
    data: str | Path, split: str, limit: int | None = None, seed: int | None = None
) -> list[Example]:
    """The first ``limit`` rows of ``split``: in file order, or in a seeded random order with ``seed``
    (so a smaller sample is a prefix of a larger one with the same seed)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    path = Path(data) / ARTICLES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: point --data at the orangesum dataset folder")
    rows = list(_rows(path, split))
    if seed is not None:
        random.Random(seed).shuffle(rows)
    return rows if limit is None else rows[:limit]


def _rows(path: Path, split: str) -> Iterator[Example]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("split") == split and row.get("article") and row.get("abstract"):
                yield Example(row["id"], row.get("title") or "", row["abstract"], row["article"])


def ingest_examples(examples: Sequence[Example], settings=None) -> list[Article | None]:  # type: ignore[no-untyped-def]
    """Each example's body through the real ingest (``None`` where ingest rejected it), cached."""
    from pipeline.cache import memoize_batch, open_cache
    from pipeline.fingerprints import package_version
    from pipeline.ingest import ingest_document
    from pipeline.ingest.decoding import normalize_text
    from pipeline.ingest.readers import RawDocument
    from pipeline.settings import Settings
    from pipeline.stage import STAGES

    settings = settings or Settings()
    config = settings.ingest
    model = f"{config.spacy_model}@{package_version(config.spacy_model)}"
    code = STAGES["ingest"].code_version()
    params = dataclasses.asdict(config)

    def compute(inputs: list[str]) -> list[dict | None]:
        out: list[dict | None] = []
        for text in inputs:
            row = json.loads(text)
            doc = RawDocument(
                source=f"orangesum:{row['id']}",
                name=f"orangesum-{row['id']}",
                text=normalize_text(row["body"]),
                encoding="utf-8",
                title=row["title"] or None,
            )
            result = ingest_document(doc, config)
            out.append(result.to_dict() if isinstance(result, Article) else None)
        return out

    articles: list[Article | None] = []
    with open_cache(settings) as cache:
        for start in range(0, len(examples), _CHUNK):
            chunk = examples[start : start + _CHUNK]
            inputs = [
                json.dumps({"id": e.id, "title": e.title, "body": e.body}, ensure_ascii=False) for e in chunk
            ]
            rows = memoize_batch(cache, "orangesum-article", model, code, params, inputs, compute)
            articles.extend(Article.from_dict(r) if r else None for r in rows)
    return articles
