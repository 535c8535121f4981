"""Scale-out: the local engine against the Ray engine with 1 and 2 workers, in one invocation.

N OrangeSum articles (``../shared/datasets/orangesum``, written as JSONL files of
``--per-file`` articles: a file is one unit of ingest work) go through ingest, dedup,
summarise and translate (score and report are corpus-wide and the same on both engines)
with each engine in a fresh process and a fresh cache, as a user would run them:

    pipeline run IN --out RUN --stages ingest,dedup,summarize,translate [--engine ray ...]

"Workers" is the number of actors (``engine.concurrency``; each runs every per-article
step on its batch, ``engine.fuse_steps``); the local Ray is started by the pipeline (all
of the machine's cores; Ray reserves CPUs but does not pin them).  Printed: wall time,
articles/s, peak memory (the proportional set size, PSS, of the whole process tree:
the driver, Ray's daemons and its workers, with shared pages split between the
processes that share them), the ratios between
configurations, and Ray's fixed overhead measured on ``--overhead-n`` articles (Ray
against local on the same few articles: starting Ray and the actors, loading their models).

    python bench/scale.py                   # 1,000 articles
    python bench/scale.py --n 40 --per-file 5
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets" / "orangesum" / "articles.jsonl.gz"
STAGES = "ingest,dedup,summarize,translate"


@dataclass
class Measure:
    label: str
    articles: int
    wall_s: float
    peak_pss_mib: float

    @property
    def rate(self) -> float:
        return self.articles / self.wall_s if self.wall_s else 0.0


def write_inputs(directory: Path, n: int, per_file: int, data: Path) -> int:
    """The first ``n`` OrangeSum articles as JSONL files of ``per_file`` lines; returns how many."""
    directory.mkdir(parents=True)
    rows = []
    with gzip.open(data, "rt", encoding="utf-8") as fh:
        for line in fh:
            if len(rows) == n:
                break
            rows.append(json.loads(line))
    for start in range(0, len(rows), per_file):
        lines = [
            json.dumps({"text": r["article"], "title": r["title"], "date": r["date"]}, ensure_ascii=False)
            for r in rows[start : start + per_file]
        ]
        (directory / f"orangesum-{start:06d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(rows)


def _tree_pss_kib(root: int) -> int:
    """PSS of ``root`` and all its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total


def timed_run(label: str, inputs: Path, out: Path, articles: int, extra: list[str]) -> Measure:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "pipeline", "run", str(inputs), "--out", str(out), "-q", "--stages", STAGES]
    cmd += ["--set", f"cache.path={out}.cache.sqlite", *extra]
    peak = 0
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read() if proc.stderr else ""))
    reader.start()
    while proc.poll() is None:
        peak = max(peak, _tree_pss_kib(proc.pid))
        time.sleep(0.25)
    wall = time.perf_counter() - started
    reader.join()
    if proc.returncode not in (0, 3):  # 3: some inputs rejected, the run went through
        raise SystemExit(f"{label} failed ({proc.returncode}):\n{''.join(errors)[-3000:]}")
    return Measure(label, articles, wall, peak / 1024)


def ray_flags(workers: int, batch_size: int) -> list[str]:
    # `workers` actors (each runs every step on its batch) share the cores Ray sees.
    cpus = os.cpu_count() or 1
    per_actor = min(1.0, cpus / workers)
    return [
        "--engine",
        "ray",
        "--set",
        f"engine.concurrency={workers}",
        "--set",
        f"engine.num_cpus={per_actor}",
        "--set",
        f"engine.batch_size={batch_size}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="articles (default 1,000)")
    parser.add_argument("--per-file", type=int, default=10, help="articles per JSONL input file")
    parser.add_argument("--overhead-n", type=int, default=5, help="articles for Ray's fixed overhead")
    parser.add_argument("--batch-size", type=int, default=16, help="engine.batch_size (files, then articles)")
    parser.add_argument("--data", type=Path, default=DATA, help="OrangeSum articles.jsonl.gz")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"no OrangeSum data at {args.data}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = Path(tmp)
        small = write_inputs(root / "small", args.overhead_n, args.per_file, args.data)
        big = write_inputs(root / "big", args.n, args.per_file, args.data)
        runs = [
            ("local", "small", small, []),
            ("ray, 1 worker", "small", small, ray_flags(1, args.batch_size)),
            ("local", "big", big, []),
            ("ray, 1 worker", "big", big, ray_flags(1, args.batch_size)),
            ("ray, 2 workers", "big", big, ray_flags(2, args.batch_size)),
        ]
        measured: dict[tuple[str, str], Measure] = {}
        for i, (label, size, count, flags) in enumerate(runs):
            print(f"running {label} on {count} articles …", file=sys.stderr, flush=True)
            measured[(label, size)] = timed_run(label, root / size, root / f"run-{i}", count, flags)

    print(f"\n{os.cpu_count()} cores; stages {STAGES}; each run a fresh process and a fresh cache\n")
    print(f"{'engine':<16} {'articles':>8} {'wall s':>9} {'articles/s':>11} {'peak PSS MiB':>13}")
    for (_, _), m in measured.items():
        print(f"{m.label:<16} {m.articles:>8} {m.wall_s:>9.1f} {m.rate:>11.2f} {m.peak_pss_mib:>13.0f}")
    local, one, two = (measured[(k, "big")] for k in ("local", "ray, 1 worker", "ray, 2 workers"))
    small_local, small_ray = measured[("local", "small")], measured[("ray, 1 worker", "small")]
    print()
    print(f"2 workers vs 1 worker, {two.articles} articles: {one.wall_s / two.wall_s:.2f}x faster")
    print(f"ray 1 worker vs local:              {local.wall_s / one.wall_s:.2f}x the local speed")
    print(f"ray 2 workers vs local:             {local.wall_s / two.wall_s:.2f}x the local speed")
    print(f"peak memory, ray 2 workers / local: {two.peak_pss_mib / max(local.peak_pss_mib, 1):.2f}x")
    overhead = small_ray.wall_s - small_local.wall_s
    print(
        f"Ray's fixed overhead at {small_ray.articles} articles: +{overhead:.1f} s "
        f"({small_ray.wall_s:.1f} s against {small_local.wall_s:.1f} s local, "
        f"{small_ray.wall_s / small_local.wall_s:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
