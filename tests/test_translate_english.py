"""The offline translator's English clean-up rules, one by one (pure functions, no Apertium)."""

from __future__ import annotations

import pytest

from pipeline.translate.english import (
    clean_english,
    fix_articles,
    fix_quotes,
    fix_words,
    lowercase_after_unknown_start,
    simple_past,
    their_for_leur,
)
from pipeline.translate.lexicon import wants_lookup


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a idea and a apple", "an idea and an apple"),
        ("an car, an house", "a car, a house"),
        ("a hour, a honest man", "an hour, an honest man"),
        ("an university, an European, an one-off", "a university, a European, a one-off"),
        ("A interview", "An interview"),
        ('a "important" deal', 'an "important" deal'),
        ("a FBI agent, a 8-year-old", "a FBI agent, a 8-year-old"),  # acronyms and digits: left alone
    ],
)
def test_a_an_agreement(before, after):
    assert fix_articles(before) == after


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("The deputies have refused the project.", "The deputies refused the project."),
        ("It has been signed and they have been told.", "It was signed and they were told."),
        ("He has taken it; she has not done it.", "He took it; she did not do it."),
        ("They have to go and have a house.", "They have to go and have a house."),  # not a perfect
        ("Has he seen it?", "Has he seen it?"),  # question: the auxiliary is not followed by a participle
    ],
)
def test_present_perfect_becomes_simple_past(before, after):
    assert simple_past(before) == after


def test_capital_after_unknown_sentence_start_is_undone_only_where_spanish_had_none():
    assert (
        lowercase_after_unknown_start("Tymosenko Has been condemned", "Tymosenko ha sido condenada")
        == "Tymosenko has been condemned"
    )
    assert lowercase_after_unknown_start("Muammar Kaddafi Is buried", "Muammar Kaddafi está enterrado") == (
        "Muammar Kaddafi is buried"
    )
    # a name after the unknown word keeps its capital, and so does a translated first word
    assert lowercase_after_unknown_start("Tymosenko Paris trip", "Tymosenko París viaje") == (
        "Tymosenko Paris trip"
    )
    assert lowercase_after_unknown_start("The cat sleeps", "El gato duerme") == "The cat sleeps"


def test_their_only_where_french_had_leur():
    assert (
        their_for_leur("They defend his rights.", "Ils défendent leurs droits.")
        == "They defend their rights."
    )
    assert their_for_leur("He defends his rights.", "Il défend ses droits.") == "He defends his rights."


def test_quotes_and_french_spacing():
    assert fix_quotes("He said « no » ; then : 5 %!") == 'He said "no"; then: 5%!'
    assert fix_quotes("a «quote»") == 'a "quote"'
    assert fix_quotes('the " vehicles"always') == 'the "vehicles" always'
    assert fix_quotes('"Only half", indicates the survey') == '"Only half," indicates the survey'
    assert fix_quotes('an odd " quote') == 'an odd " quote'  # unpaired: left alone


def test_pivot_idioms():
    assert fix_words("to leave of 14 hours, 220 billion of dollars, near of Paris, it can not") == (
        "from 14 hours, 220 billion dollars, near Paris, it cannot"
    )
    assert fix_words("millions of people") == "millions of people"  # no number: English as it is
    assert fix_words("He no #<prn> as of problem") == "He no as of problem"


def test_word_fixes_and_decimal_comma():
    assert fix_words("It declared a rise of 3,5 % equally among regions.") == (
        "It said a rise of 3.5 % also between regions."
    )
    assert fix_words("1,000 people") == "1.000 people"  # the source is French: a comma is decimal


def test_clean_english_applies_every_rule_and_is_idempotent():
    english = "Tymosenko Has declared « it is a error »."
    once = clean_english(
        english, "Tymosenko ha declarado « es un error ».", "Tymosenko a déclaré « c'est une erreur »."
    )
    assert once == 'Tymosenko said "it is an error."'  # the full stop goes inside, as English writes it
    assert clean_english(once) == once


def test_only_lowercase_words_are_looked_up():
    assert wants_lookup("désavantageux") and wants_lookup("aprisionada")
    assert not any(wants_lookup(w) for w in ("Tymosenko", "IBM", "4h", "de", "a1"))


def test_word_fixes_checked_by_their_text_first_change_nothing():
    from pipeline.translate.english import _WORD_FIXES

    def every_pattern(text: str) -> str:
        for _, pattern, replacement in _WORD_FIXES:
            text = pattern.sub(replacement, text)
        return text

    texts = [
        "He declared that the rate goes equally among 0,5 and 1 %, near of the zone euro.",
        "It can not rise to leave of 220 billions of dollars #<prn> or 3 millions of euros.",
        "Nothing to fix here, 1, 2 and <b> stay.",
        "The Among and Declared capitals stay; amongst and undeclared too.",
    ]
    for text in texts:
        assert fix_words(text) == every_pattern(text)
    for needed, pattern, _ in _WORD_FIXES:  # what a pattern matches holds its text
        for text in texts:
            assert all(needed in m.group(0) for m in pattern.finditer(every_pattern(text) + " " + text))
