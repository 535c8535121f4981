"""Crash-safe streamed output: a run file written record by record, visible only when complete.

A stage that produces many records (ingest: one per input document) writes them
as it goes, without holding them in memory, to a temporary file next to
``RUN/<name>``; on success the file is fsynced and renamed into place, so
readers see the old file or the whole new one, never a part.  What makes a
killed stage resumable is not this file but the output cache
(:mod:`pipeline.cache`), where the stage commits its model outputs in chunks:
the next run takes the committed ones from the cache and streams the file again.

A kill leaves at most a ``.<name>.*.tmp`` file, removed when the next writer of
``<name>`` opens (the run directory's lock makes that writer the only one).

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
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from pipeline.records import Record
from pipeline.rundir import RunDir


class RecordStream:
    """Write ``RUN/<name>`` one JSONL record at a time; it appears, whole, when the ``with`` block ends.

    If the block raises, the temporary file is deleted and ``RUN/<name>`` keeps its
    previous content.
    """

    def __init__(self, run: RunDir, name: str):
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"output name must be a plain file name, got {name!r}")
        self.path = run.file(name)
        self.count = 0
        self._tmp: Path | None = None
        self._fh: IO[str] | None = None

    def __enter__(self) -> RecordStream:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for debris in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            debris.unlink(missing_ok=True)  # left by a killed writer
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        self._tmp = Path(tmp)
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; outputs are ordinary files
        self._fh = os.fdopen(fd, "w", encoding="utf-8")
        return self

    def write(self, record: Record | dict[str, Any]) -> None:
        if self._fh is None:
            raise RuntimeError(f"the writer of {self.path.name} is not open")
        data = record.to_dict() if isinstance(record, Record) else record
        self._fh.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.count += 1

    def __exit__(self, exc_type: object, *exc: object) -> None:
        fh, tmp = self._fh, self._tmp
        self._fh = self._tmp = None
        if fh is None or tmp is None:
            return
        try:
            if exc_type is None:
                fh.flush()
                os.fsync(fh.fileno())
            fh.close()
            if exc_type is None:
                os.replace(tmp, self.path)
                _sync_dir(self.path.parent)
        finally:
            tmp.unlink(missing_ok=True)  # after a failure, or nothing (it was renamed)


def _sync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
