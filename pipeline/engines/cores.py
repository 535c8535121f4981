"""Binding a Ray actor to the cores it reserved (``engine.pin_cpus``).

Ray reserves CPUs per actor but does not bind them.  An actor's threads follow the
``OMP_NUM_THREADS`` Ray sets from its reservation, but the processes it starts do not:
Apertium's pipelines (about twenty processes per call, streaming side by side) run on
every core, so one actor with ``num_cpus = 1`` translates on two cores of a two-core node,
and a second actor adds less than a core.  Bound to its own cores (as Slurm's and MPI's
CPU binding do), an actor and everything it starts use what it reserved.

Cores are handed out on each node through lock files in its temporary directory: an actor
takes the first free slot of ``max(1, floor(num_cpus))`` cores and holds the slot's lock
while it lives; the kernel drops the lock when the process ends, however it ends.  When
every slot is taken (more actors than slots), the actor stays unbound.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path
from typing import IO

__all__ = ["pin_to_free_cores"]

_pinned: list[int] | None = None  # this process's cores, once bound
_locks: list[IO[str]] = []  # the slot's lock file, open (held) for the process's life


def pin_to_free_cores(num_cpus: float, directory: Path | None = None) -> list[int] | None:
    """Bind this process (its threads, and what it starts later) to a free slot of cores; the
    cores, or None when no slot is free or the platform cannot bind.  Idempotent per process."""
    global _pinned
    if _pinned is not None or not hasattr(os, "sched_setaffinity"):
        return _pinned
    cores = sorted(os.sched_getaffinity(0))
    width = max(1, int(num_cpus))
    slots = len(cores) // width
    directory = directory or Path(tempfile.gettempdir()) / "pipeline-ray-cores"
    directory.mkdir(parents=True, exist_ok=True)
    for slot in range(slots):
        lock = (directory / f"{slots}x{width}-slot{slot}.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another live actor holds it
            lock.close()
            continue
        _locks.append(lock)
        _pinned = cores[slot * width : (slot + 1) * width]
        # sched_setaffinity binds one thread: bind every thread the process has now; threads and
        # processes started later inherit the binding of the thread that starts them.
        for task in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else ["0"]:
            with contextlib.suppress(OSError):  # the thread has ended
                os.sched_setaffinity(int(task), _pinned)
        return _pinned
    return None
