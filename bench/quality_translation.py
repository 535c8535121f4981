"""Translation quality and speed on newstest: the project's translator against raw Apertium.

    python bench/quality.py translation --data ../shared/datasets/newstest --year 2013
    python bench/quality.py translation --data ../shared/datasets/newstest --year 2012 --limit 500

Both systems run in this one process's lifetime, on the same sentences, one after
the other (raw first), each timed from process start to its last output byte:

* ``project``: the real command line, ``python -m pipeline translate --stdin``,
  with one paragraph per blank-line-separated block (one newstest line each);
  the output is split back on blank lines.  The cache is off (``cache.enabled
  = false``) so the time is a cold run's; ``--cache`` keeps it on.
* ``raw apertium``: ``apertium fr-es | apertium spa-eng`` on the lines as they are,
  its output as Apertium writes it (unknown-word marks included, as a user of the
  bare tools gets them).

Scores are sacrebleu's corpus BLEU and chrF with default settings (signatures
printed), and sacrebleu's paired bootstrap resampling (``paired_bs``, 1,000
resamples) of the project against the raw baseline.  Speed is French source
words (whitespace tokens) per wall-clock second; the CPU seconds of each system
(its processes and theirs, user + system) are printed too, since wall time on a
shared machine depends on the load.  ``--repeat N`` runs both N times in
rounds, raw first in odd rounds and the project first in even ones (so a load
that comes or goes mid-round favours neither), and reports the median of the
rounds' wall ratios (project / raw, each round's pair measured side by side) as
the time ratio, with each system's median wall and CPU seconds; the outputs
must be the same in every round (checked), and are scored once.  Use
newstest2012 to develop and newstest2013 to report.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "datasets" / "newstest"))
    parser.add_argument("--year", default="2013", help="newstest year (2012 = dev, 2013 = report)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N lines (0 = all)")
    parser.add_argument("--backend", default="offline", help="translate.backend for the project")
    parser.add_argument("--cache", action="store_true", help="let the project use its output cache")
    parser.add_argument(
        "--repeat", type=int, default=1, help="N rounds of both, order alternating; median ratio"
    )
    parser.add_argument("--resamples", type=int, default=1000, help="paired bootstrap resamples")
    parser.add_argument("--save", metavar="DIR", help="write both systems' outputs there")
    parser.add_argument("--json", metavar="PATH", help="write the table as JSON")


def read_lines(path: Path, limit: int) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[:limit] if limit > 0 else lines


def run_project(sources: list[str], backend: str, cache: bool) -> tuple[list[str], float]:
    """The real CLI on stdin, one blank-line-separated paragraph per line; (outputs, wall seconds)."""
    argv = [sys.executable, "-m", "pipeline", "translate", "--stdin", "-q"]
    argv += ["--set", f"translate.backend={backend}"]
    if not cache:
        argv += ["--set", "cache.enabled=false"]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    data = "\n\n".join(" ".join(s.split()) for s in sources).encode("utf-8")
    start = time.perf_counter()
    done = subprocess.run(argv, input=data, capture_output=True, env=env, cwd=REPO, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"pipeline translate failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    outputs = done.stdout.decode("utf-8").rstrip("\n").split("\n\n")
    if len(outputs) != len(sources):
        raise SystemExit(f"pipeline translate returned {len(outputs)} paragraphs for {len(sources)}")
    return [" ".join(o.split()) for o in outputs], wall


def run_raw_apertium(sources: list[str]) -> tuple[list[str], float]:
    """``apertium fr-es | apertium spa-eng``, one line per sentence; (outputs, wall seconds)."""
    data = "".join(s + "\n" for s in sources).encode("utf-8")
    start = time.perf_counter()
    first = subprocess.Popen(["apertium", "fr-es"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    second = subprocess.Popen(["apertium", "spa-eng"], stdin=first.stdout, stdout=subprocess.PIPE)
    assert first.stdout is not None and first.stdin is not None
    first.stdout.close()  # the second process owns the pipe now
    first.stdin.write(data)  # Apertium streams, so writing all before reading cannot deadlock
    first.stdin.close()
    out, _ = second.communicate()
    first.wait()
    wall = time.perf_counter() - start
    outputs = out.decode("utf-8").splitlines()
    if first.returncode or second.returncode or len(outputs) != len(sources):
        raise SystemExit(
            f"raw apertium failed: status {first.returncode}/{second.returncode}, {len(outputs)} lines"
        )
    return outputs, wall


def timed(run, *args):  # type: ignore[no-untyped-def]
    """``run(*args)`` -> (outputs, wall seconds, CPU seconds of the processes it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    outputs, wall = run(*args)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return outputs, wall, cpu


def main(args: argparse.Namespace) -> int:
    from sacrebleu.metrics import BLEU, CHRF
    from sacrebleu.significance import PairedTest

    data = Path(args.data)
    sources = read_lines(data / f"newstest{args.year}.fr", args.limit)
    references = read_lines(data / f"newstest{args.year}.en", args.limit)
    words = sum(len(s.split()) for s in sources)

    runs: dict[str, list[tuple[list[str], float, float]]] = {"raw apertium": [], "project": []}
    rounds = max(1, args.repeat)
    for number in range(rounds):
        order = ["raw apertium", "project"] if number % 2 == 0 else ["project", "raw apertium"]
        for name in order:
            if name == "project":
                runs[name].append(timed(run_project, sources, args.backend, args.cache))
            else:
                runs[name].append(timed(run_raw_apertium, sources))
        if rounds > 1:
            (_, p_wall, p_cpu), (_, r_wall, r_cpu) = runs["project"][-1], runs["raw apertium"][-1]
            print(
                f"round {number + 1}/{rounds}: raw {r_wall:.2f} s ({r_cpu:.2f} s cpu), "
                f"project {p_wall:.2f} s ({p_cpu:.2f} s cpu), ratio {p_wall / r_wall:.2f}",
                file=sys.stderr,
            )
    ratios = [p[1] / r[1] for p, r in zip(runs["project"], runs["raw apertium"], strict=True)]
    raw = runs["raw apertium"][-1][0]
    ours = runs["project"][-1][0]
    for name, found in runs.items():
        if any(outputs != found[-1][0] for outputs, _, _ in found):
            raise SystemExit(f"{name} gave different outputs in different rounds")
    raw_wall = statistics.median(wall for _, wall, _ in runs["raw apertium"])
    raw_cpu = statistics.median(cpu for _, _, cpu in runs["raw apertium"])
    our_wall = statistics.median(wall for _, wall, _ in runs["project"])
    our_cpu = statistics.median(cpu for _, _, cpu in runs["project"])
    systems = {"raw apertium": (raw, raw_wall), "project": (ours, our_wall)}
    cpu = {"raw apertium": raw_cpu, "project": our_cpu}
    if args.save:
        out = Path(args.save)
        out.mkdir(parents=True, exist_ok=True)
        for name, (lines, _) in systems.items():
            (out / f"{name.replace(' ', '_')}.{args.year}.en").write_text(
                "\n".join(lines) + "\n", encoding="utf-8"
            )

    metrics = {"BLEU": BLEU(), "chrF": CHRF()}
    table: dict[str, dict[str, float | str]] = {}
    signatures = {}
    for name, (lines, wall) in systems.items():
        row: dict[str, float | str] = {}
        for label, metric in metrics.items():
            score = metric.corpus_score(lines, [references])
            row[label] = round(score.score, 2)
            signatures[label] = str(metric.get_signature())
        row["wall_s"] = round(wall, 2)
        row["cpu_s"] = round(cpu[name], 2)
        row["words_per_s"] = round(words / wall, 1)
        table[name] = row

    test = PairedTest(
        [("raw apertium", raw), ("project", ours)],
        {label: metric for label, metric in metrics.items()},
        references=[references],
        test_type="bs",
        n_samples=args.resamples,
    )
    test_signatures, results = test()
    # sacrebleu names the columns by metric (chrF becomes "chrF2"), in the order given
    columns = [name for name in results if name != "System"]
    p_values = {
        label: float(getattr(results[column][1], "p_value", "nan"))
        for label, column in zip(metrics, columns, strict=True)
    }

    print(f"newstest{args.year}: {len(sources)} sentences, {words} French words")
    print(f"{'system':14} {'BLEU':>6} {'chrF':>6} {'wall s':>7} {'cpu s':>6} {'words/s':>8}")
    for name, row in table.items():
        print(
            f"{name:14} {row['BLEU']:6.2f} {row['chrF']:6.2f} {row['wall_s']:7.2f} "
            f"{row['cpu_s']:6.2f} {row['words_per_s']:8.0f}"
        )
    delta = {
        label: round(float(table["project"][label]) - float(table["raw apertium"][label]), 2)
        for label in metrics
    }
    ratio = statistics.median(ratios)
    print(
        f"project - raw: BLEU {delta['BLEU']:+.2f} (p = {p_values['BLEU']:.4f}), "
        f"chrF {delta['chrF']:+.2f} (p = {p_values['chrF']:.4f}); "
        f"paired bootstrap, {args.resamples} resamples"
    )
    spread = f" (rounds: {', '.join(f'{r:.2f}' for r in ratios)})" if len(ratios) > 1 else ""
    print(
        f"wall time ratio project / raw: {ratio:.2f}{spread}, median of {len(ratios)} "
        f"(target <= 1.25); cpu ratio {our_cpu / raw_cpu:.2f}"
    )
    for label, signature in signatures.items():
        print(f"{label} signature: {signature}")
    for column, test_signature in test_signatures.items():
        print(f"paired test {column}: {test_signature}")
    if args.json:
        report = {
            "year": args.year,
            "sentences": len(sources),
            "words": words,
            "systems": table,
            "delta": delta,
            "p_values": p_values,
            "time_ratio": round(ratio, 3),
            "round_ratios": [round(r, 3) for r in ratios],
            "cpu_ratio": round(our_cpu / raw_cpu, 3),
            "repeat": max(1, args.repeat),
            "signatures": signatures,
            "test_signatures": {k: str(v) for k, v in test_signatures.items()},
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
