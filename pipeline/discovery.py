"""Which files are inputs: directories expanded, unreadable paths rejected with a reason.

Kept apart from the readers (and their parsing libraries) because the runner
also needs it, to hash a run's input files when deciding whether ingest must run
again, and that must stay fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.records import Rejection

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".jsonl")


def _reject(source: object, reason: str, detail: str) -> Rejection:
    return Rejection(source=str(source), stage="ingest", reason=reason, detail=detail)


def discover(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path | Rejection]:
    """Expand files and directories (recursively, following links once) into input files."""
    seen_dirs: set[tuple[int, int]] = set()
    for raw in paths:
        path = Path(raw)
        try:
            st = path.stat()
        except OSError as exc:
            yield stat_rejection(path, exc)
            continue
        if path.is_dir():
            yield from _walk(path, seen_dirs)
        elif st.st_size >= 0:
            yield path


def stat_rejection(path: Path, exc: OSError) -> Rejection:
    if exc.errno == 40:  # ELOOP
        return _reject(path, "symlink-loop", f"symbolic link loop: {exc.strerror}")
    if not path.exists() and not path.is_symlink():
        return _reject(path, "not-found", "no such file or directory")
    return _reject(path, "unreadable", f"cannot access: {exc.strerror or exc}")


def _walk(root: Path, seen_dirs: set[tuple[int, int]]) -> Iterator[Path | Rejection]:
    st = root.stat()
    key = (st.st_dev, st.st_ino)
    if key in seen_dirs:
        yield _reject(root, "symlink-loop", "directory already visited (a symbolic link loops back)")
        return
    seen_dirs.add(key)
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        yield _reject(root, "unreadable", f"cannot list directory: {exc.strerror or exc}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            entry.stat()
        except OSError as exc:
            yield stat_rejection(entry, exc)
            continue
        if entry.is_dir():
            yield from _walk(entry, seen_dirs)
        elif entry.suffix.lower() in SUPPORTED_SUFFIXES:
            yield entry
        elif entry.name.lower() not in {"readme.md", "readme", "license"}:
            yield _reject(entry, "unsupported-format", f"not one of {', '.join(SUPPORTED_SUFFIXES)}")
