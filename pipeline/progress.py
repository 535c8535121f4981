"""Progress bars for the loops that can take more than a few seconds, in one place.

Stages wrap their main loop in :func:`progress`; whether bars are drawn is decided
here: never under ``-q``, and by default only when stderr is a terminal (a log
file or a pipe gets no carriage-return noise).  Library users switch them with
:func:`configure` or ``PIPELINE_PROGRESS=0/1``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

_enabled: bool | None = None  # None: decide from PIPELINE_PROGRESS, then from stderr being a terminal


def configure(enabled: bool | None) -> None:
    """Force bars on (True) or off (False); None restores the default."""
    global _enabled
    _enabled = enabled


def enabled() -> bool:
    if _enabled is not None:
        return _enabled
    env = os.environ.get("PIPELINE_PROGRESS", "").strip().lower()
    if env in {"0", "false", "no", "off"}:
        return False
    if env in {"1", "true", "yes", "on"}:
        return True
    return sys.stderr.isatty()


def progress(items: Iterable[T], desc: str, total: int | None = None, unit: str = "item") -> Iterator[T]:
    """``items``, with a bar on stderr while they are consumed (cleared when done).

    >>> configure(False); list(progress([1, 2], "demo")); configure(None)
    [1, 2]
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    bar = tqdm(items, desc=f"{desc:>9}", total=total, unit=unit, disable=not enabled(), leave=False)
    yield from bar
