"""engine.pin_cpus: each actor bound to its own cores, with the processes it starts (Linux)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")

# An "actor": binds itself, starts a child (as Apertium's pipelines are started), reports both
# bindings, and holds its slot until its stdin closes.
ACTOR = """
import os, subprocess, sys
from pathlib import Path
from pipeline.engines.cores import pin_to_free_cores
mine = pin_to_free_cores(1.0, Path(sys.argv[1]))
child = subprocess.run(
    [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
    capture_output=True, text=True, check=True,
).stdout.strip()
print(mine, child, flush=True)
sys.stdin.read()
"""


def _start(locks: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", ACTOR, str(locks)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_actors_take_distinct_cores_and_what_they_start_stays_on_them(tmp_path):
    cores = sorted(os.sched_getaffinity(0))
    actors = [_start(tmp_path) for _ in range(len(cores) + 1)]
    try:
        reports = [line for _, line in actors]
        # One core each, in order, the child on its parent's core; one actor more than cores: unbound.
        assert reports[:-1] == [f"[{core}] [{core}]" for core in cores]
        assert reports[-1] == f"None {cores}"
    finally:
        for proc, _ in actors:
            proc.communicate("")
    # The slots are free again once their actors have ended, however they ended.
    proc, line = _start(tmp_path)
    proc.communicate("")
    assert line == f"[{cores[0]}] [{cores[0]}]"
