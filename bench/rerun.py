"""Time of a second, unchanged `pipeline run` as a fraction of the first (target < 5 %).

Both runs happen in this one invocation, in fresh processes (as a user would run
them), with a fresh output cache, so the ratio is measured under the same load.

    python bench/rerun.py [PATH ...]    # default: corpus/articles
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed_run(paths: list[str], out: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipeline", "run", *paths, "--out", str(out), "-q"], env=env, check=True
    )
    return time.perf_counter() - started


def main() -> None:
    paths = sys.argv[1:] or [str(REPO / "corpus" / "articles")]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PIPELINE_CACHE": str(Path(tmp) / "cache.sqlite"), "PYTHONPATH": str(REPO)}
        out = Path(tmp) / "run"
        first = timed_run(paths, out, env)
        second = timed_run(paths, out, env)
        (out / "manifest.json").touch()
        fresh_dir = Path(tmp) / "run2"  # a new run directory, warm cache: every stage runs, models cached
        third = timed_run(paths, fresh_dir, env)
    print(f"first run (cold cache)            {first:8.2f} s")
    print(f"second run, unchanged (skips all) {second:8.2f} s  = {second / first:6.1%} of the first")
    print(f"new run dir, warm cache           {third:8.2f} s  = {third / first:6.1%} of the first")


if __name__ == "__main__":
    main()
