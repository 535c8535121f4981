"""Scale-out: the local engine against the Ray engine with 1 and 2 workers, in one invocation.

N OrangeSum articles (``../shared/datasets/orangesum``, written as JSONL files of
``--per-file`` articles: a file is one unit of ingest work) go through ingest, dedup,
summarise and translate (score and report are corpus-wide and the same on both engines)
with each engine in a fresh process and a fresh cache, as a user would run them:

    pipeline run IN --out RUN --stages ingest,dedup,summarize,translate [--engine ray ...]

"Workers" is the number of actors (``engine.concurrency``; each runs every per-article
step on its batch, ``engine.fuse_steps``); the local Ray is started by the pipeline (all
of the machine's cores; Ray reserves CPUs but does not pin them, unless ``--pin`` sets
``engine.pin_cpus``).  Printed: wall time, articles/s, peak memory (the proportional set
size, PSS, of the whole process tree: the driver, Ray's daemons and its workers, with
shared pages split between the processes that share them), the phases of a Ray run (the
per-article phase on Ray, from the manifest's ``engine.wall_s``; the stages on the driver,
from its stages' ``wall_s``; the rest is starting Python, Ray and the actors), CPU seconds
(the whole process tree, the driver process, each actor with the processes it started),
the ratios between configurations, and Ray's fixed overhead measured on ``--overhead-n``
articles (Ray against local on the same few articles: starting Ray and the actors,
loading their models).

    python bench/scale.py                   # 1,000 articles
    python bench/scale.py --n 200 --only ray1,ray2 --batch-size 5
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
from dataclasses import dataclass, field
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
    cpu_s: float = 0.0  # the whole process tree (sampled): driver, Ray's daemons, workers, Apertium
    driver_cpu_s: float = 0.0  # the driver process itself
    sampler_cpu_s: float = 0.0  # this benchmark's own sampling (not in cpu_s), on the same cores
    # CPU of every process but the actors by kind: the driver, each of Ray's daemons, other workers
    cpu_by_kind: dict[str, float] = field(default_factory=dict)
    actor_cpu_s: list[float] = field(default_factory=list)  # each Ray worker (actor), with its subprocesses
    ray_phase_s: float = 0.0  # the per-article phase on Ray (manifest: engine.wall_s)
    driver_phase_s: float = 0.0  # the stages on the driver (manifest: the stages' wall_s)
    ray_driver_cpu_s: float = 0.0  # the driver's CPU during the Ray phase (manifest: engine.driver_cpu_s)

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


def _descendants(root: int) -> dict[int, int]:
    """``root`` and all its descendants, each with its parent, from /proc (Linux)."""
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
    tree, todo = {root: 0}, [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            tree[child] = pid
            todo.append(child)
    return tree


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


_TICK = os.sysconf("SC_CLK_TCK")
# The sampling runs beside what it measures, on the same cores: CPU every half second (a process's
# last half second is lost when it ends: the idle daemons' and workers' at shutdown), PSS every
# 2 s, as the kernel walks every page table of a process to sum it (~20 ms per GB resident: 4 times
# a second over the actors, 20-30 % of a core, taken from the actors when both cores are theirs).
SAMPLE_S = 0.5
PSS_EVERY = 4


def _cpu_s(pid: int, reaped: bool = True) -> float | None:
    """CPU seconds of ``pid`` (utime, stime) and of the children it has reaped (cutime, cstime)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return sum(int(v) for v in fields[11 : 15 if reaped else 13]) / _TICK
    except (OSError, IndexError, ValueError):
        return None


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _is_actor(pid: int) -> bool:
    """A Ray Data worker running the pipeline's steps (Ray titles it ``ray::MapWorker(...)``)."""
    return _cmdline(pid).startswith(b"ray::MapWorker")


# What each of Ray's processes is, by its command line (first match wins); a process that matches
# none belongs to its parent's kind (the dashboard's modules, a worker's helpers).
_KINDS = (
    (b"gcs_server", "gcs_server"),
    (b"raylet", "raylet"),
    (b"dashboard/agent.py", "dashboard agent"),
    (b"runtime_env/agent/main.py", "runtime-env agent"),
    (b"dashboard/dashboard.py", "dashboard (API server)"),
    (b"log_monitor.py", "log monitor"),
    (b"/monitor.py", "autoscaler monitor"),
    (b"default_worker.py", "other Ray workers"),  # before it takes its title
)
_TITLED = ((b"ray::DashboardAgent", "dashboard agent"), (b"ray::RuntimeEnvAgent", "runtime-env agent"))


