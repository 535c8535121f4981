"""What a rerun costs, as a fraction of the first run (target for an unchanged rerun: < 5 %).

All runs happen in this one invocation, in fresh processes (as a user would run
them), each series with its own fresh output cache, so the ratios are measured
under the same load:

1. first run, cold cache;
2. the same run again, nothing changed (every stage is skipped);
3. a new run directory on the same input, warm cache (every stage runs, model
   outputs come from the cache; model loading is what remains);
4. a finished run on all inputs but the last file, then that file added: only
   the new article is ingested, embedded, summarised and translated.

    python bench/rerun.py [DIR]    # default: corpus/articles
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed_run(source: Path, out: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(source), "--out", str(out), "-q"], env=env, check=True
    )
    return time.perf_counter() - started


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "corpus" / "articles")
    files = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
    with tempfile.TemporaryDirectory() as tmp:
        base = {**os.environ, "PYTHONPATH": str(REPO)}
        env = {**base, "PIPELINE_CACHE": str(Path(tmp) / "cache.sqlite")}
        first = timed_run(source, Path(tmp) / "run", env)
        second = timed_run(source, Path(tmp) / "run", env)
        third = timed_run(source, Path(tmp) / "run2", env)

        grow_env = {**base, "PIPELINE_CACHE": str(Path(tmp) / "grow.sqlite")}
        grown = Path(tmp) / "grown-input"
        grown.mkdir()
        for path in files[:-1]:
            shutil.copy(path, grown / path.name)
        before = timed_run(grown, Path(tmp) / "grow", grow_env)
        shutil.copy(files[-1], grown / files[-1].name)
        fourth = timed_run(grown, Path(tmp) / "grow", grow_env)
    print(f"first run (cold cache), {len(files)} files   {first:8.2f} s")
    print(f"second run, unchanged (skips all)  {second:8.2f} s  = {second / first:6.1%} of the first")
    print(f"new run dir, warm cache            {third:8.2f} s  = {third / first:6.1%} of the first")
    print(f"run on {len(files) - 1} files (cold cache)       {before:8.2f} s")
    print(f"  + 1 file added, rerun            {fourth:8.2f} s  = {fourth / before:6.1%} of that run")


if __name__ == "__main__":
    main()
