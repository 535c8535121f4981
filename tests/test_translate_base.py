"""translate_cached without a cache: each distinct sentence translated once, answers in input order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.cache import OutputCache
from pipeline.translate.base import Rendered, translate_cached


class Reverser:
    """A stand-in engine that records what it was asked (the text reversed is its "translation")."""

    backend = "reverser"
    model = "reverse"
    revision = "1"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def params(self) -> dict[str, Any]:
        return {}

    def translate(self, sentences: Sequence[str]) -> list[Rendered]:
        self.calls.append(list(sentences))
        return [Rendered(s[::-1]) for s in sentences]


def test_without_a_cache_repeats_are_translated_once_and_answers_keep_their_order():
    engine = Reverser()
    sentences = ["Un.", "Deux.", "Un.", "Trois.", "Deux."]
    rendered, stats = translate_cached(engine, sentences, None)
    assert [r.text for r in rendered] == [s[::-1] for s in sentences]
    assert engine.calls == [["Un.", "Deux.", "Trois."]]
    assert stats.translated == ["Un.", "Deux.", "Trois."] and stats.misses == 5 and stats.hits == 0


def test_with_a_cache_the_answers_are_the_same():
    sentences = ["Un.", "Deux.", "Un."]
    without, _ = translate_cached(Reverser(), sentences, None)
    with_cache, _ = translate_cached(Reverser(), sentences, OutputCache(":memory:"))
    assert [r.text for r in with_cache] == [r.text for r in without]


def test_a_disabled_cache_is_not_keyed(monkeypatch):
    from pipeline import cache as cache_module
    from pipeline.cache import NullCache
    from pipeline.translate import base

    def no_keys(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a NullCache needs no keys")

    monkeypatch.setattr(base, "translation_key", no_keys)
    monkeypatch.setattr(cache_module, "cache_key", no_keys)
    engine = Reverser()
    rendered, stats = translate_cached(engine, ["Un.", "Un.", "Deux."], NullCache())
    assert [r.text for r in rendered] == [".nU", ".nU", ".xueD"] and engine.calls == [["Un.", "Deux."]]
    assert stats.misses == 3 and not NullCache().in_use and OutputCache(":memory:").in_use
