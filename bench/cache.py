"""Throughput of the output cache and of streamed run files, measured in one run.

Prints per-item costs so they can be compared with a model call (a neural
summary or translation takes tens to hundreds of milliseconds per input on CPU):
the cache and the run files should cost well under 1 % of that.

    python bench/cache.py [--n 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.cache import OutputCache, memoize_batch
from pipeline.checkpoint import RecordStream
from pipeline.rundir import RunDir


def per_item_us(seconds: float, n: int) -> str:
    return f"{seconds / n * 1e6:8.1f} µs/item"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=16, help="inputs per model batch")
    args = parser.parse_args()
    n, batch = args.n, args.batch
    texts = [f"Phrase numéro {i} : la délégation marocaine a visité la Silicon Valley." for i in range(n)]
    rng = np.random.default_rng(0)

    with tempfile.TemporaryDirectory() as tmp:
        with OutputCache(Path(tmp) / "bench.sqlite") as cache:
            for kind, make in (
                ("summary", lambda ts: [{"text": t[:60], "sentences": [[0, 30], [31, 60]]} for t in ts]),
                ("embedding", lambda ts: list(rng.standard_normal((len(ts), 384), dtype=np.float32))),
            ):
                start = time.perf_counter()
                for i in range(0, n, batch):
                    memoize_batch(cache, kind, "bench-model", "r1", {"k": 1}, texts[i : i + batch], make)
                cold = time.perf_counter() - start
                start = time.perf_counter()
                for i in range(0, n, batch):
                    memoize_batch(cache, kind, "bench-model", "r1", {"k": 1}, texts[i : i + batch], make)
                warm = time.perf_counter() - start
                print(
                    f"cache {kind:<9} miss+store {per_item_us(cold, n)}   hit {per_item_us(warm, n)}"
                    f"   hit/miss = {warm / cold:.2f}"
                )
            stats = cache.stats()
            print(f"cache holds {stats.entries} entries, {stats.bytes / 2**20:.1f} MiB of values")

        run = RunDir(Path(tmp) / "run")
        start = time.perf_counter()
        with RecordStream(run, "out.jsonl") as out:
            for i, text in enumerate(texts):
                out.write({"id": i, "summary": text})
        print(f"streamed run file (RecordStream): {per_item_us(time.perf_counter() - start, n)}")


if __name__ == "__main__":
    main()
