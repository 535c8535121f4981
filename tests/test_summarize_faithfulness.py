"""The faithfulness guard: numbers, dates and names of a summary must be in its sources."""

from __future__ import annotations

import pytest

from pipeline.nlp import load_spacy
from pipeline.summarize.faithfulness import FactChecker, fold, numbers_in


@pytest.fixture(scope="module")
def checker(settings) -> FactChecker:
    return FactChecker(load_spacy(settings.summarize.spacy_model))


SOURCE = (
    "La délégation marocaine, composée de 15 participants, conduite par Sarah Lamrani, "
    "s'est rendue à Austin du 11 au 21 février 2024. Plusieurs entreprises ont formé "
    "plus de 75 000 étudiants marocains l'année dernière."
)


def test_number_words_match_digits(checker):
    result = checker("La délégation comptait quinze participants.", [SOURCE])
    assert ("number", "quinze", True) in result.facts
    assert result.unsupported == []


def test_digits_match_number_words(checker):
    result = checker("Elle comptait 15 membres.", ["La délégation comptait quinze membres."])
    assert result.unsupported == [] and result.checked == 1


@pytest.mark.parametrize("written", ["75.000", "75 000", "75000", "75\u202f000"])
def test_thousands_separators(checker, written):
    result = checker(f"Les entreprises ont formé {written} étudiants.", [SOURCE])
    assert result.unsupported == []
    assert result.checked == 1


def test_wrong_number_is_flagged(checker):
    result = checker("La délégation comptait seize participants et 80 000 étudiants.", [SOURCE])
    assert sorted(result.unsupported) == ["80 000", "seize"]


def test_invented_name_is_flagged(checker):
    result = checker("Jean Dupont a conduit la délégation à Austin.", [SOURCE])
    assert "Jean Dupont" in result.unsupported
    assert "Austin" not in result.unsupported


def test_accents_and_case_do_not_matter(checker):
    result = checker("SARAH LAMRANI s'est rendue aux Etats-Unis.", [SOURCE + " Les États-Unis."])
    assert result.unsupported == []
    assert result.checked >= 1


def test_dates_need_day_month_and_year(checker):
    assert checker("Visite du 11 au 21 février 2024.", [SOURCE]).unsupported == []
    assert checker("Visite le 3 mars 2024.", [SOURCE]).unsupported == ["3 mars 2024"]
    # The year alone is wrong here: still flagged.
    assert checker("Visite en février 2023.", [SOURCE]).unsupported == ["février 2023"]


def test_several_sources_are_pooled(checker):
    other = "Gretchen Krantz Evans, de l'USTDA."
    result = checker("Sarah Lamrani et Gretchen Krantz Evans.", [SOURCE, other])
    assert result.unsupported == []


def test_helpers():
    assert fold("Électricité’s") == "electricite's"
    assert numbers_in("une vingtaine de rencontres, 1,5 milliard") == {20.0, 1.5e9}


class _Picked:
    """A backend that returns the given sentences: what ``make_summaries`` checks them against is
    under test, not how they were chosen."""

    name, model, revision = "offline-extractive", None, None

    def __init__(self, sentences):
        self.sentences = sentences

    def params(self):
        return {}

    def summarize(self, groups):
        return [self.sentences for _ in groups]


def test_a_headline_is_checked_against_the_title_and_nothing_else_is(checker):
    from pipeline.records import Article, Occurrence, SummarySentence
    from pipeline.summarize import Group, make_summaries

    text = "Le conseil municipal a voté le budget mardi soir après un long débat."
    article = Article("a-1", "a", "", text, title="Lyon : 42 millions d'euros pour les écoles")
    headline = "Lyon : 42 millions d'euros pour les écoles."
    body = SummarySentence(text, [Occurrence("a-1", 0, len(text))])
    group = Group("article", "a-1", [article])

    titled = SummarySentence(headline, [Occurrence("a-1", 0, len(article.title), "title")])
    (summary,) = make_summaries([group], _Picked([titled, body]), checker)
    assert summary.unsupported == [] and summary.checked_facts >= 2  # "42 millions", "Lyon"

    # The same words claimed from the text: the title is no source, the figure is not found.
    claimed = SummarySentence(headline, [Occurrence("a-1", 0, len(text))])
    (summary,) = make_summaries([group], _Picked([claimed, body]), checker)
    assert any("42" in fact for fact in summary.unsupported)
