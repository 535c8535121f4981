"""A cache of model outputs (summaries, translations, embeddings) shared across runs.

Model calls are the expensive part of a run, and their outputs depend only on
the model, its revision, the generation parameters and the input text.  This
module stores them in one SQLite file (standard library, WAL mode) keyed by a
digest of exactly those things, so a re-run, or another run over overlapping
articles, computes only what it has never seen.

* :func:`cache_key` is the one place keys are built.
* :class:`OutputCache` is the store; :class:`NullCache` has the same API and
  stores nothing (``cache.enabled = false``).  :func:`open_cache` picks one.
* :func:`memoize_batch` is what stages call: look up a batch, compute only the
  misses in one call, store them, return results in input order.

Values are JSON-compatible objects (strings, numbers, lists, dicts), raw
``bytes``, or numpy arrays (stored as little-endian raw bytes with dtype and
shape, e.g. float32 embeddings).  The first value stored for a key wins: later
writes of the same key are ignored, so two runs racing on one key agree.

Concurrency: several processes may read and write one cache file at once.
Writes are short ``BEGIN IMMEDIATE`` transactions of at most a few hundred rows
with ``INSERT OR IGNORE``; SQLite's busy timeout waits for a competing writer
and a bounded retry loop covers the cases it does not (``SQLITE_BUSY`` while
switching to WAL, stale snapshots).  A process killed mid-write loses only its
uncommitted transaction.  One :class:`OutputCache` may be shared by threads of
one process; do not carry it across ``fork``.

>>> import numpy as np
>>> with OutputCache(":memory:") as cache:
...     embed = lambda texts: [np.full(2, len(t), dtype=np.float32) for t in texts]
...     first = memoize_batch(cache, "embedding", "toy", "r1", {}, ["un", "deux", "un"], embed)
...     again = memoize_batch(cache, "embedding", "toy", "r1", {}, ["deux", "trois"], embed)
...     [v.tolist() for v in again], cache.hits, cache.misses
([[4.0, 4.0], [5.0, 5.0]], 1, 3)
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar

import numpy as np

from pipeline.settings import CacheSettings, Settings

V = TypeVar("V")

# Bump to invalidate every key (e.g. if the value encoding changes).
KEY_VERSION = 1
SCHEMA_VERSION = 1
ENV_VAR = "PIPELINE_CACHE"
DEFAULT_PATH = Path("~/.cache/french-news-pipeline/cache.sqlite")

# Rows per statement/transaction: short transactions keep other writers' waits short,
# and stay far below SQLite's limit on bound parameters.
_CHUNK = 256
_BUSY_TIMEOUT_S = 30.0
_RETRIES = 8

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS outputs (
        key     TEXT PRIMARY KEY,
        kind    TEXT NOT NULL,
        codec   TEXT NOT NULL,   -- json | bytes | ndarray
        meta    TEXT,            -- ndarray: {"dtype": "<f4", "shape": [384]}
        value   BLOB NOT NULL,
        created REAL NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS outputs_kind ON outputs (kind)",
)


class CacheError(RuntimeError):
    """The cache file cannot be used (not a cache, newer schema, unwritable)."""


class CacheKey(NamedTuple):
    """A cache key: the output kind (for stats and clearing) and the hex digest that identifies it."""

    kind: str
    digest: str


class CacheStats(NamedTuple):
    entries: int
    bytes: int  # stored value bytes (the file on disk is somewhat larger)
    by_kind: dict[str, tuple[int, int]]  # kind -> (entries, bytes)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace, so equal params always hash equally.

    >>> canonical_json({"b": 1, "a": [1.5, "é"]})
    '{"a":[1.5,"é"],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def cache_key(kind: str, model: str, revision: str | None, params: Mapping[str, Any], text: str) -> CacheKey:
    """The key of one model output: every input that can change it, hashed together.

    >>> k = cache_key("summary", "m", "r1", {"beams": 4, "len": 60}, "Bonjour.")
    >>> k == cache_key("summary", "m", "r1", {"len": 60, "beams": 4}, "Bonjour.")
    True
    >>> k == cache_key("summary", "m", "r2", {"beams": 4, "len": 60}, "Bonjour.")
    False
    >>> k.kind, len(k.digest)
    ('summary', 64)
    """
    try:
        payload = canonical_json(
            {
                "v": KEY_VERSION,
                "kind": kind,
                "model": model,
                "revision": revision,
                "params": params,
                "input": text_sha256(text),
            }
        )
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cache params must be JSON-serialisable (got {params!r}): {exc}") from exc
    return CacheKey(kind, hashlib.sha256(payload.encode("utf-8")).hexdigest())


# --- value encoding --------------------------------------------------------


def _encode(value: Any) -> tuple[str, str | None, bytes]:
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        meta = canonical_json({"dtype": array.dtype.str, "shape": list(array.shape)})
        return "ndarray", meta, array.tobytes()
    if isinstance(value, bytes | bytearray | memoryview):
        return "bytes", None, bytes(value)
    try:
        return "json", None, canonical_json(value).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"cache values must be JSON-compatible, bytes or numpy arrays, got {type(value).__name__}"
        ) from exc


def _decode(codec: str, meta: str | None, blob: bytes) -> Any:
    if codec == "json":
        return json.loads(blob)
    if codec == "bytes":
        return bytes(blob)
    if codec == "ndarray" and meta is not None:
        info = json.loads(meta)
        return np.frombuffer(bytearray(blob), dtype=np.dtype(info["dtype"])).reshape(info["shape"])
    raise CacheError(f"unknown value encoding {codec!r} in the cache")


def normalize_value(value: Any) -> Any:
    """The value as it reads back from the cache (tuples become lists, arrays little-endian).

    :func:`memoize_batch` returns freshly computed values in this form too, so a
    run gives the same outputs whether it hit the cache or not.

    >>> normalize_value({"spans": (1, 2)})
    {'spans': [1, 2]}
    """
    return _decode(*_encode(value))


# --- the stores ------------------------------------------------------------


class Cache(Protocol):
    """What stages may rely on: :class:`OutputCache` and :class:`NullCache` both provide it."""

    hits: int
    misses: int

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, Any]: ...
    def put_many(self, mapping: Mapping[CacheKey, Any]) -> None: ...
    def stats(self) -> CacheStats: ...
    def clear(self, kind: str | None = None) -> int: ...
    def close(self) -> None: ...


class OutputCache:
    """Model outputs in one SQLite file, safe to share between processes.

    ``hits`` and ``misses`` count distinct keys looked up by this instance.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        in_memory = str(path) == ":memory:"
        if not in_memory:
            self.path = self.path.expanduser()
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CacheError(f"cannot create the cache directory {self.path.parent}: {exc}") from exc
        # isolation_level=None: no implicit transactions; we issue BEGIN IMMEDIATE ourselves.
        self._db = sqlite3.connect(
            ":memory:" if in_memory else self.path,
            timeout=_BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            self._retry(self._set_up)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise CacheError(
                f"{self.path} is not a usable pipeline cache ({exc}); "
                "delete it or point cache.path / $PIPELINE_CACHE elsewhere"
            ) from exc

    def _set_up(self) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
        db.execute("PRAGMA journal_mode = WAL")  # readers never block writers, and vice versa
        db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a crash loses no committed data
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CacheError(
                f"{self.path} was written by a newer pipeline (cache schema {version}); "
                "upgrade, or clear it with `pipeline cache --clear`"
            )
        if version < SCHEMA_VERSION:
            with self._transaction():
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # --- plumbing ---

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")  # take the write lock now, not halfway through
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # also after a failed COMMIT, so a retry can BEGIN again
                self._db.execute("ROLLBACK")
            raise

    def _retry(self, operation: Callable[..., V], *args: Any) -> V:
        """Run ``operation`` again when another process holds a lock the busy timeout did not cover."""
        for attempt in range(_RETRIES):
            try:
                with self._lock:
                    return operation(*args)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) is None or (exc.sqlite_errorcode & 0xFF) not in (
                    sqlite3.SQLITE_BUSY,
                    sqlite3.SQLITE_LOCKED,
                ):
                    raise
                if attempt == _RETRIES - 1:
                    raise CacheError(f"the cache {self.path} stayed locked: {exc}") from exc
                time.sleep(random.uniform(0.01, 0.05) * 2**attempt)
        raise AssertionError("unreachable")

    # --- the API ---

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, Any]:
        """The cached values of ``keys`` that are present; absent keys are left out."""
        wanted = {k.digest: k for k in keys}
        found: dict[CacheKey, Any] = {}
        digests = list(wanted)
        for start in range(0, len(digests), _CHUNK):
            chunk = digests[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, codec, meta, value FROM outputs WHERE key IN ({marks})"
            rows = self._retry(self._fetch, query, chunk)
            for digest, codec, meta, blob in rows:
                found[wanted[digest]] = _decode(codec, meta, blob)
        self.hits += len(found)
        self.misses += len(wanted) - len(found)
        return found

    def put_many(self, mapping: Mapping[CacheKey, Any]) -> None:
        """Store values; a key already present keeps its first value."""
        now = time.time()
        rows = [(k.digest, k.kind, *_encode(v), now) for k, v in mapping.items()]
        for start in range(0, len(rows), _CHUNK):
            self._retry(self._insert, rows[start : start + _CHUNK])

    def _fetch(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._db.execute(query, params).fetchall()

    def _insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO outputs (key, kind, codec, meta, value, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def stats(self) -> CacheStats:
        rows = self._retry(
            self._fetch,
            "SELECT kind, COUNT(*), COALESCE(SUM(LENGTH(value)), 0) FROM outputs GROUP BY kind ORDER BY kind",
        )
        by_kind = {kind: (n, size) for kind, n, size in rows}
        return CacheStats(sum(n for n, _ in by_kind.values()), sum(s for _, s in by_kind.values()), by_kind)

    def clear(self, kind: str | None = None) -> int:
        """Delete every entry (or every entry of ``kind``); returns how many were deleted."""

        def delete() -> int:
            with self._transaction() as db:
                if kind is None:
                    return db.execute("DELETE FROM outputs").rowcount
                return db.execute("DELETE FROM outputs WHERE kind = ?", (kind,)).rowcount

        return self._retry(delete)

    def vacuum(self) -> bool:
        """Give freed pages back to the file system; False if another process is using the cache."""
        try:
            with self._lock:
                self._db.execute("PRAGMA busy_timeout = 1000")
                try:
                    self._db.execute("VACUUM")
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                finally:
                    self._db.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
        except sqlite3.OperationalError:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> OutputCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OutputCache({str(self.path)!r})"


class NullCache:
    """The cache when ``cache.enabled`` is false: same API, stores nothing, every lookup misses."""

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, Any]:
        self.misses += len(set(keys))
        return {}

    def put_many(self, mapping: Mapping[CacheKey, Any]) -> None:
        for value in mapping.values():
            _encode(value)  # same type errors as the real cache

    def stats(self) -> CacheStats:
        return CacheStats(0, 0, {})

    def clear(self, kind: str | None = None) -> int:
        return 0

    def close(self) -> None:
        pass

    def __enter__(self) -> NullCache:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


# --- what stages call ------------------------------------------------------


def memoize_batch(
    cache: Cache,
    kind: str,
    model: str,
    revision: str | None,
    params: Mapping[str, Any],
    inputs: Sequence[str],
    compute: Callable[[list[str]], Sequence[V]],
) -> list[V]:
    """``compute(inputs)`` through the cache: one lookup, one ``compute`` call for the distinct misses.

    Results come back in input order.  Fresh results are returned as they will read
    back from the cache (:func:`normalize_value`), so cached and uncached runs agree.
    """
    keys = [cache_key(kind, model, revision, params, text) for text in inputs]
    results: dict[CacheKey, Any] = cache.get_many(keys)
    todo: dict[CacheKey, str] = {}
    for key, text in zip(keys, inputs, strict=True):
        if key not in results:
            todo.setdefault(key, text)
    if todo:
        fresh = list(compute(list(todo.values())))
        if len(fresh) != len(todo):
            raise ValueError(
                f"compute returned {len(fresh)} results for {len(todo)} inputs ({kind}, {model})"
            )
        computed = {key: normalize_value(value) for key, value in zip(todo, fresh, strict=True)}
        cache.put_many(computed)
        results.update(computed)
    return [results[key] for key in keys]


# --- settings and the `pipeline cache` command -----------------------------


def _cache_settings(settings: Settings | CacheSettings) -> CacheSettings:
    return settings.cache if isinstance(settings, Settings) else settings


def cache_path(settings: Settings | CacheSettings) -> Path:
    """``cache.path``, else ``$PIPELINE_CACHE``, else ``~/.cache/french-news-pipeline/cache.sqlite``."""
    configured = _cache_settings(settings).path or os.environ.get(ENV_VAR, "") or str(DEFAULT_PATH)
    return Path(configured).expanduser()


def open_cache(settings: Settings | CacheSettings) -> OutputCache | NullCache:
    """The cache the settings ask for (a :class:`NullCache` when it is disabled)."""
    if not _cache_settings(settings).enabled:
        return NullCache()
    return OutputCache(cache_path(settings))


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def cache_info(settings: Settings | CacheSettings) -> str:
    """A few lines for `pipeline cache`: where the cache is, its size, entries per kind."""
    path = cache_path(settings)
    lines = [f"cache: {path}"]
    if not _cache_settings(settings).enabled:
        lines.append("disabled (cache.enabled = false): outputs are neither read nor stored")
    if not path.exists():
        lines.append("empty (no cache file yet)")
        return "\n".join(lines)
    on_disk = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with OutputCache(path) as cache:
        stats = cache.stats()
    lines.append(f"{stats.entries} entries, {_human(stats.bytes)} of outputs, {_human(on_disk)} on disk")
    for kind, (n, size) in stats.by_kind.items():
        lines.append(f"  {kind:<14} {n:>8} entries {_human(size):>10}")
    return "\n".join(lines)


def clear_cache(settings: Settings | CacheSettings, kind: str | None = None) -> int:
    """Delete cached outputs (all, or one kind) and shrink the file; returns the entries deleted."""
    path = cache_path(settings)
    if not path.exists():
        return 0
    with OutputCache(path) as cache:
        removed = cache.clear(kind)
        cache.vacuum()
    return removed
