"""The summarise stage on the seed run: offline fallback, events, passages, provenance, faithfulness."""

from __future__ import annotations

import pytest

from pipeline.records import Cluster, Occurrence, Passage, Summary
from pipeline.rundir import CLUSTERS, PASSAGES, SUMMARIES
from pipeline.summarize import SummarizeStage
from pipeline.summarize.events import repeated_spans, skipper


def _event_files(run, articles):
    """A dedup-like output: the three reports of the February 2024 mission form one event,
    and the lead sentence of the second report is marked as repeating the first report."""
    mission = articles[:3]
    clusters = [
        Cluster("event-mission", [a.id for a in mission], mission[0].id, None, None, [], []),
        *[Cluster(f"single-{a.id}", [a.id], a.id, None, None, [], []) for a in articles[3:]],
    ]
    first, second = mission[0].sentences[2], mission[1].sentences[0]
    passages = [
        Passage(
            "p1",
            "sentence",
            mission[0].text[first.start : first.end],
            [
                Occurrence(mission[0].id, first.start, first.end),
                Occurrence(mission[1].id, second.start, second.end),
            ],
            0.7,
        )
    ]
    run.write_records(CLUSTERS, clusters)
    run.write_records(PASSAGES, passages)
    return mission, passages


@pytest.fixture(scope="module")
def default_run(_seed_run_template, seed_articles, tmp_path_factory, settings):
    """The seed run summarised with default settings (backend auto) and dedup-like inputs."""
    import shutil

    from pipeline.rundir import RunDir

    run = RunDir(tmp_path_factory.mktemp("summarize") / "run")
    shutil.copytree(_seed_run_template.path, run.path)
    mission, passages = _event_files(run, seed_articles)
    result = SummarizeStage(settings).run(run)
    return run, result, mission, passages


def test_auto_falls_back_to_offline_and_says_so(default_run):
    _, result, _, _ = default_run
    assert result.backend == "offline-extractive"
    assert any("NEURAL SUMMARISER UNAVAILABLE" in note for note in result.notes)


def test_one_summary_per_article_and_per_event(default_run, seed_articles):
    run, result, _, _ = default_run
    summaries = run.read_records(SUMMARIES, Summary)
    assert [s.target for s in summaries if s.kind == "article"] == [a.id for a in seed_articles]
    events = [s for s in summaries if s.kind == "event"]
    assert [e.target for e in events] == ["event-mission"]  # singletons get no event summary
    assert result.counts == {
        "articles": 5,
        "events": 1,
        "out": 6,
        "cached": 0,  # the test settings disable the cache
        "checked_facts": sum(s.checked_facts for s in summaries),
        "unsupported_facts": 0,
    }


def test_event_summary_merges_reports_and_cites_them(default_run):
    run, _, mission, passages = default_run
    event = next(s for s in run.read_records(SUMMARIES, Summary) if s.kind == "event")
    cited = {o.article_id for sentence in event.sentences for o in sentence.sources}
    assert len(cited) >= 2 and cited <= {a.id for a in mission}
    by_id = {a.id: a for a in mission}
    for sentence in event.sentences:
        assert sentence.sources
        for o in sentence.sources:
            assert 0 <= o.start < o.end <= len(by_id[o.article_id].text)
    # The repeated occurrence (second report's lead) is never the sentence a summary sentence quotes.
    repeated = passages[0].occurrences[1]
    assert all(
        (s.sources[0].article_id, s.sources[0].start) != (repeated.article_id, repeated.start)
        for s in event.sentences
    )


def test_provenance_and_faithfulness(default_run):
    run, _, _, _ = default_run
    for s in run.read_records(SUMMARIES, Summary):
        p = s.provenance
        assert p.backend == "offline-extractive"
        # The learned sentence scorer, named by its catalogue key and pinned by its file's SHA-256.
        assert p.model == "sentence-scorer-orangesum" and p.revision.startswith("sha256:")
        assert p.params["scorer"] == "sentence-scorer-orangesum"
        assert p.params["target_words"] == 40
        assert len(p.input_sha256) == 64
        assert s.checked_facts > 0
        assert s.unsupported == []  # extracted sentences cannot invent facts


def test_without_clusters_only_articles(seed_run, settings):
    result = SummarizeStage(settings.replace({"summarize.backend": "offline"})).run(seed_run)
    summaries = seed_run.read_records(SUMMARIES, Summary)
    assert {s.kind for s in summaries} == {"article"}
    assert any("no clusters.jsonl" in note for note in result.notes)
    assert not any("NEURAL" in note for note in result.notes)


def test_repeated_passages_keep_their_first_occurrence(seed_articles):
    a, b = seed_articles[:2]
    passage = Passage("p", "sentence", "x", [Occurrence(b.id, 0, 10), Occurrence(a.id, 5, 20)], 0.9)
    skipped = repeated_spans([passage], [a, b])
    assert skipped == [Occurrence(b.id, 0, 10)]
    skip = skipper(skipped)
    assert skip(b.id, 0, 12) and not skip(a.id, 5, 20) and not skip(b.id, 40, 60)


def test_unknown_backend_is_an_error(seed_run, settings):
    with pytest.raises(ValueError, match=r"summarize\.backend"):
        SummarizeStage(settings.replace({"summarize.backend": "magic"})).run(seed_run)


def test_an_article_without_sentences_does_not_stop_the_batch(seed_articles, settings):
    import dataclasses

    from pipeline.summarize import summarize_articles

    source = seed_articles[1]
    empty = dataclasses.replace(source, id="empty", name="empty", text="", sentences=[], entities=[])
    config = settings.replace({"summarize.backend": "offline"}).summarize
    summaries, result = summarize_articles([empty, seed_articles[1]], config)
    assert [s.text == "" for s in summaries] == [True, False]
    assert summaries[0].checked_facts == 0 and summaries[0].unsupported == []
    assert any("empty" in note for note in result.notes)
