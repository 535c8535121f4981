"""Metric code against known values: sacrebleu and rouge-score called directly, hand computations."""

from __future__ import annotations

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from eval.bootstrap import TOO_SMALL, BootstrapSettings
from eval.metrics import Bleu, Chrf, ClusteringMetric, Faithfulness, Rouge, rouge_metrics
from eval.tokenizers import FrenchTokenizer, RougeDefaultTokenizer

HYPS = [
    "The Moroccan delegation met American technology companies in Austin.",
    "Fifteen participants took part in the mission from 11 to 21 February 2024.",
    "The visit was organised with the USTDA.",
    "Morocco wants to attract foreign investment.",
    "The government supports digital transformation.",
    "A second mission is planned.",
]
REFS = [
    "The Moroccan delegation met US tech giants in Austin.",
    "The mission, from 11 to 21 February 2024, had 15 participants.",
    "The USTDA co-organised the visit.",
    "Morocco seeks foreign investment.",
    "The government backs the digital transformation.",
    "Another mission is planned for next year.",
]
ITEMS = list(zip(HYPS, REFS, strict=True))


# --- sacrebleu -------------------------------------------------------------------


def test_bleu_equals_sacrebleu_called_directly():
    ours = Bleu().score(ITEMS)
    direct = sacrebleu.corpus_bleu(HYPS, [REFS])
    assert ours.score == pytest.approx(direct.score, abs=1e-9)
    assert ours.n == len(ITEMS)


def test_chrf_equals_sacrebleu_called_directly():
    assert Chrf().score(ITEMS).score == pytest.approx(sacrebleu.corpus_chrf(HYPS, [REFS]).score, abs=1e-9)


def test_bleu_and_chrf_textbook_values():
    assert Bleu().score([("the cat sat on the mat", "the cat sat on the mat")]).score == pytest.approx(100)
    assert Chrf().score([("le chat dort", "le chat dort")]).score == pytest.approx(100)
    assert Chrf().score([("", "le chat dort")]).score == 0
    # By hand: 1-4-gram precisions 3/4, 2/3, 1/2 and (exp smoothing of 0/1) 1/2, no brevity penalty.
    expected = 100 * (3 / 4 * 2 / 3 * 1 / 2 * 1 / 2) ** 0.25
    assert Bleu().score([("a b c d", "a b c e")]).score == pytest.approx(expected, abs=1e-9)


def test_sacrebleu_signature_is_sacrebleus_own():
    direct = sacrebleu.metrics.BLEU()
    direct.corpus_score(HYPS, [REFS])
    score = Bleu().score(ITEMS)
    assert score.extra["sacrebleu_signature"] == str(direct.get_signature())
    assert f"version:{sacrebleu.__version__}" in score.extra["sacrebleu_signature"]
    chrf = sacrebleu.metrics.CHRF()
    chrf.corpus_score(HYPS, [REFS])
    assert Chrf().score(ITEMS).extra["sacrebleu_signature"] == str(chrf.get_signature())


def test_bleu_item_scores_are_sentence_bleu_with_effective_order():
    score = Bleu().score(ITEMS)
    sentence = sacrebleu.metrics.BLEU(effective_order=True)
    for (hyp, ref), value in zip(ITEMS, score.items, strict=True):
        assert value == pytest.approx(sentence.sentence_score(hyp, [ref]).score)


# --- ROUGE -----------------------------------------------------------------------


def test_rouge_textbook_values():
    # "the cat sat on the mat" vs "the cat is on the mat": 5 of 6 unigrams, 3 of 5 bigrams,
    # LCS "the cat on the mat" = 5 of 6 tokens.
    item = [("the cat sat on the mat", "the cat is on the mat")]
    assert Rouge("rouge1", "rouge-default").score(item).score == pytest.approx(100 * 5 / 6)
    assert Rouge("rouge2", "rouge-default").score(item).score == pytest.approx(100 * 3 / 5)
    assert Rouge("rougeL", "rouge-default").score(item).score == pytest.approx(100 * 5 / 6)


def test_rouge_default_equals_rouge_score_called_directly():
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    direct = [scorer.score(ref, hyp) for hyp, ref in ITEMS]
    for rouge_type in ("rouge1", "rouge2", "rougeL"):
        expected = 100 * sum(d[rouge_type].fmeasure for d in direct) / len(direct)
        assert Rouge(rouge_type, "rouge-default").score(ITEMS).score == pytest.approx(expected)


def test_french_tokenizer_keeps_accented_words_whole():
    assert "délégation" in FrenchTokenizer().tokenize("La délégation marocaine")
    assert "délégation" not in RougeDefaultTokenizer().tokenize("La délégation marocaine")
    assert RougeDefaultTokenizer().tokenize("délégation") == ["d", "l", "gation"]
    # Typographic and straight apostrophes give the same tokens; the elision is split off.
    assert FrenchTokenizer().tokenize("l’État") == FrenchTokenizer().tokenize("l'État") == ["l'", "état"]


