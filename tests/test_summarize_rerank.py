"""The summary reranker: its tree walk, its weights checks, what it may choose (real OrangeSum articles)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from pipeline.summarize.offline import MAX_FIRST_OVERRUN, OfflineSummarizer
from pipeline.summarize.rerank import (
    HEADLINE,
    MAX_LENGTH,
    MAX_SENTENCES,
    MIN_LENGTH,
    SET_FEATURES,
    SummaryReranker,
    WordPrior,
    candidate_sets,
    load_reranker,
    prior_counts,
    reranker_path,
)
from pipeline.summarize.scorer import load_scorer

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ORANGESUM_DIR", REPO.parent / "shared" / "datasets" / "orangesum"))
ENTRY = "summary-reranker-orangesum"


def _training_module():
    path = REPO / "models" / "summary-reranker" / "train.py"
    spec = importlib.util.spec_from_file_location("reranker_train", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tree_walk_matches_scikit_learn():
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, len(SET_FEATURES)))
    y = np.sin(x[:, 0]) + x[:, 1] * (x[:, 2] > 0) + 0.1 * rng.normal(size=600)
    model = HistGradientBoostingRegressor(max_iter=40, max_leaf_nodes=15, random_state=0).fit(x, y)
    prior = WordPrior({"retraite": 0.5}, 0.1)
    data = json.loads(json.dumps(_training_module().export(model, {}, prior)))  # through JSON, as shipped
    walked = SummaryReranker.from_dict(data)(x)
    assert np.allclose(walked, model.predict(x), atol=1e-9)


def test_shipped_reranker_matches_the_catalogue_hash():
    reranker = load_reranker(ENTRY)
    assert reranker.sha256 == hashlib.sha256(reranker_path(ENTRY).read_bytes()).hexdigest()


def test_reranker_refuses_weights_for_other_features():
    data = json.loads(reranker_path(ENTRY).read_text(encoding="utf-8"))
    data["features"] = data["features"][::-1]
    with pytest.raises(ValueError, match="other features"):
        SummaryReranker.from_dict(data)


def test_reranker_refuses_weights_the_catalogue_does_not_pin(tmp_path, monkeypatch):
    import pipeline.summarize.rerank as rerank_module

    tampered = tmp_path / "weights.json"
    data = json.loads(reranker_path(ENTRY).read_text(encoding="utf-8"))
    data["baseline"] += 1.0
    tampered.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(rerank_module, "reranker_path", lambda name: tampered)
    with pytest.raises(ValueError, match="SHA-256"):
        rerank_module.load_reranker.__wrapped__(ENTRY)


def test_candidate_sets_suit_the_target_and_keep_mmrs_choice():
    words = [40, 12, 20, 9, 30, 25, 18, 7]
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    sets = candidate_sets(words, scores, [7, 6], 33)
    assert (6, 7) in sets  # MMR's choice, in text order, even outside the top sentences
    for s in sets:
        if s == (6, 7):
            continue
        assert list(s) == sorted(s) and 1 <= len(s) <= MAX_SENTENCES
        assert max(s) < 6  # only the best-scored sentences
        assert MIN_LENGTH * 33 <= sum(words[k] for k in s) <= MAX_LENGTH * 33


def test_candidate_sets_may_open_with_the_headline_in_a_sentences_place():
    words = [40, 12, 20, 9, 30, 25, 18, 7]
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    plain = candidate_sets(words, scores, [7, 6], 33)
    sets = candidate_sets(words, scores, [7, 6], 33, headline_words=14)
    opening = [s for s in sets if HEADLINE in s]
    assert opening and sorted(set(sets) - set(opening)) == plain  # the others are unchanged
    for s in opening:
        body = s[1:]
        assert s[0] == HEADLINE and HEADLINE not in body and list(body) == sorted(body)
        assert 1 <= len(body) <= MAX_SENTENCES - 1 and max(body) < 6
        assert MIN_LENGTH * 33 <= 14 + sum(words[k] for k in body) <= MAX_LENGTH * 33
    # A headline too long to leave room for a sentence is never offered.
    assert not [s for s in candidate_sets(words, scores, [7, 6], 33, headline_words=49) if HEADLINE in s]


def test_headline_makes_a_title_a_clean_sentence_or_refuses_it():
    from pipeline.summarize.sentences import headline, headline_span

    assert headline("Une gardienne de zoo tuée par un tigre") == "Une gardienne de zoo tuée par un tigre."
    assert headline("Kad et Olivier : le duo mythique du PAF revient !") == (
        "Kad et Olivier : le duo mythique du PAF revient !"
    )
    assert (
        headline("VIDÉO. Grand débat : Wargon détaille la méthode")
        == "Grand débat : Wargon détaille la méthode."
    )
    labelled = "  PHOTOS - Le Mont-Blanc a perdu deux mètres  "
    start, end = headline_span(labelled)  # what a headline cites: its words, not the label
    assert labelled[start:end] == "Le Mont-Blanc a perdu deux mètres"
    assert headline('Le Pen accuse sa fille de "paranoïa"') == 'Le Pen accuse sa fille de "paranoïa".'
    assert headline("  Paris :\n des touristes\tverbalisés ") == "Paris : des touristes verbalisés."
    for refused in (
        None,
        "",
        "Coronavirus : le point",  # a fragment
        "Vers une suspension des allocations des parents ?",  # a question states nothing
        "après le drame, la colère des habitants",  # not a sentence start
        'Le ministre juge la réforme "nécessaire',  # unbalanced quotation
        '"Nous ne lâcherons rien, jamais"',  # a quotation without its speaker
    ):
        assert headline(refused) is None, refused


@pytest.mark.skipif(not (DATA / "articles.jsonl.gz").is_file(), reason=f"no OrangeSum at {DATA}")
def test_reranked_summaries_are_candidate_sets_that_fit(settings):
    from eval.orangesum import ingest_examples, read_split
    from pipeline.summarize.sentences import count_words

    articles = [a for a in ingest_examples(read_split(DATA, "valid", 40), settings) if a is not None]
    scorer, reranker = load_scorer("sentence-scorer-orangesum"), load_reranker(ENTRY)
    plain = OfflineSummarizer(scorer, target_words=33).summarize_batch([([a], None) for a in articles])
    reranked = OfflineSummarizer(scorer, reranker=reranker, target_words=33).summarize_batch(
        [([a], None) for a in articles]
    )
    changed = 0
    for before, after in zip(plain, reranked, strict=True):
        words = sum(count_words(e.text) for e in after)
        assert 1 <= len(after) <= max(MAX_SENTENCES, len(before))
        assert words <= MAX_LENGTH * 33 or [e.text for e in after] == [e.text for e in before]
        assert count_words(after[0].text) <= MAX_FIRST_OVERRUN * 33 or len(after) == 1
        changed += [e.text for e in after] != [e.text for e in before]
    assert changed > 0  # the reranker is not MMR under another name


def test_overlap_features_agree_with_rouge_score():
    # The title/lede overlap features are ROUGE-L and ROUGE-N on folded word tokens: check them
    # against rouge-score's own LCS and n-gram counting on the same tokens.
    from rouge_score.rouge_scorer import _create_ngrams, _score_lcs, _score_ngrams

    from pipeline.summarize.rerank import _lcs_prf, _ngram_pf, _tokens

    title = _tokens("Réforme des retraites : le gouvernement maintient le report de l'âge légal")
    summary = _tokens(
        "Le gouvernement a confirmé mardi le report de l'âge légal de départ à la retraite, "
        "malgré la mobilisation des syndicats contre la réforme des retraites."
    )
    lcs = _score_lcs(title, summary)
    assert _lcs_prf(title, summary) == pytest.approx((lcs.precision, lcs.recall, lcs.fmeasure))
    for n in (1, 2):
        ngrams = _score_ngrams(_create_ngrams(title, n), _create_ngrams(summary, n))
        assert _ngram_pf(title, summary, n) == pytest.approx((ngrams.precision, ngrams.fmeasure))
    assert _lcs_prf([], summary) == (0.0, 0.0, 0.0) and _ngram_pf(title, [], 2) == (0.0, 0.0)
    # The bit-parallel LCS against rouge-score's table on many short sequences with repeats.
    rng = np.random.default_rng(12)
    for _ in range(500):
        a = [str(t) for t in rng.integers(0, 5, rng.integers(1, 25))]
        b = [str(t) for t in rng.integers(0, 5, rng.integers(1, 25))]
        lcs = _score_lcs(a, b)
        assert _lcs_prf(a, b) == pytest.approx((lcs.precision, lcs.recall, lcs.fmeasure))
    assert "etat" in _tokens("l'État")  # folded: accents and case do not split or miss a word


def test_reranker_refuses_weights_without_their_word_prior():
    data = json.loads(reranker_path(ENTRY).read_text(encoding="utf-8"))
    del data["word_prior"]
    with pytest.raises(ValueError, match="word prior"):
        SummaryReranker.from_dict(data)


@pytest.mark.skipif(not (DATA / "articles.jsonl.gz").is_file(), reason=f"no OrangeSum at {DATA}")
def test_word_prior_is_cross_fitted_by_fold():
    # The features of a sample article must read a prior counted without its fold's articles.
    from eval.orangesum import read_split
    from pipeline.summarize.rerank import PRIOR_MIN_SEEN

    rows = read_split(DATA, "train", limit=300, seed=12)
    items = [{"k": k} for k in range(0, 300, 3)]  # the sample: every third row
    full, per_fold = _training_module().word_priors(rows, items, 5)
    assert full == WordPrior.from_counts(*prior_counts((f"{r.title} {r.body}", r.abstract) for r in rows))
    for f, prior in enumerate(per_fold):
        others = [r for k, r in enumerate(rows) if not (k % 3 == 0 and (k % 5) == f)]
        seen, kept = prior_counts((f"{r.title} {r.body}", r.abstract) for r in others)
        assert prior == WordPrior.from_counts(seen, kept)
        assert all(seen[w] >= PRIOR_MIN_SEEN and 0.0 < r < 1.0 for w, r in prior.words.items())
    assert per_fold[0] != per_fold[1]


@pytest.mark.skipif(not (DATA / "articles.jsonl.gz").is_file(), reason=f"no OrangeSum at {DATA}")
def test_shipped_word_prior_tells_kept_words_from_dropped_ones():
    # On validation articles (never counted), the words an abstract keeps have a higher prior
    # than the article's words it drops, and the article's most likely words are kept more often.
    from eval.orangesum import read_split
    from pipeline.summarize.rerank import _tokens

    prior = load_reranker(ENTRY).prior
    kept, dropped, likely_kept, likely = [], [], 0, 0
    for row in read_split(DATA, "valid", limit=200):
        words = set(_tokens(f"{row.title} {row.body}"))
        in_abstract = words.intersection(_tokens(row.abstract))
        kept += [prior(w) for w in in_abstract]
        dropped += [prior(w) for w in words - in_abstract]
        top = sorted(words, key=prior, reverse=True)[:20]
        likely += len(top)
        likely_kept += len(in_abstract.intersection(top))
    assert np.mean(kept) > 2 * np.mean(dropped)
    assert likely_kept / likely > len(kept) / (len(kept) + len(dropped))
