"""Crash-safe, resumable output for a stage that produces records one input at a time.

A long stage (summarising or translating thousands of articles) commits its
results in small batches as it goes.  If it is killed, even by SIGKILL at any
instant, the next run sees exactly the inputs that were committed, computes the
others, and writes a final file equal to the one an uninterrupted run writes.

Layout, for a stage writing ``RUN/<name>``::

    RUN/.parts/<name>/meta.json          fingerprint of what the parts were computed from
    RUN/.parts/<name>/part-000001.jsonl  one committed batch: {"key": ..., "records": [...]} a line
    RUN/.parts/<name>.lock               held (flock) by the one writer of <name>
    RUN/.parts/.tmp/<name>/...           directories being created or deleted

Invariants (what makes a kill at any instant harmless):

1. A ``part-N.jsonl`` file is complete: it is written to a temporary file,
   fsynced, then renamed into place; a kill leaves at most a ``*.tmp`` file,
   which is ignored and removed on the next open.
2. The unit of commit is an input: all records of one input key are in the same
   part, and a key is in at most one part (:meth:`BatchWriter.add` refuses a key
   that is already done).  So a committed input is never lost, a half-done one
   is simply recomputed, and none is duplicated.
3. The parts directory appears whole (made under ``.tmp`` with its
   ``meta.json``, then renamed) and is only ever removed by first renaming it
   back under ``.tmp``: a kill never leaves a half-deleted set of parts.
4. ``RUN/<name>`` is written atomically from the committed parts only, in a
   deterministic order, before the parts are removed.  A kill between the two
   steps leaves every key committed, so the next run rewrites the same file.
5. Parts carry a fingerprint (e.g. the hash of the stage's inputs and config);
   opening with a different fingerprint discards them rather than mixing
   outputs computed under different settings.
6. One writer per ``(run, name)`` at a time, enforced with an advisory lock
   that the kernel releases when the process dies.

>>> import tempfile
>>> from pipeline.rundir import RunDir
>>> run = RunDir(tempfile.mkdtemp())
>>> with BatchWriter(run, "lengths.jsonl", batch_size=2) as out:
...     out.add("a", [{"n": 1}])
...     out.add("b", [])                      # an input with no output is done too
...     out.add("c", [{"n": 3}, {"n": 33}])
...     # ... killed here, a new process opens the same writer ...
>>> with BatchWriter(run, "lengths.jsonl") as out:
...     sorted(out.done_keys())
...     out.add("d", [{"n": 4}])
...     out.finalize()
['a', 'b', 'c']
4
>>> run.file("lengths.jsonl").read_text()
'{"n": 1}\\n{"n": 3}\\n{"n": 33}\\n{"n": 4}\\n'
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from pipeline.records import Record
from pipeline.rundir import RunDir, atomic_write_bytes

PARTS_DIR = ".parts"
_PART = re.compile(r"part-(\d+)\.jsonl")


class CheckpointError(RuntimeError):
    """The checkpoint cannot be used: another writer holds it, or its files were altered."""


class BatchWriter:
    """Commit a stage's records input by input, resume after a crash, then write ``RUN/<name>``.

    ``key`` (optional) maps a record to its input key, for :meth:`write` in stages
    that produce exactly one record per input.  A batch is committed every
    ``batch_size`` inputs, or as soon as an input is added more than
    ``commit_interval_s`` after the oldest uncommitted one.  ``durable=False``
    skips the fsyncs: still safe against a killed process, not against power loss.
    """

    def __init__(
        self,
        run: RunDir,
        name: str,
        *,
        key: Callable[[Any], str] | None = None,
        batch_size: int = 16,
        commit_interval_s: float | None = 5.0,
        fingerprint: str = "",
        durable: bool = True,
    ):
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"output name must be a plain file name, got {name!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.run, self.name, self.key = run, name, key
        self.batch_size, self.commit_interval_s = batch_size, commit_interval_s
        self.fingerprint, self.durable = fingerprint, durable
        root = run.path / PARTS_DIR
        self.dir = root / name
        self._tmp_root = root / ".tmp" / name
        self._committed: dict[str, list[dict[str, Any]]] = {}  # key -> records, in commit order
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._pending_since = 0.0
        self._next_part = 1
        root.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = os.open(root / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise CheckpointError(f"another process is writing {name} in {run.path}") from None
        try:
            self._open_parts()
        except BaseException:
            self._release()
            raise

    # --- opening ---

    def _open_parts(self) -> None:
        shutil.rmtree(self._tmp_root, ignore_errors=True)  # debris of a killed create/delete
        if self.dir.is_dir() and self._stored_fingerprint() != self.fingerprint:
            self._remove_parts()
        if not self.dir.is_dir():
            self._create_parts_dir()
            return
        numbered = []
        for path in self.dir.iterdir():
            match = _PART.fullmatch(path.name)
            if match:
                numbered.append((int(match.group(1)), path))
            elif path.name.endswith(".tmp"):
                path.unlink()  # a batch that was being written when the process died
        for number, path in sorted(numbered):
            for key, records in _read_part(path):
                if key in self._committed:
                    raise CheckpointError(
                        f"{path}: input {key!r} is committed twice; the parts were altered. "
                        f"Delete {self.dir} to recompute {self.name}."
                    )
                self._committed[key] = records
            self._next_part = number + 1

    def _stored_fingerprint(self) -> str | None:
        try:
            return json.loads((self.dir / "meta.json").read_text(encoding="utf-8"))["fingerprint"]
        except (OSError, ValueError, KeyError):
            return None

    def _create_parts_dir(self) -> None:
        self._tmp_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="new-", dir=self._tmp_root))
        meta = {"name": self.name, "fingerprint": self.fingerprint}
        atomic_write_bytes(staging / "meta.json", json.dumps(meta).encode("utf-8"))
        os.replace(staging, self.dir)
        self._sync_dir(self.dir.parent)

    def _remove_parts(self) -> None:
        """Move the parts out of sight in one rename, then delete them."""
        self._tmp_root.mkdir(parents=True, exist_ok=True)
        graveyard = Path(tempfile.mkdtemp(prefix="old-", dir=self._tmp_root))
        os.replace(self.dir, graveyard / "parts")
        self._sync_dir(self.dir.parent)
        shutil.rmtree(self._tmp_root, ignore_errors=True)

    # --- the API ---

    def done_keys(self) -> frozenset[str]:
        """Inputs whose records are committed (or added in this process, pending commit)."""
        return frozenset(self._committed.keys() | self._pending.keys())

    def committed(self) -> dict[str, list[dict[str, Any]]]:
        """The records of every done input, as dicts, in commit order."""
        return {**self._committed, **self._pending}

    def add(self, key: str, records: Iterable[Record | dict[str, Any]] = ()) -> None:
        """Record all outputs of input ``key`` (possibly none); commits when a batch is full."""
        self._check_open()
        if not isinstance(key, str):
            raise TypeError(f"input keys are strings, got {key!r}")
        if key in self._committed or key in self._pending:
            raise ValueError(f"input {key!r} of {self.name} is already done")
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending[key] = [r.to_dict() if isinstance(r, Record) else dict(r) for r in records]
        overdue = (
            self.commit_interval_s is not None
            and time.monotonic() - self._pending_since >= self.commit_interval_s
        )
        if len(self._pending) >= self.batch_size or overdue:
            self.commit()

    def write(self, record: Record | dict[str, Any]) -> None:
        """Add the one record of an input, keyed by ``key(record)``."""
        if self.key is None:
            raise TypeError("BatchWriter.write needs the writer's key= function; use add(key, records)")
        self.add(self.key(record), [record])

    def commit(self) -> None:
        """Make the pending inputs durable as one new part file."""
        self._check_open()
        if not self._pending:
            return
        lines = [
            json.dumps({"key": key, "records": records}, ensure_ascii=False) + "\n"
            for key, records in self._pending.items()
        ]
        part = self.dir / f"part-{self._next_part:06d}.jsonl"
        if self.durable:
            atomic_write_bytes(part, "".join(lines).encode("utf-8"))
            self._sync_dir(self.dir)
        else:
            tmp = part.with_name(f".{part.name}.tmp")
            tmp.write_text("".join(lines), encoding="utf-8")
            os.replace(tmp, part)
        self._next_part += 1
        self._committed.update(self._pending)
        self._pending = {}

    def finalize(self, order: Sequence[str] | None = None) -> int:
        """Write ``RUN/<name>`` atomically, remove the parts, close; returns the records written.

        Records are grouped by input, inputs in ``order`` if given (every key in it
        must be done; done keys not in it are stale and dropped), otherwise in
        commit order, which is input order for a stage that walks its inputs in order.
        """
        self.commit()
        done = self._committed
        if order is None:
            keys: Sequence[str] = list(done)
        else:
            if len(set(order)) != len(order):
                raise ValueError(f"finalize order for {self.name} repeats keys")
            missing = [k for k in order if k not in done]
            if missing:
                raise CheckpointError(
                    f"{self.name}: {len(missing)} inputs were never added (first: {missing[0]!r})"
                )
            keys = order
        records = [record for key in keys for record in done[key]]
        self.run.write_records(self.name, records)
        self._sync_dir(self.run.path)
        self._remove_parts()
        self.close()
        return len(records)

    def close(self) -> None:
        """Commit what is pending (those inputs are finished) and release the lock."""
        if self._lock_fd is None:
            return
        try:
            self.commit()
        finally:
            self._release()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ---

    def _check_open(self) -> None:
        if self._lock_fd is None:
            raise CheckpointError(f"the writer of {self.name} is closed")

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def _sync_dir(self, path: Path) -> None:
        """Make a rename in ``path`` durable (a no-op when ``durable=False``)."""
        if not self.durable:
            return
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _read_part(path: Path) -> list[tuple[str, list[dict[str, Any]]]]:
    entries = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            try:
                entry = json.loads(line)
                entries.append((entry["key"], entry["records"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise CheckpointError(
                    f"{path}:{number}: not a committed batch ({exc}); the file was altered. "
                    f"Delete {path.parent} to recompute."
                ) from exc
    return entries
