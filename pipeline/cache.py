"""A cache of model outputs (ingest documents, embeddings, summaries, translations) shared across runs.

Model calls are the expensive part of a run.  Their outputs are stored in one
SQLite file, keyed by :func:`cache_key`, the one key policy: the output ``kind``;
the ``model`` and its ``revision``; the ``params`` that change the output (batch
size too where it does, as under beam search); ``code``, the version of the code
that computes it (:func:`pipeline.fingerprints.code_version`); and the SHA-256 of
the input text.  Stages call :func:`memoize_batch`.

Values are JSON-compatible objects, ``bytes`` or numpy arrays, stored with a
checksum of their key and bytes that is verified on read (a failing value is a
miss, and the fresh value replaces it); the first value stored for a key wins.
A damaged file is set aside (``<path>.damaged``) and rebuilt, a full or unwritable
one stops storing, a file that is not a cache is bypassed: each with a
:class:`CacheWarning`, never an exception.  Several processes may share the file
(WAL mode, short ``BEGIN IMMEDIATE`` transactions, ``INSERT OR IGNORE``); a killed
one loses only its uncommitted transaction.

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
import logging
import os
import random
import sqlite3
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from pipeline.settings import CacheSettings, Settings

V = TypeVar("V")

KEY_VERSION = 1  # bump to invalidate every key (e.g. if the value encoding changes)
SCHEMA_VERSION = 2  # 2: values carry a checksum
ENV_VAR = "PIPELINE_CACHE"
DEFAULT_PATH = Path("~/.cache/french-news-pipeline/cache.sqlite")
_CHUNK = 256  # rows per transaction: other writers wait little, and few bound parameters
_BUSY_MS = 30_000
_RETRIES = 8  # after the busy timeout: SQLITE_BUSY while switching to WAL, stale snapshots
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS outputs (
        key     TEXT PRIMARY KEY,
        kind    TEXT NOT NULL,
        codec   TEXT NOT NULL,   -- json | bytes | ndarray
        meta    TEXT,            -- ndarray: {"dtype": "<f4", "shape": [384]}
        value   BLOB NOT NULL,
        created REAL NOT NULL,
        checksum TEXT NOT NULL   -- value_checksum() of key, codec, meta and value
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS outputs_kind ON outputs (kind)",
)
_log = logging.getLogger(__name__)


class CacheError(RuntimeError):
    """The cache file cannot be used (not a cache, newer schema, unwritable)."""


class CacheDamagedError(CacheError):
    """The cache file is an SQLite database with damaged pages: it can be rebuilt."""


class CacheWarning(RuntimeWarning):
    """The cache could not be used as asked (damaged, full, tampered); the run goes on without it."""


def _warn(message: str) -> None:
    _log.warning(message)
    warnings.warn(message, CacheWarning, stacklevel=3)


class CacheKey(NamedTuple):
    kind: str  # for stats and clearing
    digest: str


class CacheStats(NamedTuple):
    entries: int
    bytes: int  # stored value bytes (the file on disk is somewhat larger)
    by_kind: dict[str, tuple[int, int]]  # kind -> (entries, bytes)


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace, so equal params always hash equally.

    >>> canonical_json({"b": 1, "a": [1.5, "é"]})
    '{"a":[1.5,"é"],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def cache_key(
    kind: str, model: str, revision: str | None, params: Mapping[str, Any], text: str, code: str | None = None
) -> CacheKey:
    """The key of one model output: every input that can change it, hashed together (the key policy)."""
    fields = {"v": KEY_VERSION, "kind": kind, "model": model, "revision": revision, "params": params}
    fields["input"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if code is not None:  # absent rather than null: keys made before `code` existed stay valid
        fields["code"] = code
    try:
        payload = canonical_json(fields)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cache params must be JSON-serialisable (got {params!r}): {exc}") from exc
    return CacheKey(kind, hashlib.sha256(payload.encode("utf-8")).hexdigest())


def value_checksum(digest: str, codec: str, meta: str | None, blob: bytes) -> str:
    """What a stored value is checked against on read: bound to its key, so a value moved is caught too."""
    h = hashlib.blake2b(digest_size=16)
    for part in (digest, codec, meta or ""):
        h.update(part.encode() + b"\0")
    h.update(blob)
    return h.hexdigest()


def _encode(value: Any) -> tuple[str, str | None, bytes]:
    # numpy is imported only where arrays exist (~0.1 s of start-up for `pipeline translate --text`)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray):
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
        import numpy as np

        info = json.loads(meta)
        return np.frombuffer(bytearray(blob), dtype=np.dtype(info["dtype"])).reshape(info["shape"])
    raise CacheError(f"unknown value encoding {codec!r} in the cache")


def normalize_value(value: Any) -> Any:
    """The value as it reads back from the cache (tuples become lists, arrays little-endian).

    >>> normalize_value({"spans": (1, 2)})
    {'spans': [1, 2]}
    """
    return _decode(*_encode(value))


def _set_aside(path: Path) -> None:
    """Move a damaged cache file to ``<path>.damaged`` (replacing an older one) and drop its WAL."""
    os.replace(path, f"{path}.damaged")
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _error_code(exc: BaseException) -> int | None:
    """The primary SQLite result code of an error (``SQLITE_FULL``, ``SQLITE_CORRUPT`` …), if known."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


