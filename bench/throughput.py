"""End-to-end throughput of ``pipeline run`` against the cost of its own models (issue 11).

In one invocation, under the same machine load:

1. N OrangeSum articles (default 1,000, the ``valid`` split first, in file order) are
   written as JSONL input files (title, date, text), 100 articles a file;
2. ``pipeline run`` on them, in a fresh process, cold cache: wall time, per-stage
   seconds from the run's manifest, peak RSS of the pipeline process (``wait4``);
3. the same input into a NEW run directory, warm cache (every stage runs; model
   outputs come from the cache);
4. the floors, in this process, over the texts the pipeline handled (read back from
   the cold run's files): spaCy ``nlp.pipe`` over the article texts, each stage's
   embedder over what it embeds (summarize: sentences; dedup: ledes), and raw Apertium
   fr→es→en (two streaming subprocesses, one call each) over the article and
   summary texts.

Targets (issue 11): ≥ 4 articles/s, ≤ 2× the sum of the floors, peak RSS ≤ 2 GB,
warm rerun ≤ 10 % of the cold run.

    python bench/throughput.py                 # 1,000 articles, all stages
    python bench/throughput.py --n 100         # a quick look
    python bench/throughput.py --n 200 --stages ingest --no-warm
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets" / "orangesum" / "articles.jsonl.gz"
PER_FILE = 100  # articles per input JSONL file (keeps every file far under ingest.max_bytes)

TARGET_RATE = 4.0  # articles/s
TARGET_FLOOR_RATIO = 2.0
TARGET_RSS_GB = 2.0
TARGET_WARM = 0.10


def orangesum_articles(path: Path, n: int, split: str) -> list[dict[str, Any]]:
    """The first ``n`` articles of ``split`` (then of the other splits, if it has fewer)."""
    chosen: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if not (row.get("article") or "").strip():
                continue
            (chosen if row.get("split") == split else others).append(row)
            if len(chosen) >= n:
                break
    return (chosen + others)[:n]


def write_inputs(rows: Sequence[dict[str, Any]], directory: Path) -> None:
    directory.mkdir(parents=True)
    for start in range(0, len(rows), PER_FILE):
        lines = [
            json.dumps(
                {"id": r["id"], "title": r.get("title"), "date": r.get("date"), "text": r["article"]},
                ensure_ascii=False,
            )
            for r in rows[start : start + PER_FILE]
        ]
        (directory / f"orangesum-{start // PER_FILE:04d}.jsonl").write_text(
            "\n".join(lines) + "\n", encoding="utf-8"
        )


class Cost(NamedTuple):
    """Wall seconds and CPU seconds (user + system, this process and its waited-for children).

    The CPU time is the steadier measure on a shared machine: another user's load
    stretches the wall time, not the CPU time.
    """

    wall: float
    cpu: float


def run_pipeline(args: argparse.Namespace, inputs: Path, out: Path, env: dict[str, str]) -> tuple[Cost, int]:
    """Wall and CPU seconds and peak RSS (bytes) of one ``pipeline run`` process."""
    argv = [sys.executable, "-m", "pipeline", "run", str(inputs), "--out", str(out), "-q"]
    argv += ["--stages", args.stages]
    for item in args.set:
        argv += ["--set", item]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 3):  # 3: some inputs rejected, the run went on
        raise SystemExit(f"pipeline run failed with exit code {proc.returncode}: {' '.join(argv)}")
    return Cost(wall, usage.ru_utime + usage.ru_stime), usage.ru_maxrss * 1024  # maxrss: KiB on Linux


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function: Callable[[], Any]) -> Cost:
    started, cpu = time.perf_counter(), _cpu()
    function()
    return Cost(time.perf_counter() - started, _cpu() - cpu)


# --- floors ------------------------------------------------------------------


def spacy_floor(texts: list[str], model: str, processes: int) -> Cost:
    """spaCy's full pipeline over the texts, batched (model load not counted)."""
    import spacy

    nlp = spacy.load(model)
    return timed(lambda: sum(1 for _ in nlp.pipe(texts, batch_size=64, n_process=processes)))


def embedder_floor(texts: list[str], model_name: str, batch_size: int) -> Cost:
    """A stage's embedder over its texts, one batched call (model load not counted)."""
    from pipeline.loaders import embed, load_sentence_encoder

    model = load_sentence_encoder(model_name)
    return timed(lambda: embed(model, texts, batch_size))