def _kind(pid: int) -> str | None:
    line = _cmdline(pid)
    for title, kind in _TITLED:
        if line.startswith(title):
            return kind
    if line.startswith(b"ray::"):  # a worker's title: a task, an actor (not ours) or idle
        return "other Ray workers"
    argv = line.split(b"\0")
    for needle, kind in _KINDS:
        # An executable by its name, a script by its path (not in a worker's arguments: they name
        # raylet's socket and more)
        if argv[0].rpartition(b"/")[2] == needle or any(arg.endswith(needle) for arg in argv[1:3]):
            return kind
    return None


def _reap(pid: int) -> int | None:
    """The exit status of child ``pid`` if it has ended."""
    done, status = os.waitpid(pid, os.WNOHANG)
    return os.waitstatus_to_exitcode(status) if done else None


def timed_run(label: str, inputs: Path, out: Path, articles: int, extra: list[str]) -> Measure:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "pipeline", "run", str(inputs), "--out", str(out), "-q", "--stages", STAGES]
    cmd += ["--set", f"cache.path={out}.cache.sqlite", *extra]
    peak = 0
    own_cpu = time.process_time()
    # Last CPU seen of each process (the samples stop when it ends): actors with the children they
    # reaped (Apertium's processes, which are not counted again), every other process on its own.
    actors: dict[int, float] = {}
    others: dict[int, float] = {}
    kind_of: dict[int, str] = {}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read() if proc.stderr else ""))
    reader.start()
    returncode = None
    samples = 0
    while returncode is None:
        tree = _descendants(proc.pid)
        if samples % PSS_EVERY == 0:
            peak = max(peak, sum(_pss_kib(pid) for pid in tree))
        samples += 1
        for pid, parent in tree.items():
            # (a process an actor forks bears its title until it execs: not an actor)
            if pid in actors or (parent not in actors and _is_actor(pid)):
                actors[pid] = _cpu_s(pid) or actors.get(pid, 0.0)
                others.pop(pid, None)  # seen before it took the actor's title: counted here only
            elif parent not in actors:
                others[pid] = _cpu_s(pid, reaped=False) or others.get(pid, 0.0)
                if pid == proc.pid:
                    kind_of[pid] = "driver"
                else:  # a process none of Ray's belongs to its parent's kind
                    parent_kind = "driver's subprocesses" if parent == proc.pid else kind_of.get(parent)
                    kind_of[pid] = _kind(pid) or kind_of.get(pid) or parent_kind or "other"
        returncode = _reap(proc.pid)
        time.sleep(SAMPLE_S)
    wall = time.perf_counter() - started
    own_cpu = time.process_time() - own_cpu
    proc.returncode = returncode  # reaped here, not by Popen
    cpu = sum(actors.values()) + sum(others.values())
    driver_cpu = others.get(proc.pid, 0.0)
    by_kind: dict[str, float] = {}
    for pid, seconds in others.items():
        by_kind[kind_of[pid]] = by_kind.get(kind_of[pid], 0.0) + seconds
    reader.join()
    if returncode not in (0, 3):  # 3: some inputs rejected, the run went through
        raise SystemExit(f"{label} failed ({returncode}):\n{''.join(errors)[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    driver_phase = sum(float(stage.get("wall_s", 0.0)) for stage in manifest.get("stages", {}).values())
    engine = manifest.get("engine", {})
    return Measure(
        label,
        articles,
        wall,
        peak / 1024,
        cpu_s=cpu,
        driver_cpu_s=driver_cpu,
        sampler_cpu_s=own_cpu,
        cpu_by_kind=dict(sorted(by_kind.items(), key=lambda item: -item[1])),
        actor_cpu_s=sorted(actors.values()),
        ray_phase_s=float(engine.get("wall_s", 0.0)),
        driver_phase_s=driver_phase,
        ray_driver_cpu_s=float(engine.get("driver_cpu_s", 0.0)),
    )


def ray_flags(workers: int, batch_size: int, pin: bool) -> list[str]:
    # `workers` actors (each runs every step on its batch) share the cores Ray sees.
    cpus = os.cpu_count() or 1
    per_actor = min(1.0, cpus / workers)
    flags = [
        "--engine",
        "ray",
        "--set",
        f"engine.concurrency={workers}",
        "--set",
        f"engine.num_cpus={per_actor}",
    ]
    flags += ["--set", f"engine.batch_size={batch_size}"] if batch_size else []
    return flags + (["--set", "engine.pin_cpus=true"] if pin else [])


RUNS = {  # key: (label, input size, workers or None for the local engine)
    "local-small": ("local", "small", None),
    "ray1-small": ("ray, 1 worker", "small", 1),
    "local": ("local", "big", None),
    "ray1": ("ray, 1 worker", "big", 1),
    "ray2": ("ray, 2 workers", "big", 2),
}


def print_table(measured: dict[str, Measure]) -> None:
    print(
        f"{'engine':<16} {'articles':>8} {'wall s':>7} {'articles/s':>10} {'PSS MiB':>8} "
        f"{'ray phase s':>11} {'driver phase s':>14} {'CPU s':>7} {'driver CPU s':>12} {'(in ray phase)':>14}"
        "  actors' CPU s"
    )
    for m in measured.values():
        actors = " + ".join(f"{c:.1f}" for c in m.actor_cpu_s) or "-"
        print(
            f"{m.label:<16} {m.articles:>8} {m.wall_s:>7.1f} {m.rate:>10.2f} {m.peak_pss_mib:>8.0f} "
            f"{m.ray_phase_s:>11.1f} {m.driver_phase_s:>14.1f} {m.cpu_s:>7.1f} {m.driver_cpu_s:>12.1f}"
            f" {m.ray_driver_cpu_s:>14.1f}"
            f"  {actors}"
        )
    for m in measured.values():
        if m.actor_cpu_s:
            kinds = ", ".join(f"{kind} {seconds:.1f}" for kind, seconds in m.cpu_by_kind.items())
            print(f"  {m.label}, {m.articles} articles, CPU s by process: {kinds}")
    sampling = ", ".join(f"{m.label} ({m.articles}) {m.sampler_cpu_s:.1f}" for m in measured.values())
    print(f"  this benchmark's own sampling, CPU s (on the same cores, not in the table): {sampling}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="articles (default 1,000)")
    parser.add_argument("--per-file", type=int, default=10, help="articles per JSONL input file")
    parser.add_argument("--overhead-n", type=int, default=5, help="articles for Ray's fixed overhead")
    parser.add_argument(
        "--batch-size", type=int, default=0, help="engine.batch_size (0: the setting's default)"
    )
    parser.add_argument("--only", default=",".join(RUNS), help=f"runs to make, of {','.join(RUNS)}")
    parser.add_argument(
        "--pin", action="store_true", help="engine.pin_cpus: each actor bound to its own core, Apertium too"
    )
    parser.add_argument("--data", type=Path, default=DATA, help="OrangeSum articles.jsonl.gz")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"no OrangeSum data at {args.data}", file=sys.stderr)
        return 2
    wanted = args.only.split(",")
    if unknown := set(wanted) - set(RUNS):
        parser.error(f"unknown runs {sorted(unknown)}; runs: {','.join(RUNS)}")
    measured: dict[str, Measure] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = Path(tmp)
        counts = {
            "small": write_inputs(root / "small", args.overhead_n, args.per_file, args.data),
            "big": write_inputs(root / "big", args.n, args.per_file, args.data),
        }
        for key in (k for k in RUNS if k in wanted):
            label, size, workers = RUNS[key]
            flags = [] if workers is None else ray_flags(workers, args.batch_size, args.pin)
            print(f"running {label} on {counts[size]} articles …", file=sys.stderr, flush=True)
            measured[key] = timed_run(label, root / size, root / f"run-{key}", counts[size], flags)

    print(f"\n{os.cpu_count()} cores; stages {STAGES}; each run a fresh process and a fresh cache\n")
    print_table(measured)
    print(
        "\nray phase: the per-article steps on Ray's workers; driver phase: the stages on the driver "
        "(corpus-wide work; for Ray, reading the workers' outputs from the cache); the rest of the wall "
        "time is starting Python, Ray and the actors.  CPU: the whole process tree; actors: each Ray worker "
        "with its subprocesses (Apertium)."
    )
    print()
    if {"ray1", "ray2"} <= measured.keys():
        one, two = measured["ray1"], measured["ray2"]
        print(
            f"2 workers vs 1 worker, {two.articles} articles: {one.wall_s / two.wall_s:.2f}x faster "
            f"(ray phase {one.ray_phase_s / max(two.ray_phase_s, 1e-9):.2f}x)"
        )
    if "local" in measured:
        local = measured["local"]
        for key in ("ray1", "ray2"):
            if key in measured:
                speed = local.wall_s / measured[key].wall_s
                print(f"{measured[key].label} vs local: {speed:.2f}x the local speed")
        if "ray2" in measured:
            memory = measured["ray2"].peak_pss_mib / max(local.peak_pss_mib, 1)
            print(f"peak memory, ray 2 workers / local: {memory:.2f}x")
    if {"local-small", "ray1-small"} <= measured.keys():
        small_local, small_ray = measured["local-small"], measured["ray1-small"]
        overhead = small_ray.wall_s - small_local.wall_s
        print(
            f"Ray's fixed overhead at {small_ray.articles} articles: +{overhead:.1f} s "
            f"({small_ray.wall_s:.1f} s against {small_local.wall_s:.1f} s local, "
            f"{small_ray.wall_s / small_local.wall_s:.1f}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