def test_french_rouge_does_not_reward_accent_fragments():
    # Different words that share accent-split fragments ("d", "l") score higher by default.
    item = [("délégation", "développement local")]
    assert Rouge("rouge1", "french").score(item).score == 0
    assert Rouge("rouge1", "rouge-default").score(item).score > 0


def test_rouge_metrics_are_labelled_by_tokenizer():
    metrics = rouge_metrics()
    assert [m.key for m in metrics] == [
        "rouge1-fr",
        "rouge2-fr",
        "rougeL-fr",
        "rouge1-default",
        "rouge2-default",
        "rougeL-default",
    ]
    assert "French tokenizer" in metrics[0].label
    assert "published" in metrics[3].label


# --- signatures, bootstrap -------------------------------------------------------


def test_signature_records_everything_needed_to_reproduce():
    score = Rouge("rougeL", "french").score(ITEMS, BootstrapSettings(samples=200, seed=7))
    for part in ("rougeL-fr", "tok:french-v1", "stem:no", "n:6", "bs:200", "rs:7", "rouge-score:", "numpy:"):
        assert part in score.signature


def test_bootstrap_interval_is_seeded_and_brackets_the_score():
    bs = BootstrapSettings(samples=300, seed=3)
    a = Chrf().score(ITEMS, bs)
    b = Chrf().score(ITEMS, bs)
    assert a.ci == b.ci
    assert a.ci[0] <= a.score <= a.ci[1]
    assert a.ci != Chrf().score(ITEMS, BootstrapSettings(samples=300, seed=4)).ci


def test_small_n_gets_no_interval_but_says_so():
    score = Bleu().score(ITEMS[:4], BootstrapSettings(samples=100, seed=1))
    assert score.ci is None and score.ci_note == TOO_SMALL and score.n == 4
    assert "bs:" not in score.signature


def test_paired_bootstrap_prefers_the_reference_itself():
    bs = BootstrapSettings(samples=300, seed=1)
    perfect = [(ref, ref) for _, ref in ITEMS]
    result = Chrf().compare(perfect, ITEMS, bs)
    assert result.delta > 0 and result.ci[0] > 0 and result.p_value == 0.0
    tie = Chrf().compare(ITEMS, ITEMS, bs)
    assert tie.delta == 0 and tie.p_value == 1.0


# --- faithfulness, clustering ----------------------------------------------------


def test_faithfulness_is_micro_average_of_supported_facts():
    score = Faithfulness().score([(4, ["2023"]), (6, []), (2, ["Paris", "Lyon"])])
    assert score.score == pytest.approx(100 * (3 + 6 + 0) / 12)
    assert score.items == pytest.approx([75.0, 100.0, 0.0])


def _triples(pred: list[int], gold: list[int]) -> list[tuple[str, str, str]]:
    return [(f"a{i}", f"p{p}", f"g{g}") for i, (p, g) in enumerate(zip(pred, gold, strict=True))]


def test_clustering_textbook_cases():
    pytest.importorskip("eval.clustering", reason="eval/clustering.py comes from the dedup branch")
    ari, f1 = ClusteringMetric("ari"), ClusteringMetric("f1")
    same = _triples([0, 0, 1, 1, 2], [5, 5, 6, 6, 7])  # same partition, other label names
    assert ari.score(same).score == pytest.approx(1.0)
    assert f1.score(same).score == pytest.approx(1.0)
    # The classic example (Hubert & Arabie; scikit-learn's documentation): ARI = 0.2424...
    example = _triples([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1])
    assert ari.score(example).score == pytest.approx(0.24242424, abs=1e-6)
    # Predicted pairs {01, 23, 45}; gold pairs {01, 02, 12, 34, 35, 45}: 2 in common.
    assert ClusteringMetric("precision").score(example).score == pytest.approx(2 / 3)
    assert ClusteringMetric("recall").score(example).score == pytest.approx(2 / 6)
    assert f1.score(example).score == pytest.approx(4 / 9)
    # All singletons against one gold cluster: chance level.
    assert ari.score(_triples([0, 1, 2, 3], [0, 0, 0, 0])).score == pytest.approx(0.0, abs=1e-9)
    assert ari.score(example, BootstrapSettings()).ci is None


def test_clustering_signature_names_scikit_learn():
    """The pair counts and the ARI are scikit-learn's: its version belongs in the signature."""
    import sklearn

    score = ClusteringMetric("ari").score(_triples([0, 0, 1], [0, 0, 1]))
    assert f"scikit-learn:{sklearn.__version__}" in score.signature.replace(" ", "")
