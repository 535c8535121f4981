"""The neural summariser, proven on a tiny mBART built from the seed corpus at test time.

Its weights are random, so its words are junk: the tests check the machinery
(chunking, map-reduce, batching, order, length limits, trimming, provenance,
errors), running the real `generate` every time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

import pytest
import torch

from pipeline.catalogue import get_card
from pipeline.nlp import ModelMissingError
from pipeline.records import Cluster, Summary
from pipeline.rundir import CLUSTERS, SUMMARIES, RunDir
from pipeline.summarize import SummarizeStage
from pipeline.summarize.neural import GenerationSettings, NeuralSummarizer, trim_to_sentence

SMALL = GenerationSettings(num_beams=2, no_repeat_ngram_size=3, max_new_tokens=12)


@pytest.fixture(scope="session")
def tiny_dir(tiny_summarizer_dir):
    return tiny_summarizer_dir


@pytest.fixture(scope="session")
def tiny(tiny_dir) -> NeuralSummarizer:
    card = get_card(str(tiny_dir), task="summarize")
    loaded = NeuralSummarizer.load(card, batch_size=3)
    loaded.generation = SMALL
    return loaded


def variant(base: NeuralSummarizer, **kwargs) -> NeuralSummarizer:
    """Same model and tokenizer, other settings."""
    return NeuralSummarizer(
        base.model,
        base.tokenizer,
        base.card,
        kwargs.pop("generation", base.generation),
        batch_size=kwargs.pop("batch_size", base.batch_size),
        max_input_tokens=kwargs.pop("max_input_tokens", base.max_input_tokens),
    )


def test_loads_from_a_local_directory(tiny, tiny_dir):
    assert tiny.card.is_local and tiny.card.model_id == str(tiny_dir.resolve())
    assert tiny.max_input_tokens == 64  # the tiny model's position limit


def test_chunks_fit_the_model_and_keep_every_word(tiny, seed_articles):
    sentences = seed_articles[1].sentence_texts()
    assert sum(tiny.count_tokens(sentences)) > tiny.max_input_tokens  # too long for one pass
    chunks = tiny.chunk(sentences)
    assert len(chunks) > 1
    assert all(n <= tiny.max_input_tokens for n in tiny.count_tokens(chunks))
    assert " ".join(chunks).split() == " ".join(sentences).split()


def test_a_sentence_longer_than_the_limit_is_split(tiny, seed_articles):
    giant = " ".join(seed_articles[1].sentence_texts()[:4]).replace(".", ",")
    chunks = tiny.chunk([giant])
    assert len(chunks) > 1
    assert all(n <= tiny.max_input_tokens for n in tiny.count_tokens(chunks))
    assert " ".join(chunks).split() == giant.split()


def test_map_reduce_on_long_inputs_only(tiny, seed_articles):
    long_doc = seed_articles[1].sentence_texts()
    short_doc = ["Une délégation marocaine s'est rendue aux États-Unis."]
    long_out, short_out = tiny.summarize([long_doc, short_doc])
    assert long_out.chunks > 1 and long_out.levels >= 2
    assert short_out.chunks == 1 and short_out.levels == 1
    assert long_out.text and short_out.text
    # The final summary is one generation: it respects the output limit.
    assert (
        len(tiny.tokenizer(long_out.text, add_special_tokens=False)["input_ids"]) <= SMALL.max_new_tokens + 2
    )


def test_batches_are_length_sorted_and_order_is_restored(tiny, seed_articles):
    texts = [s for s in seed_articles[4].sentence_texts()[:7] if len(s.split()) > 3]
    one_by_one = [variant(tiny, batch_size=1).generate([t])[0].text for t in texts]
    batched = variant(tiny, batch_size=3).generate(texts)
    assert [g.text for g in batched] == one_by_one
    assert len(set(one_by_one)) > 1  # outputs depend on inputs, so order is really checked
    reversed_ = variant(tiny, batch_size=3).generate(texts[::-1])
    assert [g.text for g in reversed_] == one_by_one[::-1]


def test_length_limit_and_sentence_complete_trimming(tiny, seed_articles):
    texts = [s for a in seed_articles[:3] for s in a.sentence_texts()[:4] if len(s.split()) > 3]
    results = tiny.generate(texts)
    assert all(g.new_tokens <= SMALL.max_new_tokens for g in results)
    cut = [g for g in results if g.hit_limit]
    assert cut, "random weights rarely stop early: some outputs must hit the limit"
    for g in cut:
        assert re.search(r"[.!?…»\"”)]$", g.text), g
        assert g.raw.startswith(g.text.rstrip("…")), g
    assert any(g.text != g.raw and g.text.endswith(".") for g in cut), "no output was trimmed at a full stop"


def test_trim_to_sentence():
    assert trim_to_sentence("Il est venu. Puis il") == "Il est venu."
    assert trim_to_sentence("« Nous venons. » Puis") == "« Nous venons. »"
    assert trim_to_sentence("Pas de fin") == "Pas de fin…"


def test_target_words_caps_new_tokens(tiny):
    card = dataclasses.replace(tiny.card, generation={"max_new_tokens": 128, "min_new_tokens": 20})
    settings = GenerationSettings.from_card(card, target_words=10)
    assert settings.max_new_tokens == 20
    assert settings.min_new_tokens <= settings.max_new_tokens


def test_missing_model_says_how_to_get_it():
    card = get_card("barthez-orangesum", task="summarize")
    with pytest.raises(ModelMissingError) as err:
        NeuralSummarizer.load(card, local_files_only=True)
    message = str(err.value)
    assert card.model_id in message and card.revision in message and "hf download" in message
    assert f"pipeline models download {card.key}" in message  # the one hint every stage gives


def test_pickle_only_weights_are_refused(tiny, tmp_path):
    # What an old hub repository holds: config, tokenizer and a pickled state dict only.
    tiny.model.config.save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    torch.save(tiny.model.state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(ModelMissingError):
        NeuralSummarizer.load(get_card(str(tmp_path), task="summarize"))


def test_stage_with_the_neural_backend(tiny_dir, seed_run, seed_articles, settings):
    """The stage end to end on two articles and their event, with the tiny model."""
    articles = seed_articles[1:3]
    run = RunDir(seed_run.path)
    run.write_records("articles.jsonl", articles)
    run.write_records(
        CLUSTERS,
        [Cluster("event-x", [a.id for a in articles], articles[0].id, None, None, [], [])],
    )
    config = settings.replace(
        {
            "summarize.backend": "neural",
            "summarize.model": str(tiny_dir),
            "summarize.target_words": 6,  # -> at most 12 new tokens
            "summarize.batch_size": 2,
        }
    )
    result = SummarizeStage(config).run(run)
    summaries = run.read_records(SUMMARIES, Summary)
    assert result.backend == "neural" and result.counts["events"] == 1
    assert [s.kind for s in summaries] == ["article", "article", "event"]
    for s in summaries:
        assert s.text
        p = s.provenance
        assert (p.backend, p.model, p.revision) == ("neural", str(tiny_dir.resolve()), None)
        assert p.params["generation"]["max_new_tokens"] == 12
        assert p.params["max_input_tokens"] == 64
    article = summaries[0]
    expected = hashlib.sha256("\n".join(t.strip() for t in articles[0].sentence_texts()).encode()).hexdigest()
    assert article.provenance.input_sha256 == expected


def test_forcing_neural_without_the_model_is_an_error(seed_run, settings):
    config = settings.replace({"summarize.backend": "neural", "summarize.model": "barthez-orangesum"})
    with pytest.raises(ModelMissingError):
        SummarizeStage(config).run(seed_run)


def test_auto_uses_a_neural_model_that_loads(tiny_dir, settings):
    from pipeline.summarize import NeuralBackend, choose_backend

    notes: list[str] = []
    config = settings.replace({"summarize.model": str(tiny_dir)}).summarize
    assert config.backend == "auto"
    backend = choose_backend(config, notes)
    assert isinstance(backend, NeuralBackend) and notes == []


def test_an_empty_document_gives_an_empty_summary(tiny):
    empty, short = tiny.summarize([[], ["Une délégation marocaine est venue."]])
    assert (empty.text, empty.chunks) == ("", 0)
    assert short.text and short.chunks == 1
