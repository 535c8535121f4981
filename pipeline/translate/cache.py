"""Sentence-level translation cache: re-runs only translate sentences not seen before.

A translation is keyed by everything that decides it: the engine (backend,
model, revision), the output-affecting parameters and the sha256 of the source
sentence (:func:`translation_key`, built with the shared :func:`pipeline.cache.cache_key`
under the kind ``"translation"``).  The stage needs only ``get_many`` /
``put_many`` (the :class:`TranslationCache` protocol): the shared SQLite
:class:`pipeline.cache.OutputCache` provides them, and so does the in-process
:class:`MemoryCache` used when a caller wants a private cache.

>>> cache = MemoryCache()
>>> key = translation_key("neural", "Helsinki-NLP/opus-mt-fr-en", "abc", {"beam_size": 4}, "Bonjour.")
>>> cache.put_many({key: {"text": "Hello."}})
>>> cache.get_many([key]) == {key: {"text": "Hello."}}
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from pipeline.cache import CacheKey, cache_key, normalize_value

KIND = "translation"


@runtime_checkable
class TranslationCache(Protocol):
    """What the translate stage needs from a cache: batched get and put."""

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, Any]:
        """The cached value of every key that is present (absent keys are left out)."""
        ...

    def put_many(self, mapping: Mapping[CacheKey, Any]) -> None:
        """Store every key → value pair (JSON-compatible values)."""
        ...


class MemoryCache:
    """A dict-backed :class:`TranslationCache` that lives as long as the object."""

    def __init__(self) -> None:
        self._data: dict[CacheKey, Any] = {}

    def __len__(self) -> int:
        return len(self._data)

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, Any]:
        return {k: self._data[k] for k in keys if k in self._data}

    def put_many(self, mapping: Mapping[CacheKey, Any]) -> None:
        for key, value in mapping.items():
            self._data.setdefault(key, normalize_value(value))  # first write wins, as in OutputCache


def translation_key(
    backend: str, model: str | None, revision: str | None, params: Mapping[str, Any], sentence: str
) -> CacheKey:
    """The key of one sentence's translation by one engine with one set of parameters."""
    return cache_key(KIND, f"{backend}:{model}", revision, params, sentence)
