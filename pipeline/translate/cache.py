"""Sentence-level translation cache: re-runs only translate sentences not seen before.

A translation is keyed by everything that decides it: the engine (backend, model,
revision), the output-affecting parameters and the sha256 of the source sentence.
The stage talks to any object with ``get_many`` / ``put_many`` (the
:class:`TranslationCache` protocol), so the shared SQLite cache plugs in unchanged;
:class:`MemoryCache` is the in-process default.

>>> cache = MemoryCache()
>>> key = cache_key("neural", "Helsinki-NLP/opus-mt-fr-en", "abc", {"beam_size": 4}, "Bonjour.")
>>> cache.put_many({key: "Hello."})
>>> cache.get_many([key, "missing"])
{'...': 'Hello.'}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TranslationCache(Protocol):
    """What the translate stage needs from a cache: batched get and put of strings."""

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        """Return the cached value of every key that is present (absent keys are left out)."""
        ...

    def put_many(self, items: Mapping[str, str]) -> None:
        """Store (or overwrite) every key → value pair."""
        ...


class MemoryCache:
    """A dict-backed :class:`TranslationCache` that lives as long as the process."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._data)

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        return {k: self._data[k] for k in keys if k in self._data}

    def put_many(self, items: Mapping[str, str]) -> None:
        self._data.update(items)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(
    backend: str, model: str | None, revision: str | None, params: Mapping[str, Any], sentence: str
) -> str:
    """A stable key for one sentence's translation by one engine with one set of parameters."""
    identity = json.dumps(
        ["translate", backend, model, revision, dict(params), sha256_text(sentence)],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return "translate:" + sha256_text(identity)
