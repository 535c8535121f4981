"""Issue 16: a report that reads at a glance, stays self-contained and bounded at 1,000 articles.

The browser check (console errors, page height, 800 px layout) is
``bench/report_browser.py``; these tests check the structure without a browser.
"""

from __future__ import annotations

import copy
import re

import pytest

from eval.report import ReportStage, render_report
from eval.report_view import MAX_SUMMARY_CARDS, MAX_TRANSLATIONS, identical_baselines
from pipeline.records import Cluster, PairLink, Summary
from pipeline.rundir import ARTICLES, CLUSTERS, REPORT_HTML, SCORES, SUMMARIES, TRANSLATIONS, RunDir
from tests.eval_runs import (
    ARTICLE_PARAGRAPHS,
    ENGLISH,
    PROVENANCE_SUMMARY,
    build_scored_run,
    make_article,
    make_summary,
    make_translation,
)
from tests.eval_runs import (
    eval_settings as make_eval_settings,
)


@pytest.fixture(scope="module")
def eval_settings(tmp_path_factory):
    return make_eval_settings(tmp_path_factory.mktemp("refs"))


@pytest.fixture(scope="module")
def scored_run(tmp_path_factory, eval_settings):
    return build_scored_run(tmp_path_factory.mktemp("glance") / "run", eval_settings)


def _section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}">')
    return html[start : html.index("</section>", start)]


def test_headline_and_plots_with_intervals_come_first(scored_run):
    html = scored_run.file(REPORT_HTML).read_text(encoding="utf-8")
    results = _section(html, "results")
    assert results.count("<img ") == 3  # the plots sit under the headline table
    assert html.index('id="results"') < html.index('id="events"') < html.index('id="translations"')
    assert "95% bootstrap interval" in results
    assert re.search(r"\d+\.\d \[\d+\.\d, \d+\.\d\]", results)  # a score with its interval


def test_plots_draw_the_intervals():
    from eval.plots import strip_plot

    series = [("system", [40.0, 50.0, 60.0, 55.0, 45.0])]
    plain = strip_plot("t", "x", series, (0, 100))
    with_ci = strip_plot("t", "x", series, (0, 100), {"system": (50.0, 44.0, 56.0)})
    assert plain and with_ci and plain != with_ci


def test_wide_tables_scroll_inside_the_page(scored_run):
    html = scored_run.file(REPORT_HTML).read_text(encoding="utf-8")
    # Every table but the small two-column ones sits in a scrolling box, so an 800 px window
    # never scrolls sideways (checked in a real browser by bench/report_browser.py).
    unwrapped = re.findall(r'(?<!<div class="scroll">)<table(?! class="compact)', html)
    assert unwrapped == []
    assert ".scroll { max-width: 100%; overflow-x: auto; }" in html


def test_one_card_per_event_with_its_summary_in_french_and_english(scored_run):
    events = _section(scored_run.file(REPORT_HTML).read_text(encoding="utf-8"), "events")
    assert events.count('<article class="card"') == 1  # event-1 (event-2 has one article)
    card = events[events.index('id="event-event-1"') :]
    assert "a_visite" in card and "b_mission" in card  # members
    assert "Why linked" in card and "Austin" in card  # shared entities
    assert "<h4>French</h4>" in card and "<h4>English</h4>" in card
    assert "1 single-article cluster" in events


def test_long_material_is_collapsed(scored_run):
    html = scored_run.file(REPORT_HTML).read_text(encoding="utf-8")
    translations = _section(html, "translations")
    assert translations.count("<details") == 3 and "<details open" not in html
    assert "<table" not in translations.replace("<details", "").split("<summary")[0]


def test_parameters_are_readable(scored_run):
    html = scored_run.file(REPORT_HTML).read_text(encoding="utf-8")
    run_details = _section(html, "run")
    assert "beam_size = 4" in run_details and "target_words = 60" in run_details
    assert "{&#39;" not in run_details and "': " not in run_details  # no Python dict reprs


def test_a_baseline_identical_to_the_system_is_not_shown(scored_run, tmp_path):
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    for name in (ARTICLES, CLUSTERS, SUMMARIES, TRANSLATIONS):
        run.write_bytes(name, scored_run.file(name).read_bytes())
    scores = scored_run.read_json(SCORES)
    section = scores["translations"]
    system = next(s for s in section["systems"] if s["role"] == "system")
    copied = copy.deepcopy(system) | {"name": "apertium-raw", "role": "baseline"}
    section["systems"].append(copied)
    section["comparisons"].append(
        {"system": system["name"], "baseline": "apertium-raw", "metric": "chrf", "delta": 0.0}
        | {"ci": [0.0, 0.0], "p_value": 1.0, "n": system["n"], "note": None}
    )
    run.write_json(SCORES, scores)
    assert identical_baselines(section) == {"apertium-raw": system["name"]}
    md, html = render_report(run)
    for text in (md, html):
        assert "apertium-raw: word for word the output of" in text
    # No column, row or comparison for it (the plots are checked through the view).
    assert "| apertium-raw" not in md and "apertium-raw |" not in md
    assert "<th>apertium-raw" not in html and "<td>apertium-raw" not in html
    # A baseline that differs stays.
    copied["items"][0]["hypothesis"] = "Something else entirely."
    run.write_json(SCORES, scores)
    assert identical_baselines(section) == {}


def _big_run(path, n: int) -> RunDir:
    """n articles of realistic length with summaries, translations and events (2-article clusters)."""
    run = RunDir(path).ensure()
    french = [p * 4 for p in ARTICLE_PARAGRAPHS["a_visite"]]
    english = [p * 4 for p in ENGLISH["a_visite"]]
    articles = [
        make_article(f"art{i:04d}", [f"Dépêche {i}. {p}" for p in french], title=f"Titre {i}")
        for i in range(n)
    ]
    run.write_records(ARTICLES, articles)
    clusters = []
    for i in range(0, n, 2):
        a, b = articles[i], articles[min(i + 1, n - 1)]
        link = PairLink(a.id, b.id, 0.8, 0.5, 1.0, 0.75, True)
        members = [a.id, b.id] if i % 10 == 0 else [a.id]
        clusters.append(Cluster(f"c{i:04d}", members, a.id, None, None, ["Austin"], [link]))
        if len(members) == 1 and b is not a:
            clusters.append(Cluster(f"c{i + 1:04d}", [b.id], b.id, None, None, [], []))
    run.write_records(CLUSTERS, clusters)
    summaries = [make_summary(a, 3) for a in articles]
    summaries += [
        Summary(f"ev-{c.id}", "event", c.id, summaries[0].text, summaries[0].sentences, PROVENANCE_SUMMARY)
        for c in clusters
        if len(c.members) > 1
    ]
    run.write_records(SUMMARIES, summaries)
    run.write_records(TRANSLATIONS, [make_translation(a, english) for a in articles])
    return run


def test_report_size_is_bounded_at_1000_articles(tmp_path, eval_settings):
    run = _big_run(tmp_path / "run", 1000)
    ReportStage(eval_settings).run(run)
    html = run.file(REPORT_HTML).read_text(encoding="utf-8")
    size = len(html.encode("utf-8"))
    assert size < 2_000_000, size
    translations = _section(html, "translations")
    assert translations.count('<details class="card"') == MAX_TRANSLATIONS
    assert f"{MAX_TRANSLATIONS} of 1000 articles shown" in translations
    assert _section(html, "summaries").count('<article class="card"') == MAX_SUMMARY_CARDS
    assert "http://" not in html and "https://" not in html and "<script" not in html
