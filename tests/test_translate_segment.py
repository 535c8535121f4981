"""Clause splitting, text segmentation, batching order and cache keys (no model needed)."""

from __future__ import annotations

import random

import pytest

from pipeline.cache import OutputCache
from pipeline.records import Span
from pipeline.translate.base import engine_code, sorted_batches, translation_key
from pipeline.translate.documents import join_clause_cuts
from pipeline.translate.segment import segment_text, split_clauses, split_sentences

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
    text = "Le ministre est arrivé. Il a parlé longuement.\n\n\n  La séance a été levée à midi.\n"
    paragraphs = segment_text(text)
    assert [[text[a:b] for a, b in para] for para in paragraphs] == [
        ["Le ministre est arrivé.", "Il a parlé longuement."],
        ["La séance a été levée à midi."],
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "Au Royaume-Uni, des évêques ont écrit à M. Cameron.",
        "« Nous ne partirons pas. Jamais. » a-t-il dit en quittant la salle.",
        'Le président a dit "Non. Pas maintenant." avant de partir.',
        "Selon J. K. Rowling, le livre coûte 3,5 euros (env. 4 dollars).",
        "Il est arrivé à 8 h. à la gare, puis il est reparti...",
        "Le p. 12 du rapport cite Mme Dupont, directrice de la St. Mary School.",
    ],
)
def test_sentence_splitter_never_cuts_inside_a_sentence(sentence):
    assert [sentence[a:b] for a, b in split_sentences(sentence)] == [sentence]


def test_sentence_splitter_cuts_at_sentence_ends():
    text = "Il pleut. « Le vent souffle. » 3 bateaux sont rentrés ! Pourquoi ? Personne ne sait…  Fin."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "Il pleut.",
        "« Le vent souffle. »",
        "3 bateaux sont rentrés !",
        "Pourquoi ?",
        "Personne ne sait…",
        "Fin.",
    ]


def test_ingest_cuts_mid_clause_are_joined_again():
    text = "Au Royaume-Uni, des évêques ont écrit « à la reine ». Elle a répondu. puis rien."
    cuts = [Span(0, 9), Span(10, 53), Span(54, 69), Span(70, 80)]  # a statistical segmenter's
    assert [text[s.start : s.end] for s in join_clause_cuts(text, cuts)] == [
        "Au Royaume-Uni, des évêques ont écrit « à la reine ».",
        "Elle a répondu. puis rien.",
    ]


def test_translation_cache_key_carries_the_engine_code_version(monkeypatch):
    from pipeline.fingerprints import code_version
    from pipeline.translate import base
    from pipeline.translate.apertium import ApertiumTranslator

    engine = ApertiumTranslator.__new__(ApertiumTranslator)  # no Apertium needed to name its code
    assert engine_code(engine) == code_version(["pipeline.translate.apertium"])
    params = {"pivot": ["fr-es", "spa-eng"]}
    key = translation_key("apertium", "m", "v1", params, "Bonjour.", engine_code(engine))
    # new translation code: another key, so no stale translation is served
    base._module_code.cache_clear()
    monkeypatch.setattr(base, "code_version", lambda modules: "changed")
    assert engine_code(engine) == "changed"
    assert translation_key("apertium", "m", "v1", params, "Bonjour.", engine_code(engine)) != key
    base._module_code.cache_clear()


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
        ("neural", "m", "r1", {"beam_size": 4}, "Bonjour.", "other code"),
    ):
        assert translation_key(*changed) != key
    with OutputCache(":memory:") as cache:
        cache.put_many({key: {"text": "Hello."}})
        cache.put_many({key: {"text": "Other."}})  # first write wins
        assert cache.get_many([key]) == {key: {"text": "Hello."}}
