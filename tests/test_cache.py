"""The shared output cache: keys, value round-trips, memoisation, and concurrent processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.cache import (
    CacheError,
    NullCache,
    OutputCache,
    cache_info,
    cache_key,
    cache_path,
    clear_cache,
    memoize_batch,
    open_cache,
)
from pipeline.settings import CacheSettings, Settings

REPO = Path(__file__).resolve().parents[1]


def test_key_changes_with_every_component() -> None:
    base = ("translation", "opus-mt-fr-en", "abc123", {"beams": 4}, "Le ministre a annoncé.")
    variants = [
        ("summary", *base[1:]),
        (base[0], "other-model", *base[2:]),
        (*base[:2], "def456", *base[3:]),
        (*base[:3], {"beams": 5}, base[4]),
        (*base[:4], "Le ministre a annoncé"),
    ]
    digests = {cache_key(*v).digest for v in [base, *variants]}
    assert len(digests) == 6
    assert cache_key(*base) == cache_key(*base)
    assert cache_key(*base).digest == cache_key(*base[:3], {"beams": 4}, base[4]).digest


def test_unserialisable_params_are_a_clear_error() -> None:
    with pytest.raises(TypeError, match="JSON-serialisable"):
        cache_key("summary", "m", "r", {"fn": print}, "texte")


def test_values_round_trip_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    big_endian = np.arange(6, dtype=">f4").reshape(2, 3) / 7
    values = {
        cache_key("summary", "m", "r", {}, "a"): {"text": "Résumé « court ».", "scores": [0.5, 1e-12]},
        cache_key("raw", "m", "r", {}, "b"): b"\x00\xffbytes",
        cache_key("embedding", "m", "r", {}, "c"): big_endian,
    }
    with OutputCache(path) as cache:
        cache.put_many(values)
    with OutputCache(path) as cache:
        got = cache.get_many([*values, cache_key("summary", "m", "r", {}, "absent")])
        assert (cache.hits, cache.misses) == (3, 1)
    assert got[cache_key("summary", "m", "r", {}, "a")] == values[cache_key("summary", "m", "r", {}, "a")]
    assert got[cache_key("raw", "m", "r", {}, "b")] == b"\x00\xffbytes"
    array = got[cache_key("embedding", "m", "r", {}, "c")]
    assert array.dtype == np.dtype("<f4") and array.shape == (2, 3)
    assert np.array_equal(array, big_endian)


def test_first_value_for_a_key_wins(tmp_path: Path) -> None:
    key = cache_key("summary", "m", "r", {}, "x")
    with OutputCache(tmp_path / "c.sqlite") as cache:
        cache.put_many({key: "first"})
        cache.put_many({key: "second"})
        assert cache.get_many([key]) == {key: "first"}
        assert cache.stats().entries == 1


def test_memoize_batch_computes_only_distinct_misses_in_one_call(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def upper(texts: list[str]) -> list[dict[str, object]]:
        calls.append(texts)
        return [{"text": t.upper(), "span": (0, len(t))} for t in texts]

    args = ("summary", "toy", "r1", {"target_words": 60})
    with OutputCache(tmp_path / "c.sqlite") as cache:
        first = memoize_batch(cache, *args, ["été", "hiver", "été"], upper)
        assert calls == [["été", "hiver"]]
        second = memoize_batch(cache, *args, ["automne", "hiver", "été"], upper)
        assert calls[-1] == ["automne"]
        assert (cache.hits, cache.misses) == (2, 3)
        # Everything cached: compute is not called at all.
        third = memoize_batch(cache, *args, ["été", "automne"], upper)
        assert len(calls) == 2
        # Other parameters are other outputs.
        memoize_batch(cache, "summary", "toy", "r1", {"target_words": 40}, ["été"], upper)
        assert calls[-1] == ["été"]
    assert [r["text"] for r in first] == ["ÉTÉ", "HIVER", "ÉTÉ"]
    assert [r["text"] for r in second] == ["AUTOMNE", "HIVER", "ÉTÉ"]
    # Fresh and cached results look the same (tuples come back as lists either way).
    assert first[0] == third[0] == {"text": "ÉTÉ", "span": [0, 3]}


def test_memoize_batch_rejects_a_compute_that_drops_results() -> None:
    with pytest.raises(ValueError, match="1 results for 2 inputs"):
        memoize_batch(NullCache(), "summary", "m", "r", {}, ["a", "b"], lambda texts: texts[:1])


def test_disabled_cache_stores_nothing(tmp_path: Path) -> None:
    settings = CacheSettings(path=str(tmp_path / "c.sqlite"), enabled=False)
    calls: list[list[str]] = []

    def compute(texts: list[str]) -> list[str]:
        calls.append(texts)
        return [t.upper() for t in texts]

    with open_cache(settings) as cache:
        assert isinstance(cache, NullCache)
        for _ in range(2):
            assert memoize_batch(cache, "summary", "m", "r", {}, ["a"], compute) == ["A"]
        assert (cache.hits, cache.misses) == (0, 2)
    assert len(calls) == 2
    assert not (tmp_path / "c.sqlite").exists()
    assert "disabled" in cache_info(settings)


def test_cache_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PIPELINE_CACHE", raising=False)
    assert cache_path(Settings()) == tmp_path / "home/.cache/french-news-pipeline/cache.sqlite"
    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "env.sqlite"))
    assert cache_path(Settings()) == tmp_path / "env.sqlite"
    explicit = Settings.load(overrides={"cache.path": str(tmp_path / "explicit.sqlite")})
    assert cache_path(explicit) == tmp_path / "explicit.sqlite"
    with open_cache(explicit) as cache:
        assert isinstance(cache, OutputCache)
    assert (tmp_path / "explicit.sqlite").exists()


def test_stats_info_and_clear(tmp_path: Path) -> None:
    settings = CacheSettings(path=str(tmp_path / "c.sqlite"))
    assert "no cache file yet" in cache_info(settings)
    assert clear_cache(settings) == 0
    assert not (tmp_path / "c.sqlite").exists()
    with open_cache(settings) as cache:
        cache.put_many({cache_key("summary", "m", "r", {}, str(i)): "x" * 1000 for i in range(50)})
        cache.put_many({cache_key("embedding", "m", "r", {}, str(i)): np.zeros(96, "f4") for i in range(20)})
        stats = cache.stats()
    assert stats.entries == 70
    assert stats.by_kind == {"embedding": (20, 20 * 384), "summary": (50, 50 * 1002)}  # JSON adds the quotes
    assert stats.bytes == 20 * 384 + 50 * 1002
    info = cache_info(settings)
    assert "70 entries" in info and "embedding" in info and "summary" in info
    assert clear_cache(settings, kind="summary") == 50
    with open_cache(settings) as cache:
        assert cache.stats().by_kind == {"embedding": (20, 20 * 384)}
    size_before = os.path.getsize(tmp_path / "c.sqlite")
    assert clear_cache(settings) == 20
    assert os.path.getsize(tmp_path / "c.sqlite") <= size_before
    assert "0 entries" in cache_info(settings)


def test_a_file_that_is_not_a_cache_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_text("these are not the bytes of a database " * 100)
    with pytest.raises(CacheError, match="not a usable pipeline cache"):
        OutputCache(path)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    OutputCache(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(CacheError, match="newer pipeline"):
        OutputCache(path)


# --- several processes on one cache file -------------------------------------

# Every value is a function of its key, so any process can check any value.
KEYS_AND_VALUES = r"""
import numpy as np
from pipeline.cache import cache_key

