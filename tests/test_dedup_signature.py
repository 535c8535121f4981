"""Event signature: days resolved against the publication date, key figures, and pair decisions.

Texts are written for these tests (no seed article, no dev-set article).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from pipeline.dedup import dedup_articles
from pipeline.dedup.signature import compare, event_days, key_figures, signature_of, stance
from pipeline.records import Article, DateInfo, Paragraph, Sentence

THURSDAY = dt.date(2024, 3, 7)


def _days(text: str, published: dt.date = THURSDAY) -> list[tuple[str, str]]:
    return [(start.isoformat(), end.isoformat()) for _, start, end in event_days(text, published)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Le conseil s'est réuni hier.", [("2024-03-06", "2024-03-06")]),
        ("Avant-hier, la police a arrêté deux hommes.", [("2024-03-05", "2024-03-05")]),
        ("Le ministre a annoncé mardi une réforme.", [("2024-03-05", "2024-03-05")]),
        ("Le ministre a annoncé jeudi une réforme.", [("2024-03-07", "2024-03-07")]),  # the same day
        ("Samedi dernier, le club a gagné.", [("2024-03-02", "2024-03-02")]),
        ("Le sommet se tiendra samedi.", [("2024-03-09", "2024-03-09")]),  # future verb: next Saturday
        ("Le vote aura lieu mardi prochain.", [("2024-03-12", "2024-03-12")]),
        ("La grève est prévue la semaine prochaine.", [("2024-03-11", "2024-03-17")]),
        ("Dans la nuit de samedi à dimanche, un incendie.", [("2024-03-02", "2024-03-03")]),
        ("Le 28 février, le texte a été adopté.", [("2024-02-28", "2024-02-28")]),
        ("Aucune date ici.", []),
    ],
)
def test_event_days_resolve_against_the_publication_date(text, expected):
    assert _days(text) == expected


def test_relative_days_need_a_publication_date():
    assert event_days("Le conseil s'est réuni hier, et mardi.", None) == []
    assert [d[1] for d in event_days("Le 3 mars 2021, hier.", None)] == [dt.date(2021, 3, 3)]


def test_key_figures_and_their_subjects():
    figures = key_figures(
        "Lyon a battu Nantes 3-1 devant 41.250 spectateurs ; le club vise 12,5 % de recettes "
        "en plus, soit 2,5 millions d'euros, et compte six blessés."
    )
    assert figures == {
        "score": (301.0,),
        "spectateur": (41250.0,),
        "pourcent": (12.5,),
        "euro": (2_500_000.0,),
        "blesse": (6.0,),
    }
    # Dates, years and clock times are not figures; nor are counts of time, plural or not.
    assert key_figures("Le 12 mars 2024 à 14h30, puis du 10-12 avril, en 2023.") == {}
    assert key_figures("Un phénomène vu une ou deux fois par an, trois mois de travaux, dix ans.") == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L'éclipse traversera l'Afrique dimanche.", "ahead"),
        ("La tempête devrait toucher la côte mercredi.", "ahead"),
        ("Le cyclone va frapper l'Inde.", "ahead"),
        ("Les deux équipes se retrouveront samedi.", "ahead"),
        ("L'éclipse a traversé l'Afrique dimanche.", "after"),
        ("L'ouragan Laura a fait six morts.", "after"),  # "Laura" is a name, not a future verb
        ("Trois suspects ont été arrêtés mardi.", "after"),
        ("Strasbourg s'est imposé face à Marseille.", "after"),
        # A verb of saying dates the report, not the event; the first tensed verb decides.
        ("Le ministre a annoncé qu'il se rendra à Lyon.", "ahead"),
        ("Il a battu Lyon, a déclaré le club ; il affrontera Nice.", "after"),
        # Only the headline and first sentence frame the event; later lines are background.
        ("Le cyclone approche de l'Inde.\nIl est attendu mercredi.\nSidr avait tué 3.500 personnes.", None),
        ("La caméra de l'opéra, une affaire extra.", None),  # nouns, not futures
        ("Le sommet a lieu à Paris.", None),  # "a lieu" is a present
    ],
)
def test_stance_tells_an_announcement_from_a_report(text, expected):
    found = stance(text)
    assert (found[0] if found else None) == expected


def _sig(text: str, published: dt.date, actors=("lyon",)):
    return signature_of(text, published, actors)


def test_another_match_of_the_same_team_conflicts_on_day_and_score():
    opening = _sig("Lyon a battu Nantes 2-0 samedi lors de son premier match.", dt.date(2024, 3, 10))
    second = _sig("Lyon a battu Brest 3-1 mercredi lors de son deuxième match.", dt.date(2024, 3, 14))
    conflicts, _ = compare(opening, second)
    assert any(c.startswith("other day") for c in conflicts)
    assert any(c.startswith("other score: 2-0 vs 3-1") for c in conflicts)


def test_two_reports_of_one_event_agree():
    # Published a day apart: "mardi" in one is "hier" in the other; the toll is rounded.
    first = _sig("Un séisme a fait 1.204 morts mardi au Maroc.", dt.date(2024, 3, 5))
    second = _sig("Le séisme qui a frappé le Maroc hier a fait plus de 1.200 morts.", dt.date(2024, 3, 6))
    conflicts, notes = compare(first, second)
    assert conflicts == []
    assert "same day 2024-03-05" in notes[0] and "same mort 1204" in notes


def test_differences_between_same_day_reports_are_noted_not_vetoed():
    # One day's reports lead with different steps of the story and update tolls.
    arrest = _sig("Treize suspects ont été arrêtés mardi.", dt.date(2024, 3, 8))
    charged = _sig("Les 13 suspects ont été mis en examen vendredi.", dt.date(2024, 3, 8))
    conflicts, notes = compare(arrest, charged)
    assert conflicts == []
    assert notes[0].startswith("other day:") and notes[0].endswith("(published the same day: not a veto)")
    assert "same suspect 13" in notes


def test_another_figure_for_one_quantity_is_another_event():
    monday = _sig("La France a enregistré 4.771 nouveaux cas en 24 heures.", dt.date(2020, 8, 20))
    tuesday = _sig("La France a enregistré 3.310 nouveaux cas en 24 heures.", dt.date(2020, 8, 21))
    conflicts, _ = compare(monday, tuesday)
    assert conflicts == ["other cas: 4771 vs 3310"]


def test_a_preview_and_the_report_of_the_happening_are_two_events():
    preview = _sig("L'éclipse traversera l'Afrique dimanche, deux fois plus longue.", dt.date(2024, 6, 20))
    report = _sig("L'éclipse a traversé l'Afrique dimanche, deux fois plus longue.", dt.date(2024, 6, 23))
    conflicts, notes = compare(preview, report)
    assert conflicts == ["announced vs reported: 'traversera' / 'a traversé'"]
    assert any(n.startswith("same day 2024-06-23") for n in notes)
    # Published the same day (a preview updated into a report), it is only noted.
    same_day = dataclasses.replace(report, published=preview.published)
    conflicts, notes = compare(preview, same_day)
    assert conflicts == [] and notes[0].startswith("announced vs reported")


# --- in the stage: the decision and its reason land in the PairLink -------------

OPENING = (
    "Le Racing Club de Strasbourg a battu l'Olympique de Marseille 2-0 samedi au stade de la Meinau, "
    "pour son premier match de la saison. Emanuel Emegha a marqué les deux buts de Strasbourg."
)
SECOND = (
    "Le Racing Club de Strasbourg a battu l'Olympique de Marseille 3-1 mercredi au stade de la Meinau, "
    "pour son deuxième match de la saison. Emanuel Emegha a marqué deux des buts de Strasbourg."
)
SAME_AS_OPENING = (
    "Strasbourg s'est imposé 2-0 face à l'Olympique de Marseille hier soir à la Meinau, pour son "
    "premier match de la saison, grâce à un doublé d'Emanuel Emegha."
)


def _article(name: str, text: str, day: str, title: str | None = None) -> Article:
    from pipeline.ingest.structure import analyse_many, layout

    lay = layout([(1, text)])
    ((sentences, entities),) = analyse_many([lay], "fr_core_news_sm")
    return Article(
        id=name,
        name=name,
        source=f"{name}.txt",
        text=lay.text,
        title=title,
        date=DateInfo(day, day, "day", "metadata"),
        paragraphs=[Paragraph(p.start, p.end, p.line) for p in lay.paragraphs],
        sentences=[Sentence(s.start, s.end, s.paragraph) for s in sentences],
        entities=entities,
    )


def test_stage_keeps_the_second_match_apart_and_says_why(settings):
    on = dataclasses.replace(settings, dedup=dataclasses.replace(settings.dedup, event_signature=True))
    articles = [
        _article("opening", OPENING, "2024-08-18"),  # a Sunday: "samedi" = 17 August
        _article("second", SECOND, "2024-08-22"),  # a Thursday: "mercredi" = 21 August
        _article("same", SAME_AS_OPENING, "2024-08-18"),  # "hier" = 17 August
    ]
    result = dedup_articles(articles, on)
    groups = {frozenset(c.members) for c in result.clusters}
    assert frozenset({"opening", "same"}) in groups and frozenset({"second"}) in groups
    links = {frozenset((p.a, p.b)): p for c in result.clusters for p in c.pairs}
    apart = links[frozenset({"opening", "second"})]
    assert not apart.linked
    assert apart.reason.startswith("veto:") and "other score: 2-0 vs 3-1" in apart.reason
    assert "other day" in apart.reason
    together = links[frozenset({"opening", "same"})]
    assert (
        together.linked and "same day 2024-08-17" in together.reason and "same score 2-0" in together.reason
    )
