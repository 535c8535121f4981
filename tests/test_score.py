"""The score stage on run directories built by hand (no other stage's code involved)."""

from __future__ import annotations

import json

import pytest
import sacrebleu

from eval.baselines import lead_n, random_n
from eval.bootstrap import TOO_SMALL
from eval.matching import match_paragraph
from eval.metrics import Rouge
from eval.score import ScoreStage, score_run
from pipeline.records import Article
from pipeline.rundir import ARTICLES, SCORES, RunDir
from pipeline.settings import Settings
from tests.eval_runs import build_articles, build_full_run, write_references


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    return write_references(tmp_path_factory.mktemp("refs"))


def _settings(references, **extra):
    overrides = {"score.references": str(references), "score.bootstrap_samples": 200, **extra}
    return Settings.load(overrides={"cache.enabled": False, **overrides})


@pytest.fixture(scope="module")
def eval_settings(references):
    # Apertium is exercised once, in its own test; the others stay fast.
    return _settings(references, **{"score.apertium_baseline": False})


@pytest.fixture(scope="module")
def scored(tmp_path_factory, eval_settings):
    run = build_full_run(tmp_path_factory.mktemp("scored") / "run")
    return run, score_run(run, eval_settings)


def _system(section, name):
    return next(s for s in section["systems"] if s["name"] == name)


def test_article_summaries_scored_with_both_baselines(scored):
    _, doc = scored
    section = doc["summaries"]["article"]
    names = [s["name"] for s in section["systems"]]
    assert names == ["offline-extractive", "lead-3", "random-3"]
    system = _system(section, "offline-extractive")
    assert system["n"] == 3 and [i["target"] for i in system["items"]] == ["a_visite", "b_mission", "c_autre"]
    # The number in scores.json is rouge-score's, through our tokenizer, on the matched pairs.
    pairs = [(i["hypothesis"], i["reference"]) for i in system["items"]]
    assert system["metrics"]["rougeL-fr"]["score"] == pytest.approx(
        Rouge("rougeL", "french").score(pairs).score
    )
    assert system["metrics"]["rougeL-fr"]["ci"] is None
    assert system["metrics"]["rougeL-fr"]["ci_note"] == TOO_SMALL
    assert "n:3" in system["metrics"]["rougeL-fr"]["signature"]


def test_baselines_are_lead_and_seeded_random_sentences(scored, eval_settings):
    run, doc = scored
    articles = {a.name: a for a in run.read_records(ARTICLES, Article)}
    lead = _system(doc["summaries"]["article"], "lead-3")
    assert lead["items"][0]["hypothesis"] == lead_n(articles["a_visite"])
    assert lead["items"][0]["hypothesis"].startswith("Une délégation marocaine de 15 participants")
    rand = _system(doc["summaries"]["article"], "random-3")
    article = articles["a_visite"]
    assert rand["items"][0]["hypothesis"] == random_n(article, seed=eval_settings.score.seed)
    # Seeded: different seeds draw different sentences (6 sentences, 20 possible draws).
    assert len({random_n(article, seed=s) for s in range(10)}) > 1


def test_event_summary_matched_to_gold_cluster_by_member_overlap(scored):
    _, doc = scored
    system = _system(doc["summaries"]["event"], "offline-extractive")
    (item,) = system["items"]
    assert item["target"] == "mission-2024"
    assert item["cluster_id"] == "event-1" and item["overlap"] == 1.0
    assert item["summary_id"] == "sum-event-1"


