"""What every translation engine provides, and the helpers they share.

An engine turns a list of French sentences into a list of :class:`Rendered`
English sentences, in the same order.  Engines know nothing of articles, records
or caches: :func:`translate_cached` adds the shared output cache
(:mod:`pipeline.cache`), the stage adds the records.

A cached translation is keyed by everything that decides it, after the cache's
key policy (:func:`translation_key`, :mod:`pipeline.cache`): the engine
(backend, model, revision), its output-affecting parameters, the files of a
local model directory, the version of the engine's code (:func:`engine_code`:
new code, new translations) and the sentence.

>>> sorted_batches([3, 10, 1, 7], batch_size=2)
[[1, 3], [0, 2]]
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipeline.cache import Cache, CacheKey, cache_key
from pipeline.fingerprints import code_version, local_files
from pipeline.progress import progress

KIND = "translation"  # the cache's kind for sentence translations


class TranslationError(RuntimeError):
    """An engine failed on input it should have handled (not a missing model)."""


@dataclass(frozen=True)
class Rendered:
    """One translated sentence and what happened to it on the way."""

    text: str
    split: bool = False  # the source was split at clause boundaries to fit the input limit
    unknown: tuple[str, ...] = ()  # words the engine could not translate (Apertium marks)

    def to_value(self) -> dict[str, Any]:
        """The JSON-compatible form stored in the cache."""
        return {"text": self.text, "split": self.split, "unknown": list(self.unknown)}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Rendered:
        return cls(str(value["text"]), bool(value.get("split", False)), tuple(value.get("unknown", ())))


class SentenceTranslator(Protocol):
    """A French→English sentence translation engine.

    ``backend``, ``model`` and ``revision`` are read-only here (properties), so an
    engine may declare them more precisely: ``model: str`` satisfies ``str | None``.
    """

    @property
    def backend(self) -> str:
        """``"neural"``, ``"ct2"`` or ``"apertium"``: recorded in every Provenance."""
        ...

    @property
    def model(self) -> str | None:
        """Hub id, local directory or tool name."""
        ...

    @property
    def revision(self) -> str | None:
        """Commit sha or package versions."""
        ...

    def params(self) -> dict[str, Any]:
        """The settings that change the output (cache key and provenance)."""
        ...

    def translate(self, sentences: Sequence[str]) -> list[Rendered]:
        """Translate ``sentences``; the result has the same length and order."""
        ...


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    translated: list[str] = field(default_factory=list)  # the sentences actually sent to the engine


# Sentences per engine call and cache commit: big enough to keep neural batches busy, small
# enough that a kill loses under a minute of work.  An engine whose calls have a fixed cost
# (Apertium starts a dozen processes per call) says how many it wants (``sentences_per_call``).
_COMMIT_EVERY = 512


def translation_key(
    backend: str,
    model: str | None,
    revision: str | None,
    params: Mapping[str, Any],
    sentence: str,
    code: str | None = None,
) -> CacheKey:
    """The key of one sentence's translation by one engine (and engine code) with one set of parameters."""
    return cache_key(KIND, f"{backend}:{model}", revision, params, sentence, code=code)


def cache_params(translator: SentenceTranslator) -> dict[str, Any]:
    """The engine's parameters plus the files of a local model directory (retrained in place)."""
    params = translator.params()
    files = local_files(translator.model) if translator.model else None
    return {**params, "local_files": files} if files else params


@functools.cache
def _module_code(module: str) -> str:
    return code_version([module])


def engine_code(translator: SentenceTranslator) -> str:
    """The version of the code that makes ``translator``'s output: its module and what it imports.

    The offline engine's code is its model (rules, routes, clean-up); a neural
    engine's decides how sentences are split, batched and decoded.
    """
    return _module_code(type(translator).__module__)


def translate_cached(
    translator: SentenceTranslator, sentences: Sequence[str], cache: Cache | None
) -> tuple[list[Rendered], CacheStats]:
    """Translate ``sentences``, reusing cached translations and each distinct sentence once."""
    stats = CacheStats()
    keys: list[CacheKey] | list[str]
    found: dict[Any, Rendered] = {}
    if cache is not None and not cache.in_use:
        cache = None  # a NullCache (cache.enabled = false), or a file that failed: nothing to key
    if cache is not None:
        params = cache_params(translator)
        code = engine_code(translator)
        keys = [
            translation_key(translator.backend, translator.model, translator.revision, params, s, code)
            for s in sentences
        ]
        found = {k: Rendered.from_value(v) for k, v in cache.get_many(list(dict.fromkeys(keys))).items()}
    else:  # nothing to look up: the sentence tells repeats apart (hashing 3,000 keys delayed the start)
        keys = list(sentences)
    todo: dict[Any, str] = {}  # key -> sentence, first occurrence order
    for key, sentence in zip(keys, sentences, strict=True):
        if key in found:
            stats.hits += 1
        else:
            stats.misses += 1
            todo.setdefault(key, sentence)
    stats.translated = list(todo.values())
    pending = list(todo.items())
    # Committed chunk by chunk: a run killed halfway keeps the translations it had made.
    every = int(getattr(translator, "sentences_per_call", _COMMIT_EVERY))
    for start in progress(range(0, len(pending), every), "translate", unit="chunk"):
        chunk = dict(pending[start : start + every])
        fresh = translator.translate(list(chunk.values()))
        if len(fresh) != len(chunk):
            raise TranslationError(
                f"{translator.backend} returned {len(fresh)} translations for {len(chunk)}"
            )
        new = dict(zip(chunk, fresh, strict=True))
        found.update(new)
        if cache is not None:
            cache.put_many({k: r.to_value() for k, r in new.items()})
    return [found[k] for k in keys], stats


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first), to minimise padding.

    Callers translate batch by batch and write each result back at its index,
    which restores the input order.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
