"""The whole pipeline on the embedded corpus, offline, as `make run` runs it."""

from __future__ import annotations

import json

import pytest

from pipeline.records import Cluster, Summary, Translation
from pipeline.runner import STAGE_ORDER, Pipeline
from pipeline.rundir import CLUSTERS, REPORT_HTML, SCORES, SUMMARIES, TRANSLATIONS, RunDir


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, settings, seed_paths):
    offline = settings.replace({"summarize.backend": "auto", "translate.backend": "auto"})
    out = tmp_path_factory.mktemp("e2e")
    summary = Pipeline(offline).run(seed_paths, out)
    return RunDir(out), summary


def test_every_stage_ran(full_run):
    run, summary = full_run
    assert list(summary.results) == list(STAGE_ORDER)
    manifest = run.read_json("manifest.json")
    assert set(manifest["stages"]) == set(STAGE_ORDER)


def test_seed_event_clusters(full_run):
    run, _ = full_run
    clusters = run.read_records(CLUSTERS, Cluster)
    groups = sorted(sorted(m.split("_")[0] for m in c.members) for c in clusters)
    assert groups == [["000", "001", "002"], ["003"], ["004"]]


def test_summaries_say_which_path_made_them(full_run):
    run, summary = full_run
    summaries = run.read_records(SUMMARIES, Summary)
    kinds = sorted(s.kind for s in summaries)
    assert kinds == ["article"] * 5 + ["event"]
    for s in summaries:
        assert s.text and s.provenance.backend and s.provenance.input_sha256
    # No seq2seq weights here: auto must fall back and say so.
    assert all(s.provenance.backend.startswith("offline") for s in summaries)
    assert any("offline" in note.lower() for note in summary.results["summarize"].notes)


def test_translations_cover_articles_and_summaries(full_run):
    run, _ = full_run
    translations = run.read_records(TRANSLATIONS, Translation)
    assert sorted({t.kind for t in translations}) == ["article", "summary"]
    assert sum(t.kind == "article" for t in translations) == 5
    assert sum(t.kind == "summary" for t in translations) == 6
    for t in translations:
        assert t.provenance.backend and t.text.strip()
    english = " ".join(t.text for t in translations).lower()
    assert " the " in english and "délégation" not in english


def test_scores_and_report(full_run):
    run, _ = full_run
    scores = json.loads(run.file(SCORES).read_text())
    assert scores
    html = run.file(REPORT_HTML).read_text()
    assert "<script" not in html.lower()
    assert "offline" in html.lower()