def apertium_floor(texts: list[str]) -> Cost:
    """Raw ``apertium fr-es | apertium spa-eng`` over the texts, one streaming call (no shell)."""
    data = "\n\n".join(t.replace("\x00", " ") for t in texts).encode("utf-8")

    def translate() -> None:
        first = subprocess.Popen(
            ["apertium", "-f", "txt", "fr-es"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        second = subprocess.Popen(
            ["apertium", "-f", "txt", "spa-eng"], stdin=first.stdout, stdout=subprocess.DEVNULL
        )
        assert first.stdout is not None and first.stdin is not None
        first.stdout.close()  # the second process owns the pipe now
        first.stdin.write(data)
        first.stdin.close()
        if first.wait() or second.wait():
            raise SystemExit("apertium failed (is apertium-fr-es / apertium-eng-spa installed?)")

    return timed(translate)


# --- report --------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="articles (default 1,000)")
    parser.add_argument("--split", default="valid", help="OrangeSum split taken first (default valid)")
    parser.add_argument("--data", type=Path, default=DATA, help="OrangeSum articles.jsonl.gz")
    parser.add_argument(
        "--stages", default="ingest,dedup,summarize,translate,score,report", help="stages to run"
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="pipeline setting")
    parser.add_argument("--no-warm", dest="warm", action="store_false", help="skip the warm rerun")
    parser.add_argument("--no-floors", dest="floors", action="store_false", help="skip the floors")
    parser.add_argument("--spacy-processes", type=int, default=1, help="n_process of the spaCy floor")
    parser.add_argument("--keep", type=Path, help="work in this (new) directory and keep it")
    args = parser.parse_args(argv)

    from pipeline.settings import Settings

    overrides = dict(item.partition("=")[::2] for item in args.set)
    settings = Settings.load(overrides=overrides)

    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        inputs, cold_dir, warm_dir = work / "input", work / "run-cold", work / "run-warm"
        rows = orangesum_articles(args.data, args.n, args.split)
        write_inputs(rows, inputs)
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "PIPELINE_CACHE": str(work / "cache.sqlite"),
            "HF_HUB_OFFLINE": "1",
        }
        cold, rss = run_pipeline(args, inputs, cold_dir, env)
        warm = run_pipeline(args, inputs, warm_dir, env)[0] if args.warm else None
        manifest = json.loads((cold_dir / "manifest.json").read_text(encoding="utf-8"))["stages"]
        articles = read_jsonl(cold_dir / "articles.jsonl")
        summaries = read_jsonl(cold_dir / "summaries.jsonl")

        floors: dict[str, Cost] = {}
        if args.floors:
            from pipeline.dedup.events import representation_text
            from pipeline.records import Article

            records = [Article.from_dict(a) for a in articles]
            texts = [a.text for a in records]
            floors["spaCy nlp.pipe (full pipeline)"] = spacy_floor(
                texts, settings.ingest.spacy_model, args.spacy_processes
            )
            # What the stages embed, each with its own model: summarize every sentence, dedup a lede.
            # The offline summariser embeds sentences only with the centrality scorer.
            if (
                "summarize" in args.stages
                and getattr(settings.summarize, "scorer", "centrality") == "centrality"
            ):
                sentences = [s for a in records for s in a.sentence_texts()]
                model = getattr(settings.summarize, "embedding_model", settings.dedup.embedding_model)
                floors[f"embedder {model} ({len(sentences)} sentences)"] = embedder_floor(
                    sentences, model, settings.dedup.batch_size
                )
            if "dedup" in args.stages:
                ledes = [representation_text(a, settings.dedup.embed_max_words) for a in records]
                model = settings.dedup.embedding_model
                floors[f"embedder {model} ({len(ledes)} ledes)"] = embedder_floor(
                    ledes, model, settings.dedup.batch_size
                )
            if "translate" in args.stages:
                floors["apertium fr→es→en (articles + summaries)"] = apertium_floor(
                    texts + [s["text"] for s in summaries]
                )

    n = len(articles)
    words = sum(len(a["text"].split()) for a in articles)
    print(f"\n{n} articles ({words:,} words) of OrangeSum, stages {args.stages}, cold cache")
    print(f"{'stage':<12} {'wall s':>9}  counts")
    for name, record in manifest.items():
        print(f"{name:<12} {record['wall_s']:9.1f}  {record['counts']}")
    print(f"{'total':<12} {cold.wall:9.1f}  (process start and model loads included); CPU {cold.cpu:.1f} s")
    rate = n / cold.wall if cold.wall else 0.0
    print(f"throughput   {rate:9.2f} articles/s   target ≥ {TARGET_RATE}: {verdict(rate >= TARGET_RATE)}")
    print(f"             {n / cold.cpu:9.2f} articles per CPU second")
    print(
        f"peak RSS     {rss / 2**30:9.2f} GiB         target ≤ {TARGET_RSS_GB}: "
        f"{verdict(rss / 2**30 <= TARGET_RSS_GB)}"
    )
    if floors:
        print("\nfloors (same texts, this process, model loads not counted)   wall s    CPU s")
        for name, cost in floors.items():
            print(f"  {name:<58} {cost.wall:8.1f} {cost.cpu:8.1f}")
        wall = sum(c.wall for c in floors.values())
        cpu = sum(c.cpu for c in floors.values())
        print(f"  {'sum':<58} {wall:8.1f} {cpu:8.1f}")
        ratio = cold.wall / wall if wall else float("inf")
        print(
            f"pipeline / floors {ratio:6.2f}× wall, {cold.cpu / cpu:.2f}× CPU   "
            f"target ≤ {TARGET_FLOOR_RATIO}: {verdict(ratio <= TARGET_FLOOR_RATIO)}"
        )
    if warm is not None:
        share = warm.wall / cold.wall
        print(
            f"warm rerun, new run dir {warm.wall:.1f} s = {share:.1%} of the cold run "
            f"(CPU {warm.cpu / cold.cpu:.1%})   target ≤ {TARGET_WARM:.0%}: {verdict(share <= TARGET_WARM)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