def key(i):
    kind = ("embedding", "translation", "raw")[i % 3]
    return cache_key(kind, "toy-model", "rev", {"beam": 4}, f"phrase numéro {i}")

def value(i):
    if i % 3 == 0:
        return np.arange(i, i + 16, dtype=np.float32) / 3
    if i % 3 == 1:
        return {"text": f"sentence {i} " + "é" * (i % 11), "n": i}
    return bytes([i % 256]) * (i % 50 + 1)

def same(a, b):
    return np.array_equal(a, b) if isinstance(b, np.ndarray) else a == b
"""

# Writes keys lo..hi-1 in shuffled batches of random size, reading back random
# earlier keys as it goes; exits non-zero on a missing or wrong value.
HAMMER = (
    KEYS_AND_VALUES
    + r"""
import random, sys, time
from pathlib import Path
from pipeline.cache import OutputCache

path, lo, hi, seed, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
rng = random.Random(seed)
order = list(range(lo, hi))
rng.shuffle(order)
while not go.exists():
    time.sleep(0.001)
with OutputCache(path) as cache:
    done = []
    while order:
        n = rng.randint(1, 12)
        batch, order = order[:n], order[n:]
        cache.put_many({key(i): value(i) for i in batch})
        done += batch
        probe = rng.sample(done, min(5, len(done)))
        got = cache.get_many([key(i) for i in probe])
        for i in probe:
            if key(i) not in got or not same(got[key(i)], value(i)):
                sys.exit(f"wrong value for {i}")
print("ok", cache.hits)
"""
)


def _hammer(path: Path, lo: int, hi: int, seed: int, go: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HAMMER, str(path), str(lo), str(hi), str(seed), str(go)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_writers_and_a_killed_writer_leave_a_sound_cache(tmp_path: Path) -> None:
    path, go = tmp_path / "shared.sqlite", tmp_path / "go"
    # Two writers overlap on keys 300..599; a third is killed with SIGKILL mid-way.
    writers = [_hammer(path, 0, 600, 1, go), _hammer(path, 300, 900, 2, go)]
    victim = _hammer(path, 900, 20_000, 3, go)
    time.sleep(0.5)  # let the interpreters start, then release them together
    go.touch()
    outputs = [w.communicate(timeout=60) for w in writers]
    victim_was_running = victim.poll() is None
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert out.startswith("ok")
    assert victim_was_running, "the victim finished before it could be killed; give it more keys"

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)

    ns: dict[str, Any] = {}
    exec(KEYS_AND_VALUES, ns)
    key, value, same = ns["key"], ns["value"], ns["same"]
    with OutputCache(path) as cache:
        got = cache.get_many([key(i) for i in range(20_000)])
        stats = cache.stats()
    # The finished writers' keys are all there; every key present (the killed writer's
    # committed ones included) has exactly its value.
    assert all(key(i) in got for i in range(900))
    assert [i for i in range(20_000) if key(i) in got and not same(got[key(i)], value(i))] == []
    assert 900 < stats.entries == len(got) < 20_000
    assert set(stats.by_kind) == {"embedding", "translation", "raw"}
