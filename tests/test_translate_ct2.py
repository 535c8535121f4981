"""The CTranslate2 backend: conversion of the tiny Marian and equivalence with transformers."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("ctranslate2")

from pipeline.cache import OutputCache
from pipeline.records import Translation
from pipeline.rundir import ARTICLES, TRANSLATIONS
from pipeline.settings import Settings
from pipeline.translate import TranslateStage, select_translator
from pipeline.translate.ct2 import METADATA, CT2MissingError, CT2Translator, convert
from pipeline.translate.marian import TransformersTranslator
from pipeline.translate.neural import GenerationSettings
from tests.tiny_marian import session_tiny_marian

BUDGET = {"max_length_ratio": 0.6, "max_length_extra": 6}


@pytest.fixture(scope="session")
def tiny_marian_dir(tmp_path_factory, seed_paths):
    return session_tiny_marian(tmp_path_factory, seed_paths)


@pytest.fixture(scope="session")
def ct2_dirs(tiny_marian_dir, tmp_path_factory):
    base = tmp_path_factory.mktemp("ct2")
    return {
        "int8": convert(tiny_marian_dir, base / "int8"),
        "float32": convert(tiny_marian_dir, base / "float32", quantization="float32"),
    }


def settings_for(backend: str, model_dir, ct2_dir="") -> Settings:
    return Settings.load(
        overrides={
            "translate.backend": backend,
            "translate.model": str(model_dir),
            "translate.ct2_dir": str(ct2_dir),
            "translate.beam_size": 1,
            "translate.batch_size": 4,
            "cache.enabled": False,
        }
    )


@pytest.fixture(scope="session")
def engines(tiny_marian_dir, ct2_dirs):
    hf, _ = select_translator(settings_for("neural", tiny_marian_dir))
    ct2_float, _ = select_translator(settings_for("ct2", tiny_marian_dir, ct2_dirs["float32"]))
    ct2_int8, _ = select_translator(settings_for("ct2", tiny_marian_dir, ct2_dirs["int8"]))
    assert isinstance(hf, TransformersTranslator) and isinstance(ct2_float, CT2Translator)
    for engine in (hf, ct2_float, ct2_int8):
        engine.generation = GenerationSettings(beam_size=1, **BUDGET)
    return {"hf": hf, "float32": ct2_float, "int8": ct2_int8}


@pytest.fixture(scope="session")
def sentences(seed_articles) -> list[str]:
    return [s for a in seed_articles[:2] for s in a.sentence_texts() if len(s) < 300][:10]


def test_conversion_writes_a_self_contained_directory(ct2_dirs, tiny_marian_dir):
    out = ct2_dirs["int8"]
    for name in ("model.bin", "source.spm", "target.spm", "vocab.json", "tokenizer_config.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "tokenizer_config.json").read_text())["tokenizer_class"] == "MarianTokenizer"
    metadata = json.loads((out / METADATA).read_text())
    assert metadata["source_model"] == str(tiny_marian_dir.resolve())
    assert metadata["quantization"] == "int8"
    assert metadata["max_positions"] == 512


def test_greedy_token_ids_equal_between_transformers_and_ctranslate2(engines, sentences):
    hf, ct2 = engines["hf"], engines["float32"]
    inputs = hf.token_ids(sentences)
    assert inputs == ct2.token_ids(sentences)  # the same tokenizer travelled with the weights
    for batch in ([ids] for ids in inputs):
        assert hf.generate_ids(batch) == ct2.generate_ids(batch)
    # and through the whole path: splitting, length-sorted batches, decoding
    assert [r.text for r in hf.translate(sentences)] == [r.text for r in ct2.translate(sentences)]


def test_repetition_guard_is_the_same_in_both_engines(engines, sentences):
    guard = GenerationSettings(beam_size=1, no_repeat_ngram_size=3, **BUDGET)
    hf, ct2 = engines["hf"], engines["float32"]
    hf_ids = [hf_out for ids in hf.token_ids(sentences) for hf_out in _with(hf, guard).generate_ids([ids])]
    ct2_ids = [out for ids in ct2.token_ids(sentences) for out in _with(ct2, guard).generate_ids([ids])]
    assert hf_ids == ct2_ids


def _with(engine, generation):
    import copy

    other = copy.copy(engine)
    other.generation = generation
    return other


def test_int8_backend_translates_in_input_order_with_provenance(engines, sentences, tiny_marian_dir):
    int8 = engines["int8"]
    assert int8.backend == "ct2"
    assert int8.params()["quantization"] == "int8"
    assert int8.model == str(tiny_marian_dir.resolve())
    assert int8.ct2.num_translators >= 1  # workers follow the cores present
    out = [r.text for r in int8.translate(sentences)]
    assert all(out) and len(set(out)) > len(sentences) // 2
    assert [r.text for r in int8.translate(sentences[::-1])] == out[::-1]


def test_stage_runs_on_ct2(engines, tiny_marian_dir, ct2_dirs, seed_run, seed_articles):
    seed_run.write_records(ARTICLES, [seed_articles[1]])
    settings = settings_for("ct2", tiny_marian_dir, ct2_dirs["int8"])
    result = TranslateStage(settings, cache=OutputCache(":memory:"), translator=engines["int8"]).run(seed_run)
    (record,) = seed_run.read_records(TRANSLATIONS, Translation)
    assert result.backend == "ct2" and record.provenance.backend == "ct2"
    assert record.provenance.params["quantization"] == "int8"
    assert len(record.alignment) == len(seed_articles[1].sentences)


def test_auto_prefers_ct2_when_configured_and_says_so(tiny_marian_dir, ct2_dirs):
    translator, notes = select_translator(settings_for("auto", tiny_marian_dir, ct2_dirs["int8"]))
    assert translator.backend == "ct2"
    assert "auto chose ct2" in notes[0]


def test_auto_falls_back_to_neural_when_the_ct2_dir_is_bad(tiny_marian_dir, tmp_path):
    translator, notes = select_translator(settings_for("auto", tiny_marian_dir, tmp_path / "not-converted"))
    assert translator.backend == "neural"
    assert "ct2 unavailable" in notes[0] and "pipeline models convert" in notes[0]


def test_ct2_without_a_converted_model_is_a_clear_error(tiny_marian_dir, tmp_path):
    with pytest.raises(CT2MissingError, match="ct2_dir is empty"):
        select_translator(settings_for("ct2", tiny_marian_dir))
    with pytest.raises(CT2MissingError, match="pipeline models convert"):
        select_translator(settings_for("ct2", tiny_marian_dir, tmp_path))


def test_conversion_refuses_pickled_weights(tiny_marian_dir, tmp_path):
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_marian_dir, pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(FileNotFoundError, match="safetensors"):
        convert(pickled, tmp_path / "out")
