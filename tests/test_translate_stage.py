"""The translate stage end to end on the seed run, offline (Apertium), as `pipeline run` does it."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from pipeline.records import Article, Provenance, Span, Summary, SummarySentence, Translation
from pipeline.rundir import ARTICLES, MANIFEST, SUMMARIES, TRANSLATIONS
from pipeline.runner import Pipeline
from pipeline.translate import TranslateStage, translate_texts
from pipeline.translate.documents import join_clause_cuts, summary_document

pytestmark = pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed")


@pytest.fixture(scope="session")
def offline(settings):
    return settings.replace({"translate.backend": "offline"})


@pytest.fixture(scope="session")
def seed_translations(offline, _seed_run_template, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("translated")
    shutil.copytree(_seed_run_template.path, run_dir, dirs_exist_ok=True)
    from pipeline.rundir import RunDir

    run = RunDir(run_dir)
    result = TranslateStage(offline).run(run)
    return result, run.read_records(TRANSLATIONS, Translation)


def test_every_article_gets_an_english_translation(seed_translations, seed_articles):
    result, records = seed_translations
    assert [r.target for r in records] == [a.id for a in seed_articles]
    assert all(r.kind == "article" for r in records)
    assert result.counts["articles"] == len(seed_articles)
    assert result.backend == "apertium"
    english = " ".join(r.text for r in records).lower().split()
    for word in ("the", "of", "and", "morocco"):
        assert word in english


def test_paragraphs_and_sentence_alignment_follow_the_source(seed_translations, seed_articles):
    _, records = seed_translations
    for article, record in zip(seed_articles, records, strict=True):
        assert record.source_text == article.text
        # ingest's sentences, in order, where a cut mid-clause ("«" alone) is joined to its sentence
        spans = [(a.source.start, a.source.end) for a in record.alignment]
        assert spans == sorted(spans) and len(spans) <= len(article.sentences)
        paragraphs = sorted({s.paragraph for s in article.sentences})
        assert spans == [
            (span.start, span.end)
            for p in paragraphs
            for span in join_clause_cuts(
                article.text, [Span(x.start, x.end) for x in article.sentences if x.paragraph == p]
            )
        ]
        for sentence in article.sentences:  # every ingest sentence inside exactly one translated unit
            assert sum(a <= sentence.start and sentence.end <= b for a, b in spans) == 1
        assert len(record.paragraphs) == len({s.paragraph for s in article.sentences})
        assert record.text.count("\n\n") == len(record.paragraphs) - 1
        previous_end = 0
        for aligned in record.alignment:
            assert previous_end <= aligned.target.start <= aligned.target.end <= len(record.text)
            assert "\n" not in record.text[aligned.target.start : aligned.target.end]
            previous_end = aligned.target.end
        for paragraph in record.paragraphs:  # each paragraph is a block of text between blank lines
            block = record.text[paragraph.start : paragraph.end]
            assert block.strip() == block and "\n" not in block
        nonempty = [a for a in record.alignment if a.target.end > a.target.start]
        assert len(nonempty) == len(record.alignment)


def test_provenance_and_unknown_words(seed_translations, seed_articles):
    _, records = seed_translations
    for article, record in zip(seed_articles, records, strict=True):
        p = record.provenance
        assert p.backend == "apertium" and "fr-es" in p.model
        assert p.input_sha256 == hashlib.sha256(article.text.encode("utf-8")).hexdigest()
        assert p.params["pivot"] == ["fr-es", "spa-eng"]
    unknown = [w for r in records for w in r.unknown_words]
    assert unknown and all(w[0] in "*@#" for w in unknown)
    for record in records:  # marks are stripped from the English text
        for word in record.unknown_words:
            assert word not in record.text or word[1:] in record.source_text


def test_notes_say_which_backend_ran(seed_translations):
    result, _ = seed_translations
    assert any("backend apertium" in n and "as configured" in n for n in result.notes)
    assert any("no summaries.jsonl" in n for n in result.notes)


def test_auto_falls_back_to_apertium_loudly(settings, seed_run):
    result = TranslateStage(settings.replace({"translate.backend": "auto"})).run(seed_run)
    assert result.backend == "apertium"
    first = result.notes[0]
    assert "auto chose apertium" in first
    assert "neural unavailable" in first and "Helsinki-NLP/opus-mt-fr-en" in first
    assert any("WARNING" in n for n in result.notes)


def _summary(article: Article, text: str, sentences: list[str]) -> Summary:
    return Summary(
        id=f"sum-{article.id}",
        kind="article",
        target=article.id,
        text=text,
        sentences=[SummarySentence(s, []) for s in sentences],
        provenance=Provenance("offline-extractive", None, None, {}, ""),
    )


def test_summaries_are_translated_too(offline, seed_run, seed_articles):
    first, second = seed_articles[0].sentence_texts()[2:4]
    summaries = [
        _summary(seed_articles[0], f"{first}\n\n{second}", [first, second]),
        _summary(seed_articles[1], "Le ministre est arrivé. Il a parlé.", ["pas dans le texte"]),
        _summary(seed_articles[2], "   ", []),
    ]
    seed_run.write_records(SUMMARIES, summaries)
    result = TranslateStage(offline).run(seed_run)
    records = {r.target: r for r in seed_run.read_records(TRANSLATIONS, Translation) if r.kind == "summary"}
    assert result.counts["summaries"] == 2 and result.counts["skipped"] == 1
    two_paragraphs = records[summaries[0].id]
    assert len(two_paragraphs.paragraphs) == 2 and len(two_paragraphs.alignment) == 2
    assert two_paragraphs.id != next(
        r.id for r in seed_run.read_records(TRANSLATIONS, Translation) if r.target == seed_articles[0].id
    )
    resegmented = records[summaries[1].id]  # sentences not found in the text: spaCy splits it
    assert len(resegmented.alignment) == 2
    assert any("skipped 1 empty" in n for n in result.notes)


def test_summary_document_keeps_its_own_sentences(seed_articles):
    summary = _summary(seed_articles[0], "Un. Deux.\n\nTrois.", ["Un.", "Deux.", "Trois."])
    doc = summary_document(summary)
    texts = [[doc.text[s.start : s.end] for s in para] for para in doc.paragraphs]
    assert texts == [["Un.", "Deux."], ["Trois."]]


def test_empty_articles_are_skipped_not_fatal(offline, seed_run, seed_articles):
    empty = Article(id="empty-000", name="empty", source="x", text="  ")
    seed_run.write_records(ARTICLES, [empty, seed_articles[1]])
    result = TranslateStage(offline).run(seed_run)
    assert result.counts["articles"] == 1 and result.counts["skipped"] == 1


def test_translate_texts_keeps_paragraphs(offline):
    notes: list[str] = []
    english, provenance = translate_texts(
        ["Le ministre est arrivé hier. Il a signé un accord.\n\nLa ville a construit une école.", "Bonjour."],
        offline.replace({"translate.backend": "auto"}),
        notes=notes,
    )
    assert len(english) == 2 and english[0].count("\n\n") == 1
    assert "school" in english[0].lower()
    assert provenance.backend == "apertium" and len(provenance.input_sha256) == 64
    assert notes and "auto chose apertium" in notes[0]


def test_pipeline_runner_runs_the_stage(offline, seed_run):
    summary = Pipeline(offline).run(None, seed_run.path, ["translate"])
    assert summary.results["translate"].backend == "apertium"
    assert seed_run.exists(TRANSLATIONS)
    manifest = seed_run.read_json(MANIFEST)
    assert manifest["stages"]["translate"]["backend"] == "apertium"
    again = Pipeline(offline).run(None, seed_run.path, ["translate"])
    assert again.skipped == ["translate"]
