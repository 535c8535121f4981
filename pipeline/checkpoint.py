"""Crash-safe streamed output: a run file written record by record, visible only when complete.

A stage that produces many records (ingest: one per input document) writes them
as it goes, without holding them in memory; the file appears whole when the
stream closes (:func:`pipeline.rundir.atomic_file`).  What makes a killed stage
resumable is the output cache (:mod:`pipeline.cache`), where it commits its
outputs in chunks.  A kill leaves at most a ``.<name>.*.tmp`` file, removed when
the next writer of ``<name>`` opens (the run directory's lock makes it the only one).

>>> import tempfile
>>> from pipeline.rundir import RunDir
>>> run = RunDir(tempfile.mkdtemp())
>>> with RecordStream(run, "lengths.jsonl") as out:
...     out.write({"n": 1})
...     out.write({"n": 22})
>>> run.file("lengths.jsonl").read_text()
'{"n": 1}\\n{"n": 22}\\n'
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any

from pipeline.records import Record
from pipeline.rundir import RunDir, atomic_file


class RecordStream(ExitStack):
    """Write ``RUN/<name>`` one JSONL record at a time; if the ``with`` block raises, it keeps its content."""

    def __init__(self, run: RunDir, name: str):
        super().__init__()
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"output name must be a plain file name, got {name!r}")
        self.path = run.file(name)
        self.count = 0

    def __enter__(self) -> RecordStream:
        super().__enter__()
        for debris in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            debris.unlink(missing_ok=True)  # left by a killed writer
        self._fh = self.enter_context(atomic_file(self.path, "w", durable=True))
        return self

    def write(self, record: Record | dict[str, Any]) -> None:
        data = record.to_dict() if isinstance(record, Record) else record
        self._fh.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.count += 1
