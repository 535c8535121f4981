"""The run directory: where every stage reads its inputs and writes its outputs.

All writes are atomic (a temporary file in the same directory, fsync, then
``os.replace``), so a crash never leaves a half-written file behind and what was
already there stays intact.

What marks a run directory (:func:`is_run_dir`): the pipeline's ``RUN/.lock``
(written when a run first takes the directory) or its ``RUN/manifest.json``.
:func:`check_out_dir` is the one place that decides whether a directory may
receive a run's files; input discovery skips run directories.

>>> import tempfile
>>> from pipeline.records import Span
>>> run = RunDir(tempfile.mkdtemp())
>>> run.write_records("spans.jsonl", [Span(0, 3), Span(4, 9)])
>>> [s.end for s in run.read_records("spans.jsonl", Span)]
[3, 9]
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

from filelock import FileLock, Timeout

from pipeline.errors import UsageError
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
RUN_FILES = frozenset(
    {
        ARTICLES,
        REJECTED,
        PASSAGES,
        CLUSTERS,
        SUMMARIES,
        TRANSLATIONS,
        SCORES,
        MANIFEST,
        LOCK,
        REPORT_MD,
        REPORT_HTML,
    }
)
# The content of RUN/.lock: tells the pipeline's lock from any other tool's ".lock".
LOCK_MARK = b"french-news-pipeline run directory\n"


class RunBusyError(RuntimeError):
    """Another process holds the run directory."""


class UnsafeOutError(UsageError):
    """The directory given as a run directory holds files that are not the pipeline's (usage error)."""


class RunFileError(ValueError):
    """A run file is torn, truncated or otherwise not what the stage that wrote it left."""


def is_run_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a directory the pipeline made: its marked lock file or its manifest is there."""
    root = Path(path)
    try:
        with (root / LOCK).open("rb") as fh:
            if fh.read(len(LOCK_MARK)) == LOCK_MARK:
                return True
    except OSError:
        pass
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and isinstance(manifest.get("stages"), dict)


def check_out_dir(out: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Refuse (:class:`UnsafeOutError`) a directory a run must not write into; nothing is touched.

    Accepted: a path that does not exist yet, an empty directory, a run directory
    (:func:`is_run_dir`), or a directory holding nothing but run files (what the
    stages' library API writes).  Refused: the file system root, the home
    directory, an input path or a directory that holds one, and any other
    non-empty directory, whose files a run would overwrite.
    """
    target = Path(out).expanduser().resolve()
    if target == Path(target.anchor) or target == Path.home().resolve():
        raise UnsafeOutError(
            f"refusing to write a run into {target}: give a directory of its own, e.g. runs/NAME"
        )
    for given in inputs:
        source = Path(given).expanduser().resolve()
        if target == source or target in source.parents:
            raise UnsafeOutError(
                f"the run directory {out} holds the input {given}: its outputs would be mixed with the "
                "inputs; give a run directory outside them"
            )
    if not target.exists():
        return target
    if not target.is_dir():
        raise UnsafeOutError(f"{out} exists and is not a directory")
    if is_run_dir(target):
        return target
    others = sorted(entry.name for entry in target.iterdir() if not _is_run_file(entry.name))
    if others:
        shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
        raise UnsafeOutError(
            f"{out} is not a run directory (no {MANIFEST}) and holds other files ({shown}); a run would "
            "overwrite files there: give a new or empty directory"
        )
    return target


def _is_run_file(name: str) -> bool:
    # Besides the run files, the temporary files of an interrupted atomic write.
    return name in RUN_FILES or (name.startswith(".") and name.endswith(".tmp"))


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
        """Hold the run directory for one pipeline process (a ``filelock`` on ``RUN/.lock``).

        Two processes updating one run would interleave their manifest updates; the
        second is refused at once instead.  The kernel releases the lock when the
        holder exits, even after kill -9.  The lock file also marks the directory as
        a run directory (:func:`is_run_dir`).
        """
        lock = FileLock(self.ensure().path / LOCK, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise RunBusyError(
                f"another pipeline process is working on {self.path}; wait for it, or use another --out"
            ) from None
        try:
            if (self.path / LOCK).read_bytes()[: len(LOCK_MARK)] != LOCK_MARK:
                (self.path / LOCK).write_bytes(LOCK_MARK)
            yield self
        finally:
            lock.release()

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
        """The records of a JSONL run file; a torn line is a :class:`RunFileError` naming the file."""
        with self.file(name).open("rb") as fh:  # bytes: a torn UTF-8 character is caught below too
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise RunFileError(
                        f"{self.file(name)}: line {number} is not a complete JSON record ({exc}); the file "
                        "is torn or damaged: run the stage that writes it again"
                    ) from None
                if not isinstance(record, dict):
                    raise RunFileError(f"{self.file(name)}: line {number} is not a JSON object")
                yield record

    def read_records(self, name: str, cls: type[R]) -> list[R]:
        if not self.exists(name):
            return []
        return [cls.from_dict(d) for d in self.iter_dicts(name)]


@contextmanager
def atomic_file(path: Path, mode: str = "wb", durable: bool = False) -> Iterator[IO[Any]]:
    """A temporary file that replaces ``path`` when the block ends, so readers see the old or the
    new file, never a mix; if the block raises, ``path`` is untouched.  ``durable``: the rename too
    is made to survive a crash (the directory is fsynced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; outputs are ordinary files
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a mix."""
    with atomic_file(path) as fh:
        fh.write(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
