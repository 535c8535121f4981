"""The report: deterministic bytes, escaped article text, and honest about missing stages."""

from __future__ import annotations

import base64
import re
import shutil
from html.parser import HTMLParser

import pytest

from eval.report import ReportStage, render_report
from eval.score import ScoreStage
from pipeline.records import Occurrence, Passage, Rejection, Summary, Translation
from pipeline.rundir import (
    ARTICLES,
    PASSAGES,
    REJECTED,
    REPORT_HTML,
    REPORT_MD,
    SCORES,
    SUMMARIES,
    TRANSLATIONS,
    RunDir,
)
from pipeline.settings import Settings
from tests.eval_runs import (
    build_articles,
    build_full_run,
    build_scored_run,
    make_article,
    make_summary,
    make_translation,
)
from tests.eval_runs import (
    eval_settings as make_eval_settings,
)

ATTACK = '<script>alert(1)</script> <img src=x onerror="alert(2)"> <a href="javascript:alert(3)">x</a>'


@pytest.fixture(scope="module")
def eval_settings(tmp_path_factory):
    return make_eval_settings(tmp_path_factory.mktemp("refs"))


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, eval_settings):
    return build_scored_run(tmp_path_factory.mktemp("report") / "run", eval_settings)


class _Tags(HTMLParser):
    """Every start tag and its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def test_report_is_byte_identical_when_regenerated(full_run, tmp_path, eval_settings):
    html_before = full_run.file(REPORT_HTML).read_bytes()
    md_before = full_run.file(REPORT_MD).read_bytes()
    ReportStage(eval_settings).run(full_run)
    assert full_run.file(REPORT_HTML).read_bytes() == html_before
    assert full_run.file(REPORT_MD).read_bytes() == md_before
    # The run directory's location is not part of the report.
    moved = RunDir(shutil.copytree(full_run.path, tmp_path / "elsewhere"))
    md, html = render_report(moved)
    assert html.encode("utf-8") == html_before and md.encode("utf-8") == md_before


def test_report_shows_everything_a_reader_needs(full_run):
    html = full_run.file(REPORT_HTML).read_text(encoding="utf-8")
    md = full_run.file(REPORT_MD).read_text(encoding="utf-8")
    for text in (html, md):
        assert "OFFLINE FALLBACK" in text  # the summaries came from the offline backend
        assert "Helsinki-NLP/opus-mt-fr-en" in text  # which model made the translations
        assert "event-1" in text and "0.79" in text  # cluster and its PairLink scores
        assert "Une délégation marocaine de 15 participants a visité Austin" in text  # the reference
        assert "A Moroccan delegation went to Austin." in text  # the summary's English version
        assert "lead-3" in text and "random-3" in text  # baselines
        assert "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:" in text  # sacrebleu's signature
        assert "n too small for a CI" in text
        assert "share-buttons" in text and "corpus/empty.txt" in text  # removals and rejections
    assert "<mark>2000</mark>" in html  # the unsupported fact, highlighted
    assert "**2000**" in md
    # Confidence intervals where n allows (9 reference paragraphs).
    assert re.search(r"<td class=\"num\">\d+\.\d \[\d+\.\d, \d+\.\d\]</td>", html)


def test_plots_are_embedded_deterministic_pngs(full_run):
    html = full_run.file(REPORT_HTML).read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 3  # ROUGE-L per summary, chrF per paragraph, lengths
    for data in images:
        png = base64.b64decode(data)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert b"Software" not in png and b"matplotlib" not in png
    assert "http://" not in html and "https://" not in html  # self-contained


def test_article_markup_is_escaped_everywhere(tmp_path, eval_settings):
    run = build_full_run(tmp_path / "run")
    evil = make_article(
        "z_evil", [f"Titre {ATTACK}", f"Le paragraphe {ATTACK} continue ici."], title=f"T {ATTACK}"
    )
    run.write_records(ARTICLES, [*build_articles(), evil])
    run.write_records(
        PASSAGES, [Passage("p1", "sentence", f"Passage {ATTACK}", [Occurrence(evil.id, 0, 10)], 0.9)]
    )
    run.write_records(REJECTED, [Rejection(f"bad{ATTACK}.txt", "ingest", "binary", f"detail {ATTACK}")])
    summary = make_summary(evil, 2, unsupported=[ATTACK])
    run.write_records(SUMMARIES, [*run.read_records(SUMMARIES, Summary), summary])
    translation = make_translation(evil, [f"Title {ATTACK}", f"The paragraph {ATTACK} goes on."])
    run.write_records(TRANSLATIONS, [*run.read_records(TRANSLATIONS, Translation), translation])
    ScoreStage(eval_settings).run(run)
    ReportStage(eval_settings).run(run)
    html = run.file(REPORT_HTML).read_text(encoding="utf-8")
    md = run.file(REPORT_MD).read_text(encoding="utf-8")

    tags = _tags(html)
    assert not {"script", "iframe", "object", "embed", "form"} & {t for t, _ in tags}
    for tag, attrs in tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,")
        if tag == "a":
            assert attrs["href"].startswith("#")
    # Shown as text (title, paragraphs, summary, translation, passage, rejection), not dropped.
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6
    assert "<script" not in md and "<img" not in md and "<a " not in md
    assert md.count("&lt;script&gt;") >= 6


def test_report_for_a_run_with_only_articles_says_what_is_missing(tmp_path):
    run = RunDir(tmp_path / "run").ensure()
    run.write_records(ARTICLES, build_articles())
    ReportStage(Settings()).run(run)
    html = run.file(REPORT_HTML).read_text(encoding="utf-8")
    md = run.file(REPORT_MD).read_text(encoding="utf-8")
    for text in (html, md):
        assert "What is missing" in text
        for name, stage in (
            ("clusters.jsonl", "dedup"),
            ("summaries.jsonl", "summarize"),
            ("translations.jsonl", "translate"),
            ("scores.json", "score"),
        ):
            assert f"{name} is missing: the {stage} stage has not run" in text
        assert "No summaries in this run." in text
    assert "a_visite" in html  # what is there is still shown


def test_report_for_an_empty_run_and_a_broken_scores_file(tmp_path):
    run = RunDir(tmp_path / "run").ensure()
    md, html = render_report(run)
    assert "articles.jsonl is missing: the ingest stage has not run" in md
    run.write_records(ARTICLES, build_articles())
    run.write_json(SCORES, {"summaries": {"article": {"systems": [{"name": "x"}]}}})
    md, html = render_report(run)
    assert "scores.json has an unexpected layout" in md and "scores.json has an unexpected layout" in html
    run.file(SCORES).write_text("{not json", encoding="utf-8")
    md, _ = render_report(run)
    assert "scores.json could not be read" in md
