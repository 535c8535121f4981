"""The transformers backend on a tiny MarianMT built here (random weights, corpus SentencePiece).

The tiny model's "English" is noise, so these tests check what holds for any
weights: order, batching, caching, the input limit and the guards, all through
the code users run (``select_translator`` on a local model directory).
"""

from __future__ import annotations

import copy
import shutil

import pytest

from pipeline.cache import OutputCache
from pipeline.nlp import ModelMissingError
from pipeline.records import Translation
from pipeline.rundir import ARTICLES, TRANSLATIONS
from pipeline.settings import Settings
from pipeline.translate import TranslateStage, select_translator
from pipeline.translate.base import translate_cached
from pipeline.translate.marian import TransformersTranslator
from pipeline.translate.neural import GenerationSettings
from pipeline.translate.segment import split_clauses
from tests.tiny_marian import session_tiny_marian


@pytest.fixture(scope="session")
def tiny_marian_dir(tmp_path_factory, seed_paths):
    return session_tiny_marian(tmp_path_factory, seed_paths)


@pytest.fixture(scope="session")
def neural_settings(tiny_marian_dir) -> Settings:
    return Settings.load(
        overrides={
            "translate.backend": "neural",
            "translate.model": str(tiny_marian_dir),
            "translate.batch_size": 4,
            "translate.beam_size": 1,
            "translate.max_input_tokens": 128,
            "cache.enabled": False,
        }
    )


# The random model rarely emits EOS, so it decodes up to its output budget: a short
# budget keeps these tests fast without changing what they check.
SHORT_BUDGET = GenerationSettings(beam_size=1, max_length_ratio=0.5, max_length_extra=6)


@pytest.fixture(scope="session")
def neural(neural_settings) -> TransformersTranslator:
    translator, notes = select_translator(neural_settings)
    assert isinstance(translator, TransformersTranslator)
    assert "as configured" in notes[0]
    translator.generation = SHORT_BUDGET
    return translator


@pytest.fixture
def small_run(seed_run, seed_articles):
    """The seed run cut down to two articles (the stage tests need a run, not volume)."""
    seed_run.write_records(ARTICLES, [seed_articles[1], seed_articles[4]])
    return seed_run


@pytest.fixture(scope="session")
def sentences(seed_articles) -> list[str]:
    texts = [s for article in seed_articles for s in article.sentence_texts()]
    short = [s for s in texts if len(s) < 200]
    return short[:14]


def variant(translator: TransformersTranslator, **changes) -> TransformersTranslator:
    """The same loaded model with other settings (no reload)."""
    other = copy.copy(translator)
    for name, value in changes.items():
        setattr(other, name, value)
    return other


def test_loaded_from_a_local_directory_with_provenance(neural, tiny_marian_dir):
    assert neural.backend == "neural"
    assert neural.model == str(tiny_marian_dir.resolve())
    assert neural.revision is None  # a local directory has no hub revision
    params = neural.params()
    assert params["beam_size"] == 1 and params["max_input_tokens"] == 128


def test_batches_sorted_by_length_come_back_in_input_order(neural, sentences):
    batched = [r.text for r in neural.translate(sentences)]
    one_at_a_time = [r.text for r in variant(neural, batch_size=1).translate(sentences)]
    assert len(set(batched)) > len(sentences) // 2  # outputs differ per input: order is observable
    assert batched == one_at_a_time
    reversed_out = [r.text for r in neural.translate(sentences[::-1])]
    assert reversed_out == batched[::-1]


def test_empty_and_whitespace_sentences_stay_empty(neural, sentences):
    out = neural.translate(["", sentences[0], "  \n "])
    assert out[0].text == "" and out[2].text == ""
    assert out[1].text == neural.translate([sentences[0]])[0].text


def test_cache_makes_second_call_translate_nothing_new(neural, sentences):
    cache = OutputCache(":memory:")
    first, stats1 = translate_cached(neural, sentences + sentences[:3], cache)
    assert len(stats1.translated) == len(set(sentences))  # duplicates translated once
    second, stats2 = translate_cached(neural, sentences, cache)
    assert stats2.translated == [] and stats2.hits == len(sentences)
    assert [r.text for r in second] == [r.text for r in first[: len(sentences)]]
    new = "Une phrase entièrement nouvelle pour le cache."
    _, stats3 = translate_cached(neural, [*sentences, new], cache)
    assert stats3.translated == [new]
    # other parameters are another cache entry
    _, stats4 = translate_cached(variant(neural, max_input_tokens=64), sentences[:2], cache)
    assert len(stats4.translated) == 2


