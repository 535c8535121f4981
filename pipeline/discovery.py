"""Which files are inputs: directories expanded, unreadable paths rejected with a reason.

Kept apart from the readers (and their parsing libraries) because the runner
also needs it, to hash a run's input files when deciding whether ingest must run
again, and that must stay fast.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.records import Rejection
from pipeline.rundir import is_run_dir

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".jsonl")


def _reject(source: object, reason: str, detail: str) -> Rejection:
    return Rejection(source=str(source), stage="ingest", reason=reason, detail=detail)


def discover(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path | Rejection]:
    """Expand files and directories (recursively, following links) into input files, each once.

    A file reached twice (given by two spellings, or given and also inside a given
    directory, or through a link) is yielded once, under the first path that
    reached it.  Run directories (:func:`pipeline.rundir.is_run_dir`) are skipped:
    a run kept inside its input directory must not ingest its own outputs.  Only a
    link back to a directory being walked is a loop.
    """
    seen: set[tuple[int, int]] = set()  # (device, inode) of every file and directory yielded or walked
    for raw in paths:
        path = Path(raw)
        try:
            st = path.stat()
        except OSError as exc:
            yield stat_rejection(path, exc)
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(path, seen, ())
        elif _first_time(st, seen):
            yield path


def _first_time(st: os.stat_result, seen: set[tuple[int, int]]) -> bool:
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return False
    seen.add(key)
    return True


def stat_rejection(path: Path, exc: OSError) -> Rejection:
    if exc.errno == 40:  # ELOOP
        return _reject(path, "symlink-loop", f"symbolic link loop: {exc.strerror}")
    if not path.exists() and not path.is_symlink():
        return _reject(path, "not-found", "no such file or directory")
    return _reject(path, "unreadable", f"cannot access: {exc.strerror or exc}")


def _walk(
    root: Path, seen: set[tuple[int, int]], ancestors: tuple[tuple[int, int], ...]
) -> Iterator[Path | Rejection]:
    st = root.stat()
    key = (st.st_dev, st.st_ino)
    if key in ancestors:
        yield _reject(root, "symlink-loop", "a symbolic link loops back to a directory that contains it")
        return
    if not _first_time(st, seen):
        return  # already walked: given twice, or reached again through a link
    if is_run_dir(root):  # a run's own outputs are never inputs
        if not ancestors:
            yield _reject(root, "run-directory", "a run directory of this pipeline: its files are outputs")
        return
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        yield _reject(root, "unreadable", f"cannot list directory: {exc.strerror or exc}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            entry_st = entry.stat()
        except OSError as exc:
            yield stat_rejection(entry, exc)
            continue
        if stat.S_ISDIR(entry_st.st_mode):
            yield from _walk(entry, seen, (*ancestors, key))
        elif entry.suffix.lower() in SUPPORTED_SUFFIXES:
            if _first_time(entry_st, seen):
                yield entry
        elif entry.name.lower() not in {"readme.md", "readme", "license"}:
            yield _reject(entry, "unsupported-format", f"not one of {', '.join(SUPPORTED_SUFFIXES)}")