def test_translations_matched_by_french_text_and_scored_like_sacrebleu(scored):
    _, doc = scored
    section = doc["translations"]
    assert section["matching"] == {"text": 9}  # references use ' where articles use ’
    system = _system(section, "neural:Helsinki-NLP/opus-mt-fr-en")
    hyps = [i["hypothesis"] for i in system["items"]]
    refs = [i["reference"] for i in system["items"]]
    assert system["n"] == 9
    assert system["metrics"]["bleu"]["score"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert system["metrics"]["chrf"]["score"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    low, high = system["metrics"]["chrf"]["ci"]
    assert low <= system["metrics"]["chrf"]["score"] <= high
    assert system["metrics"]["bleu"]["extra"]["sacrebleu_signature"].startswith("nrefs:1|case:mixed")


def test_apertium_baseline_scored_or_its_absence_explained(tmp_path, references):
    run = build_full_run(tmp_path / "run")
    doc = score_run(run, _settings(references))
    section = doc["translations"]
    names = [s["name"] for s in section["systems"]]
    if "apertium-raw" in names:
        baseline = _system(section, "apertium-raw")
        assert baseline["role"] == "baseline" and baseline["n"] == 9
        assert all(i["hypothesis"].strip() for i in baseline["items"])
        assert any(c["baseline"] == "apertium-raw" for c in section["comparisons"])
    else:
        assert section["baselines_unavailable"]["apertium-raw"].startswith("baseline unavailable: ")
        assert any("apertium-raw" in note for note in doc["notes"])


def test_faithfulness_from_the_guard_counts(scored):
    _, doc = scored
    (system,) = doc["faithfulness"]["systems"]
    # 3 + 4 + 3 + 4 facts checked, one unsupported ("2000").
    assert system["metrics"]["faithfulness"]["score"] == pytest.approx(100 * 13 / 14)
    assert system["n"] == 4
    assert any(i["unsupported"] == ["2000"] for i in system["items"])


def test_english_summary_versions_scored_against_english_references(scored):
    _, doc = scored
    (system,) = doc["summaries_en"]["article"]["systems"]
    (item,) = system["items"]
    assert item["hypothesis"] == "A Moroccan delegation went to Austin."
    assert item["reference"].startswith("A Moroccan delegation of 15 participants")
    assert 0 < system["metrics"]["rouge1-default"]["score"] < 100


def test_paired_comparisons_against_baselines(scored):
    _, doc = scored
    comparisons = doc["summaries"]["article"]["comparisons"]
    pairs = {(c["system"], c["baseline"]) for c in comparisons}
    assert pairs == {("offline-extractive", "lead-3"), ("offline-extractive", "random-3")}
    assert all(c["n"] == 3 and c["ci"] is None and c["note"] == TOO_SMALL for c in comparisons)


def test_score_stage_writes_strict_json(tmp_path, eval_settings):
    run = build_full_run(tmp_path / "run")
    result = ScoreStage(eval_settings).run(run)
    text = run.file(SCORES).read_text(encoding="utf-8")

    def no_nan(token: str):
        raise AssertionError(f"non-standard JSON constant {token}")

    doc = json.loads(text, parse_constant=no_nan)
    assert doc["format"] == 1 and doc["bootstrap"] == {
        "samples": 200,
        "seed": 12345,
        "confidence": 0.95,
        "min_n": 5,
    }
    assert result.counts["translation_systems"] >= 1
    # The terminal gets each system's main score and sacrebleu's own signatures.
    assert any(n.startswith("translations: neural:Helsinki-NLP/opus-mt-fr-en: chrF ") for n in result.notes)
    assert any(n.startswith("sacrebleu bleu: nrefs:1|case:mixed|eff:no|tok:13a") for n in result.notes)
    # Scoring is deterministic.
    ScoreStage(eval_settings).run(run)
    assert run.file(SCORES).read_text(encoding="utf-8") == text


def test_stage_config_tracks_the_reference_files(eval_settings, references):
    config = ScoreStage(eval_settings).config()
    files = {"clusters.jsonl", "summaries.jsonl", "translations.jsonl"}
    assert set(config["external"]["references_config"]["references_sha256"]) == files


def test_run_with_only_articles_scores_baselines_and_says_what_is_missing(tmp_path, eval_settings):
    run = RunDir(tmp_path / "run").ensure()
    run.write_records(ARTICLES, build_articles())
    doc = score_run(run, eval_settings)
    missing = " ".join(doc["notes"])
    for name in ("clusters.jsonl", "summaries.jsonl", "translations.jsonl"):
        assert f"{name} is missing" in missing
    names = [s["name"] for s in doc["summaries"]["article"]["systems"]]
    assert names == ["lead-3", "random-3"]
    assert doc["clustering"] is None and doc["faithfulness"] is None


def test_empty_run_does_not_crash(tmp_path, eval_settings):
    doc = score_run(RunDir(tmp_path), eval_settings)
    assert "nothing to score: the run has no articles" in doc["notes"]


def test_paragraph_matching_prefers_text_then_fuzzy_then_index():
    paragraphs = ["Titre du journal", "La délégation, forte de 15 membres, est arrivée.", "Fin."]
    assert match_paragraph("La délégation, forte de 15 membres, est arrivée.", 0, paragraphs).index == 1
    fuzzy = match_paragraph("La délégation, forte de 15 membres, est arrivée !", 0, paragraphs)
    assert (fuzzy.index, fuzzy.method) == (1, "fuzzy")
    fallback = match_paragraph("Un paragraphe absent de l'article.", 2, paragraphs)
    assert (fallback.index, fallback.method) == (2, "index") and fallback.similarity < 0.9
    assert match_paragraph("Absent.", 7, paragraphs).method == "unmatched"


def test_clustering_scored_against_gold(scored):
    pytest.importorskip("eval.clustering", reason="eval/clustering.py comes from the dedup branch")
    _, doc = scored
    clustering = doc["clustering"]
    assert clustering["n"] == 3
    assert clustering["metrics"]["cluster-f1"]["score"] == pytest.approx(1.0)
    assert clustering["metrics"]["cluster-ari"]["score"] == pytest.approx(1.0)
    assert clustering["metrics"]["cluster-f1"]["ci"] is None


def test_seed_corpus_matches_the_embedded_references(seed_run):
    """Real ingest output against the shipped references: every reference finds its article text."""
    settings = Settings.load(
        overrides={"cache.enabled": False, "score.bootstrap_samples": 200, "score.apertium_baseline": False}
    )
    doc = score_run(seed_run, settings)
    assert doc["references"]["source"] == "embedded"
    lead = _system(doc["summaries"]["article"], "lead-3")
    assert lead["n"] == doc["references"]["counts"]["summaries_article"] >= 5
    assert lead["metrics"]["rougeL-fr"]["ci"] is not None  # n >= 5: an interval
    matching = doc["translations"]["matching"]
    assert set(matching) <= {"text", "fuzzy"}, matching  # never the index fallback on the seed corpus
    assert sum(matching.values()) == doc["references"]["counts"]["translations"]