def test_stage_rerun_with_shared_cache_translates_nothing(neural, neural_settings, small_run):
    cache = OutputCache(":memory:")
    stage = TranslateStage(neural_settings, cache=cache, translator=neural)
    first = stage.run(small_run)
    written = small_run.file(TRANSLATIONS).read_bytes()
    assert first.counts["translated"] > 0 and first.counts["articles"] == 2
    second = TranslateStage(neural_settings, cache=cache, translator=neural).run(small_run)
    assert second.counts["translated"] == 0
    assert second.counts["cached"] == second.counts["sentences"]
    assert small_run.file(TRANSLATIONS).read_bytes() == written
    records = small_run.read_records(TRANSLATIONS, Translation)
    assert {r.provenance.backend for r in records} == {"neural"}


def test_long_sentences_are_split_at_clauses_never_truncated(neural, seed_articles):
    limit = 24
    short_limit = variant(neural, max_input_tokens=limit)
    long_sentence = max((s for a in seed_articles for s in a.sentence_texts()), key=len)
    assert len(short_limit.token_ids([long_sentence])[0]) > limit
    pieces = split_clauses(long_sentence, short_limit.fits)
    assert len(pieces) > 1 and all(short_limit.fits(p) for p in pieces)
    assert " ".join(pieces).split() == long_sentence.split()  # nothing dropped
    short = "Le ministre est arrivé hier."
    rendered = short_limit.translate([long_sentence, short])
    assert rendered[0].split and not rendered[1].split
    # every piece was translated, in order, and joined: no truncation anywhere
    expected = " ".join(t for t in short_limit.translate_pieces(pieces) if t)
    assert rendered[0].text == expected


def test_a_single_overlong_token_run_is_cut_not_dropped(neural):
    url = "https://exemple.fr/" + "a1b2c3d4" * 40
    tiny_limit = variant(neural, max_input_tokens=16)
    pieces = split_clauses(url, tiny_limit.fits)
    assert "".join(pieces) == url and all(tiny_limit.fits(p) for p in pieces)
    (rendered,) = tiny_limit.translate([url])
    assert rendered.split


def test_split_is_recorded_in_the_stage_alignment(neural, neural_settings, small_run):
    settings = neural_settings.replace({"translate.max_input_tokens": 24})
    stage = TranslateStage(
        settings, cache=OutputCache(":memory:"), translator=variant(neural, max_input_tokens=24)
    )
    result = stage.run(small_run)
    records = small_run.read_records(TRANSLATIONS, Translation)
    split = [a for r in records for a in r.alignment if a.split]
    assert split and result.counts["split_sentences"] == len(split)
    assert any("split at clause boundaries" in note for note in result.notes)


def test_repetition_guard_removes_repeated_ngrams(neural, sentences):
    def repeats(text: str) -> bool:
        words = text.split()
        grams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
        return len(grams) != len(set(grams))

    unguarded = [r.text for r in neural.translate(sentences)]
    guard = GenerationSettings(beam_size=1, no_repeat_ngram_size=3, max_length_ratio=0.5, max_length_extra=6)
    guarded = [r.text for r in variant(neural, generation=guard).translate(sentences)]
    assert any(repeats(t) for t in unguarded)  # the random model loops, so the guard has work to do
    assert not any(repeats(t) for t in guarded)


def test_beam_search_runs_and_is_recorded(neural, sentences):
    beam = variant(
        neural, generation=GenerationSettings(beam_size=3, max_length_ratio=0.5, max_length_extra=6)
    )
    out = beam.translate(sentences[:4])
    assert len(out) == 4 and all(r.text for r in out)
    assert beam.params()["beam_size"] == 3


def test_batch_size_is_in_the_cache_key_with_beam_search_only(neural, sentences):
    # beam search over a padded batch depends on the batch-mates; greedy output does not
    beam = variant(
        neural, generation=GenerationSettings(beam_size=3, max_length_ratio=0.5, max_length_extra=6)
    )
    assert beam.params()["batch_size"] == beam.batch_size
    assert variant(beam, batch_size=1).params() != beam.params()
    assert "batch_size" not in neural.params() and neural.generation.beam_size == 1
    assert variant(neural, batch_size=1).params() == neural.params()


def test_catalogue_model_missing_offline_is_a_clear_error():
    settings = Settings.load(overrides={"translate.backend": "neural", "translate.model": "opus-mt-fr-en"})
    with pytest.raises(ModelMissingError) as err:
        select_translator(settings)
    message = str(err.value)
    assert "Helsinki-NLP/opus-mt-fr-en" in message and "pipeline models download opus-mt-fr-en" in message
    assert "d1e0695bb7088571b5fdc25e950f415ad45c8ff1" in message


def test_pickled_weights_are_refused(tiny_marian_dir, tmp_path):
    import torch
    from safetensors.torch import load_file

    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_marian_dir, pickled)
    state = load_file(pickled / "model.safetensors")
    (pickled / "model.safetensors").unlink()
    torch.save(state, pickled / "pytorch_model.bin")
    settings = Settings.load(overrides={"translate.backend": "neural", "translate.model": str(pickled)})
    with pytest.raises(ModelMissingError, match="safetensors"):
        select_translator(settings)
