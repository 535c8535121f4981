"""The run's tables in the ecosystem's formats: Parquet files and a ``datasets.DatasetDict``.

Each table gets an explicit Arrow schema derived from its record type
(``pipeline.records``), so an empty table, or a column that is null in every row
(``url``, ``outlet``), still loads with its real type; JSON inference would make
those ``null`` columns, and ``datasets`` fails on an empty JSONL file.  Free-form
dicts (a provenance's ``params``, which differ per backend) are stored as JSON text.

>>> str(arrow_type(Rejection))
'struct<source: string, stage: string, reason: string, detail: string>'
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import UsageError
from pipeline.preflight import check_run_dir
from pipeline.records import Article, Cluster, Passage, Record, Rejection, Summary, Translation
from pipeline.rundir import (
    ARTICLES,
    CLUSTERS,
    PASSAGES,
    REJECTED,
    SUMMARIES,
    TRANSLATIONS,
    RunDir,
    atomic_write_bytes,
)

# table name -> (run file, record type), in stage order.
TABLES: Mapping[str, tuple[str, type[Record]]] = {
    "articles": (ARTICLES, Article),
    "rejected": (REJECTED, Rejection),
    "passages": (PASSAGES, Passage),
    "clusters": (CLUSTERS, Cluster),
    "summaries": (SUMMARIES, Summary),
    "translations": (TRANSLATIONS, Translation),
}
FORMATS = ("parquet",)

_SCALARS = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def arrow_type(hint: Any) -> pa.DataType:
    """The Arrow type of a record field's type hint (records become structs)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return arrow_type(inner)
    if origin is Literal:
        return pa.string()
    if origin in (list, tuple):
        return pa.list_(arrow_type(typing.get_args(hint)[0]))
    if origin is dict or hint is Any:
        return pa.string()  # JSON text
    if isinstance(hint, type) and issubclass(hint, Record):
        hints = typing.get_type_hints(hint)
        return pa.struct([pa.field(f.name, arrow_type(hints[f.name])) for f in dataclasses.fields(hint)])  # type: ignore[arg-type]
    if hint in _SCALARS:
        return _SCALARS[hint]
    raise TypeError(f"no Arrow type for {hint!r}")


def schema(cls: type[Record]) -> pa.Schema:
    return pa.schema(list(arrow_type(cls)))  # type: ignore[arg-type]


def _arrow_value(kind: pa.DataType, value: Any) -> Any:
    """A JSON value shaped for ``kind``: dicts under string columns become JSON text."""
    if value is None:
        return None
    if pa.types.is_struct(kind):
        return {f.name: _arrow_value(f.type, value.get(f.name)) for f in kind}
    if pa.types.is_list(kind):
        return [_arrow_value(kind.value_type, v) for v in value]
    if pa.types.is_string(kind) and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def table(run: RunDir, name: str) -> pa.Table:
    """One table of ``run`` as Arrow, with its explicit schema (empty when the file is empty)."""
    filename, cls = TABLES[name]
    target = schema(cls)
    rows = [_arrow_value(arrow_type(cls), cls.from_dict(d).to_dict()) for d in run.iter_dicts(filename)]
    return pa.Table.from_pylist(rows, schema=target)


def present_tables(run: RunDir) -> list[str]:
    """The tables whose file the run holds (a stage that has not run has no table)."""
    return [name for name, (filename, _) in TABLES.items() if run.exists(filename)]


def export_run(
    run_path: str | os.PathLike[str], to: str | os.PathLike[str], fmt: str = "parquet"
) -> list[Path]:
    """Write ``<table>.parquet`` under ``to`` for every table of the run; returns the files."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; formats: {', '.join(FORMATS)}")
    check_run_dir(Path(run_path), "report")
    run, out = RunDir(run_path), Path(to)
    written = []
    for name in present_tables(run):
        buffer = io.BytesIO()
        pq.write_table(table(run, name), buffer)
        atomic_write_bytes(out / f"{name}.parquet", buffer.getvalue())
        written.append(out / f"{name}.parquet")
    return written


def load_run(run_path: str | os.PathLike[str]) -> Any:
    """The run's tables as a ``datasets.DatasetDict`` (one split per table the run holds).

    Empty tables are empty splits with their real features.  (``datasets.load_dataset``
    refuses an empty split, whatever the format: load an exported empty table with
    :func:`load_parquet` or ``datasets.Dataset(pyarrow.parquet.read_table(FILE))``.)

    >>> load_run("runs/seed")["articles"].features["url"]  # doctest: +SKIP
    Value('string')
    """
    check_run_dir(Path(run_path), "report")
    run = RunDir(run_path)
    return _dataset_dict({name: table(run, name) for name in present_tables(run)})


def load_parquet(directory: str | os.PathLike[str]) -> Any:
    """The ``<table>.parquet`` files written by :func:`export_run`, as a ``datasets.DatasetDict``."""
    folder = Path(directory)
    found = {name: folder / f"{name}.parquet" for name in TABLES if (folder / f"{name}.parquet").is_file()}
    if not found:
        raise UsageError(f"no <table>.parquet files in {folder} (write them with `pipeline export`)")
    return _dataset_dict({name: pq.read_table(path) for name, path in found.items()})


def _dataset_dict(tables: Mapping[str, pa.Table]) -> Any:
    import datasets  # heavy: imported only when asked for
    from datasets.table import InMemoryTable

    return datasets.DatasetDict({name: datasets.Dataset(InMemoryTable(t)) for name, t in tables.items()})
