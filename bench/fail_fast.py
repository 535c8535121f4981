"""How fast usage mistakes fail: each must exit 2 in well under 2 s, with nothing written.

    python bench/fail_fast.py

Runs each mistake in a fresh interpreter (as a user would) and prints key=value lines:
exit status, wall and CPU seconds, whether anything was written.  Wall time depends on the
machine's load; CPU time does not (it is what the checks themselves cost).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 2.0


def mistakes(tmp: Path) -> dict[str, list[str]]:
    (tmp / "not-a-run").mkdir()
    (tmp / "empty").mkdir()
    (tmp / "bad.toml").write_text("[summarize\n")
    seeds = str(REPO / "corpus" / "articles")
    out = str(tmp / "R")
    return {
        "missing-input": ["run", "/no/such/dir", "--out", out],
        "empty-input-folder": ["run", str(tmp / "empty"), "--out", out],
        "not-a-run-dir": ["dedup", str(tmp / "not-a-run")],
        "report-on-a-file": ["report", str(REPO / "README.md")],
        "bad-value": ["run", seeds, "--out", out, "--set", "summarize.target_words=-5"],
        "bad-backend": ["run", seeds, "--out", out, "--set", "translate.backend=bogus"],
        "nan-threshold": ["run", seeds, "--out", out, "--set", "dedup.event_threshold=nan"],
        "missing-config": ["run", seeds, "--out", out, "--config", "/nope.toml"],
        "toml-syntax": ["run", seeds, "--out", out, "--config", str(tmp / "bad.toml")],
        "unknown-model": ["run", seeds, "--out", out, "--set", "summarize.model=nope"],
    }


def main() -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    worst = 0.0
    failed = []
    for name, args in mistakes(Path(tempfile.mkdtemp())).items():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, env=env, check=False
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        out = Path(args[args.index("--out") + 1]) if "--out" in args else None
        written = bool(out and out.exists()) or (name == "not-a-run-dir" and any(Path(args[1]).iterdir()))
        worst = max(worst, wall)
        print(f"case={name} exit={done.returncode} wall_s={wall:.2f} cpu_s={cpu:.2f} written={written}")
        if done.returncode != 2 or written:
            failed.append(name)
    print(f"worst_wall_s={worst:.2f} target_s={TARGET_S} ratio={worst / TARGET_S:.2f}")
    print("ok" if not failed else f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