class OutputCache:
    """Model outputs in one SQLite file, shared by processes and threads (do not carry it across fork).

    ``hits`` and ``misses`` count distinct keys looked up by this instance.  Opening
    raises :class:`CacheError` for a file that cannot be a cache (:class:`CacheDamagedError`
    for a damaged one); once open, it warns and rebuilds or stops storing instead of raising.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self._in_memory = str(path) == ":memory:"
        self.path = Path(path) if self._in_memory else Path(path).expanduser()
        self.hits = self.misses = 0
        self._lock = threading.Lock()
        self._reads = self._writes = True  # off once the file proved unusable / full or unwritable
        if not self._in_memory:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CacheError(f"cannot create the cache directory {self.path.parent}: {exc}") from exc
        self._connect()

    def _connect(self) -> None:
        # isolation_level=None: no implicit transactions; _transaction issues BEGIN IMMEDIATE.
        self._db = sqlite3.connect(
            str(self.path), timeout=_BUSY_MS / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            self._retry(self._set_up)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise (CacheDamagedError if _is_sqlite(self.path) else CacheError)(
                f"{self.path} is not a usable pipeline cache ({exc}); "
                "delete it or point cache.path / $PIPELINE_CACHE elsewhere"
            ) from exc

    def _set_up(self) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
        db.execute("PRAGMA journal_mode = WAL")  # readers never block writers, and vice versa
        db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a crash loses no committed data
        if self._schema_version() > SCHEMA_VERSION:
            raise CacheError(
                f"{self.path} was written by a newer pipeline (cache schema {self._schema_version()}); "
                "upgrade, or clear it with `pipeline cache --clear`"
            )
        if self._schema_version() < SCHEMA_VERSION:
            with self._transaction():
                if self._schema_version() < SCHEMA_VERSION:  # another process may have just done it
                    db.execute("DROP TABLE IF EXISTS outputs")  # schema 1 had no checksums
                    for statement in _SCHEMA:
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

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
        """Run ``operation`` again while another process holds a lock the busy timeout did not cover."""
        for attempt in range(_RETRIES):
            try:
                with self._lock:
                    return operation(*args)
            except sqlite3.OperationalError as exc:
                if _error_code(exc) not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise
                if attempt == _RETRIES - 1:
                    raise CacheError(f"the cache {self.path} stayed locked: {exc}") from exc
                time.sleep(random.uniform(0.01, 0.05) * 2**attempt)
        raise AssertionError("unreachable")

    def _guarded(self, operation: Callable[..., V], *args: Any) -> V | None:
        """:meth:`_retry`, where a failing file is dealt with (and None returned) instead of raised."""
        try:
            return self._retry(operation, *args)
        except (sqlite3.DatabaseError, CacheError) as exc:
            code = _error_code(exc)
            if code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR):
                self._writes = False
                _warn(
                    f"the cache {self.path} cannot store more outputs ({exc}: disk full or unwritable?); "
                    "this run goes on without storing"
                )
            elif code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
                self._rebuild(str(exc))
            else:
                self._reads = self._writes = False
                _warn(f"the cache {self.path} failed ({exc}); this run goes on without it")
            return None

    def _rebuild(self, reason: str) -> None:
        """Set a damaged cache file aside (``<path>.damaged``) and start an empty one in its place."""
        _warn(
            f"the cache {self.path} is damaged ({reason}); it is set aside as {self.path}.damaged and rebuilt"
        )
        with self._lock:
            self._db.close()
        try:
            if self._in_memory:
                raise CacheError("an in-memory cache cannot be rebuilt")
            _set_aside(self.path)
            self._connect()
        except (OSError, CacheError) as exc:
            self._reads = self._writes = False
            _warn(f"the cache {self.path} could not be rebuilt ({exc}); this run goes on without it")

    @property
    def in_use(self) -> bool:
        """Whether lookups or stores can still reach the file (False for a :class:`NullCache`)."""
        return self._reads or self._writes

    def _fetch(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._db.execute(query, params).fetchall()

    def _write(self, statement: str, rows: Sequence[Sequence[Any]]) -> bool:
        with self._transaction() as db:
            db.executemany(statement, rows)
        return True

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, Any]:
        """The cached values of ``keys`` that are present and sound; absent or failing keys are left out."""
        wanted = {k.digest: k for k in keys}
        found: dict[CacheKey, Any] = {}
        bad: list[tuple[str, str]] = []
        digests = list(wanted) if self._reads else []
        for start in range(0, len(digests), _CHUNK):
            chunk = digests[start : start + _CHUNK]
            query = "SELECT key, codec, meta, value, checksum FROM outputs WHERE key IN ({})"
            rows = self._guarded(self._fetch, query.format(",".join("?" * len(chunk))), chunk)
            if rows is None:  # the file failed: what was found so far is sound
                break
            for digest, codec, meta, blob, checksum in rows:
                if value_checksum(digest, codec, meta, blob) == checksum:
                    found[wanted[digest]] = _decode(codec, meta, blob)
                else:
                    bad.append((digest, checksum))
        if bad:  # a damaged file is rebuilt; altered rows are deleted (only if unchanged meanwhile)
            quick_check = self._guarded(self._fetch, "PRAGMA quick_check(1)")
            if quick_check is not None and quick_check != [("ok",)]:
                self._rebuild(f"{len(bad)} value(s) fail their checksum, and {quick_check[0][0]}")
            elif quick_check is not None:
                _warn(
                    f"{len(bad)} value(s) in the cache {self.path} fail their checksum: recomputed, replaced"
                )
                if self._writes:
                    self._guarded(self._write, "DELETE FROM outputs WHERE key = ? AND checksum = ?", bad)
        self.hits += len(found)
        self.misses += len(wanted) - len(found)
        return found

    def put_many(self, mapping: Mapping[CacheKey, Any]) -> None:
        """Store values; a key already present keeps its first value."""
        now = time.time()
        rows = []
        for key, value in mapping.items():
            codec, meta, blob = _encode(value)
            rows.append(
                (key.digest, key.kind, codec, meta, blob, now, value_checksum(key.digest, codec, meta, blob))
            )
        insert = "INSERT OR IGNORE INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?)"  # in _SCHEMA's column order
        for start in range(0, len(rows), _CHUNK):
            if not self._writes or self._guarded(self._write, insert, rows[start : start + _CHUNK]) is None:
                return

    def stats(self) -> CacheStats:
        query = (
            "SELECT kind, COUNT(*), COALESCE(SUM(LENGTH(value)), 0) FROM outputs GROUP BY kind ORDER BY kind"
        )
        by_kind = {kind: (n, size) for kind, n, size in self._retry(self._fetch, query)}
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
                    self._db.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
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
        return f"{type(self).__name__}({str(self.path)!r})"


class NullCache(OutputCache):
    """The cache when ``cache.enabled`` is false: stores nothing, every lookup misses."""

    def __init__(self) -> None:
        super().__init__(":memory:")
        self._reads = self._writes = False  # values are still encoded: same type errors as the real one


Cache = OutputCache  # what stages take (a NullCache is one)


def memoize_batch(
    cache: Cache,
    kind: str,
    model: str,
    revision: str | None,
    params: Mapping[str, Any],
    inputs: Sequence[str],
    compute: Callable[[list[str]], Sequence[V]],
    *,
    code: str | None = None,
) -> list[V]:
    """``compute(inputs)`` through the cache: one lookup, one ``compute`` call for the distinct misses.

    Keys follow :func:`cache_key`; results come back in input order, fresh ones as they
    will read back from the cache (:func:`normalize_value`), so cached and uncached runs agree.
    """
    keys = [cache_key(kind, model, revision, params, text, code) for text in inputs]
    results: dict[CacheKey, Any] = cache.get_many(keys)
    todo = {key: text for key, text in zip(keys, inputs, strict=True) if key not in results}
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


def open_cache(settings: Settings | CacheSettings) -> OutputCache:
    """The cache the settings ask for; a :class:`NullCache` when it is disabled or unusable.

    A damaged file is set aside and rebuilt; a file that is not a cache (or a newer
    one) is left alone and bypassed; both with a :class:`CacheWarning`.
    """
    if not _cache_settings(settings).enabled:
        return NullCache()
    path = cache_path(settings)
    try:
        try:
            return OutputCache(path)
        except CacheDamagedError as exc:
            _warn(f"{exc}; it is set aside as {path}.damaged and rebuilt")
            _set_aside(path)
            return OutputCache(path)
    except (OSError, CacheError) as exc:
        _warn(f"{exc}; this run goes on without a cache")
    return NullCache()


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def cache_info(settings: Settings | CacheSettings) -> str:
    """A few lines for `pipeline cache`: where the cache is, its size, entries per kind."""
    path = cache_path(settings)
    lines = [f"cache: {path}"]
    if not _cache_settings(settings).enabled:
        lines.append("disabled (cache.enabled = false): outputs are neither read nor stored")
    if not path.exists():
        return "\n".join([*lines, "empty (no cache file yet)"])
    on_disk = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    try:
        with OutputCache(path) as cache:
            stats = cache.stats()
    except (CacheError, sqlite3.DatabaseError) as exc:
        return "\n".join([*lines, f"unusable ({exc}); runs set a damaged cache aside and rebuild it"])
    lines.append(f"{stats.entries} entries, {_human(stats.bytes)} of outputs, {_human(on_disk)} on disk")
    lines += [f"  {kind:<14} {n:>8} entries {_human(size):>10}" for kind, (n, size) in stats.by_kind.items()]
    return "\n".join(lines)


def clear_cache(settings: Settings | CacheSettings, kind: str | None = None) -> int:
    """Delete cached outputs (all, or one kind) and shrink the file; returns the entries deleted."""
    path = cache_path(settings)
    if not path.exists():
        return 0
    try:
        cache = OutputCache(path)
    except CacheDamagedError:
        _set_aside(path)  # nothing can be read from it: clearing it is starting again
        return 0
    with cache:
        removed = cache.clear(kind)
        cache.vacuum()
    return removed
