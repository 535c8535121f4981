"""The run directory: where every stage reads its inputs and writes its outputs.

All writes are atomic (a temporary file in the same directory, fsync, then
``os.replace``), so a crash never leaves a half-written file behind and what was
already there stays intact.

>>> import tempfile
>>> from pipeline.records import Span
>>> run = RunDir(tempfile.mkdtemp())
>>> run.write_records("spans.jsonl", [Span(0, 3), Span(4, 9)])
>>> [s.end for s in run.read_records("spans.jsonl", Span)]
[3, 9]
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pipeline.records import Record

R = TypeVar("R", bound=Record)

# File names of the run directory, in one place.
ARTICLES = "articles.jsonl"
REJECTED = "rejected.jsonl"
PASSAGES = "passages.jsonl"
CLUSTERS = "clusters.jsonl"
SUMMARIES = "summaries.jsonl"
TRANSLATIONS = "translations.jsonl"
SCORES = "scores.json"
MANIFEST = "manifest.json"
LOCK = ".lock"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"


class RunBusyError(RuntimeError):
    """Another process holds the run directory."""


class RunDir:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def file(self, name: str) -> Path:
        return self.path / name

    def exists(self, name: str) -> bool:
        return self.file(name).is_file()

    def ensure(self) -> RunDir:
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    # --- writing --------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[RunDir]:
        """Hold the run directory for one pipeline process (an advisory ``flock`` on ``RUN/.lock``).

        Two processes updating one run would interleave their manifest updates; the
        second is refused at once instead.  The kernel releases the lock when the
        holder exits, even after kill -9.
        """
        fd = os.open(self.ensure().path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunBusyError(
                    f"another pipeline process is working on {self.path}; wait for it, or use another --out"
                ) from None
            yield self
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def write_text(self, name: str, text: str) -> None:
        self.write_bytes(name, text.encode("utf-8"))

    def write_bytes(self, name: str, data: bytes) -> None:
        atomic_write_bytes(self.file(name), data)

    def write_json(self, name: str, obj: Any) -> None:
        self.write_text(name, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n")

    def write_records(self, name: str, records: Iterable[Record | dict[str, Any]]) -> None:
        lines = [
            json.dumps(r.to_dict() if isinstance(r, Record) else r, ensure_ascii=False) + "\n"
            for r in records
        ]
        self.write_text(name, "".join(lines))

    # --- reading --------------------------------------------------------

    def read_json(self, name: str) -> Any:
        return json.loads(self.file(name).read_text(encoding="utf-8"))

    def iter_dicts(self, name: str) -> Iterator[dict[str, Any]]:
        with self.file(name).open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    def read_records(self, name: str, cls: type[R]) -> list[R]:
        if not self.exists(name):
            return []
        return [cls.from_dict(d) for d in self.iter_dicts(name)]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; outputs are ordinary files
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
