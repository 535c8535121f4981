"""Incremental and resumable runs: kill -9 in the middle of a stage, resume, compare."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.records import Article, Translation
from pipeline.rundir import RunDir

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def many_articles(tmp_path_factory, seed_articles) -> Path:
    """~60 French articles recombined from the seed paragraphs (enough for a few seconds of work)."""
    paragraphs = [p for a in seed_articles for p in a.paragraph_texts() if len(p.split()) > 25]
    folder = tmp_path_factory.mktemp("many")
    for i in range(60):
        chosen = [paragraphs[(i * 7 + k * 3) % len(paragraphs)] for k in range(3)]
        (folder / f"art{i:03d}.txt").write_text("\n\n".join(chosen) + f"\n\nArticle numéro {i}.\n")
    return folder


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "PIPELINE_CACHE": str(cache), "PYTHONPATH": str(REPO)}


def _ingest_cmd(src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline", "ingest", str(src), "--out", str(out), "-q"]


def _committed(cache: Path, kind: str) -> int:
    """Outputs of ``kind`` committed to the cache file (read-only, while another process writes)."""
    try:
        with sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM outputs WHERE kind = ?", (kind,)).fetchone()[0]
    except sqlite3.Error:
        return 0  # not created yet


def test_kill_9_mid_ingest_then_resume_equals_uninterrupted(tmp_path, many_articles):
    reference = tmp_path / "reference"
    subprocess.run(_ingest_cmd(many_articles, reference), env=_env(tmp_path / "c1.sqlite"), check=True)

    out = tmp_path / "killed"
    cache = tmp_path / "c2.sqlite"
    env = _env(cache)
    proc = subprocess.Popen(_ingest_cmd(many_articles, out), env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _committed(cache, "ingest"):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed = _committed(cache, "ingest")
    assert 0 < committed < 60, "the stage must be killed after its first commit and before its last"
    assert not (out / "articles.jsonl").exists()

    subprocess.run(_ingest_cmd(many_articles, out), env=env, check=True)
    want = (reference / "articles.jsonl").read_text().splitlines()
    got = (out / "articles.jsonl").read_text().splitlines()
    assert got == want
    ids = [json.loads(line)["id"] for line in got]
    assert len(ids) == len(set(ids)) == 60
    counts = json.loads((out / "manifest.json").read_text())["stages"]["ingest"]["counts"]
    assert counts["cached"] == committed  # what was committed before the kill is not analysed again
    assert not list(out.glob(".*.tmp"))  # the killed stream's debris is gone


def test_new_article_is_the_only_one_computed(tmp_path, seed_paths, monkeypatch):
    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "cache.sqlite"))
    src = tmp_path / "in"
    src.mkdir()
    for path in seed_paths[:4]:
        (src / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "run"
    assert main(["ingest", str(src), "--out", str(out), "-q"]) == 0
    run = RunDir(out)
    first = run.read_json("manifest.json")["stages"]["ingest"]
    assert first["counts"]["cached"] == 0

    assert main(["ingest", str(src), "--out", str(out), "-q"]) == 0  # unchanged: skipped
    assert run.read_json("manifest.json")["stages"]["ingest"] == first

    (src / seed_paths[4].name).write_bytes(seed_paths[4].read_bytes())
    assert main(["ingest", str(src), "--out", str(out), "-q"]) == 0
    counts = run.read_json("manifest.json")["stages"]["ingest"]["counts"]
    assert counts == {"in": 5, "out": 5, "rejected": 0, "cached": 4}


# --- a new article through every stage ---------------------------------------------


@pytest.fixture(scope="module")
def grown_run(tmp_path_factory, seed_paths):
    """A full run on four seed articles, then the same run again after a fifth arrives.

    Returns the run directory, the input directory, the cache, and each run's manifest.
    """
    tmp = tmp_path_factory.mktemp("grown")
    src, out, cache = tmp / "in", tmp / "run", tmp / "cache.sqlite"
    src.mkdir()
    for path in seed_paths[:4]:
        (src / path.name).write_bytes(path.read_bytes())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIPELINE_CACHE", str(cache))
        assert main(["run", str(src), "--out", str(out), "-q"]) == 0
        before = RunDir(out).read_json("manifest.json")["stages"]
        (src / seed_paths[4].name).write_bytes(seed_paths[4].read_bytes())
        assert main(["run", str(src), "--out", str(out), "-q"]) == 0
        after = RunDir(out).read_json("manifest.json")["stages"]
    return out, src, cache, before, after


def test_a_new_article_is_the_only_one_computed_in_every_stage(grown_run):
    out, _, _, before, after = grown_run
    assert before["dedup"]["counts"]["embeddings_cached"] == 0
    assert before["summarize"]["counts"]["cached"] == 0
    assert before["translate"]["counts"]["cached"] == 0

    assert after["ingest"]["counts"]["cached"] == 4
    assert after["dedup"]["counts"]["embeddings_cached"] == 4  # only the new article was encoded
    # Four article summaries and the summary of the event 000-002 are reused; only 004's is made.
    assert after["summarize"]["counts"]["out"] == 6
    assert after["summarize"]["counts"]["cached"] == 5

    run = RunDir(out)
    new_article = next(a for a in run.read_records("articles.jsonl", Article) if a.name.startswith("004"))
    new_targets = {new_article.id, f"summary-{new_article.id}"}
    translations = run.read_records("translations.jsonl", Translation)
    new_sentences = sum(len(t.alignment) for t in translations if t.target in new_targets)
    old_sentences = sum(len(t.alignment) for t in translations if t.target not in new_targets)
    counts = after["translate"]["counts"]
    assert 0 < counts["translated"] <= new_sentences  # nothing from the old texts was translated again
    assert counts["cached"] >= old_sentences


def test_a_grown_run_equals_a_run_made_from_scratch(grown_run, tmp_path, monkeypatch):
    out, src, _, _, _ = grown_run
    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "fresh.sqlite"))
    fresh = tmp_path / "fresh"
    stages = "ingest,dedup,summarize,translate"
    assert main(["run", str(src), "--out", str(fresh), "-q", "--stages", stages]) == 0
    for name in ("articles", "passages", "clusters", "summaries", "translations"):
        name = f"{name}.jsonl"
        assert (fresh / name).read_bytes() == (out / name).read_bytes(), name


def test_an_unchanged_rerun_skips_every_stage_without_loading_any_model(grown_run):
    out, src, cache, _, after = grown_run
    probe = (
        "import sys, json\n"
        "from pipeline.cli import main\n"
        f"code = main(['run', {str(src)!r}, '--out', {str(out)!r}, '-q'])\n"
        "heavy = ('spacy', 'torch', 'transformers', 'sentence_transformers', 'sklearn', 'datasketch',\n"
        "         'ctranslate2', 'trafilatura', 'rouge_score', 'sacrebleu')\n"
        "print(json.dumps([code, [m for m in heavy if m in sys.modules]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=_env(cache), capture_output=True, text=True, check=True
    )
    code, imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert code == 0
    assert imported == []
    assert RunDir(out).read_json("manifest.json")["stages"] == after


# --- kill -9 in the middle of a model stage ----------------------------------------


def test_kill_9_mid_summarize_then_resume_equals_uninterrupted(tmp_path, many_articles, monkeypatch):
    base = tmp_path / "base"
    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "c0.sqlite"))
    assert main(["run", str(many_articles), "--out", str(base), "-q", "--stages", "ingest,dedup"]) == 0
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    shutil.copytree(base, reference)
    shutil.copytree(base, killed)

    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "c1.sqlite"))
    assert main(["summarize", str(reference), "-q"]) == 0
    total = RunDir(reference).read_json("manifest.json")["stages"]["summarize"]["counts"]["out"]

    cache = tmp_path / "c2.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "summarize", str(killed), "-q"], env=_env(cache)
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None and _committed(cache, "summary") == 0:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed = _committed(cache, "summary")
    assert 0 < committed < total, "the kill did not land in the middle of the stage"
    assert not (killed / "summaries.jsonl").exists()

    monkeypatch.setenv("PIPELINE_CACHE", str(cache))
    assert main(["summarize", str(killed), "-q"]) == 0
    counts = RunDir(killed).read_json("manifest.json")["stages"]["summarize"]["counts"]
    assert counts["cached"] >= committed  # resumed from what was committed, not from scratch
    assert (killed / "summaries.jsonl").read_bytes() == (reference / "summaries.jsonl").read_bytes()


def _copy_run(grown_run, tmp_path: Path) -> tuple[Path, Path]:
    out, src, cache, _, _ = grown_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    shutil.copy(cache, tmp_path / "cache.sqlite")  # a copy, so this test leaves the shared one alone
    return copy, src


def test_a_summarize_setting_reruns_summarize_and_what_follows_only(grown_run, tmp_path, monkeypatch):
    copy, src = _copy_run(grown_run, tmp_path)
    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "cache.sqlite"))
    before = RunDir(copy).read_json("manifest.json")["stages"]
    assert main(["run", str(src), "--out", str(copy), "-q", "--set", "summarize.target_words=35"]) == 0
    after = RunDir(copy).read_json("manifest.json")["stages"]
    assert after["ingest"] == before["ingest"] and after["dedup"] == before["dedup"]  # skipped
    assert after["summarize"]["counts"]["cached"] == 0  # new parameters: nothing reused
    assert after["summarize"]["config_sha256"] != before["summarize"]["config_sha256"]
    assert after["translate"]["counts"]["cached"] > 0  # the articles' sentences are reused


def test_an_edited_reference_file_is_scored_again(grown_run, tmp_path, monkeypatch):
    copy, src = _copy_run(grown_run, tmp_path)
    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "cache.sqlite"))
    references = tmp_path / "references"
    shutil.copytree(REPO / "corpus" / "references", references)
    run = ["run", str(src), "--out", str(copy), "-q", "--references", str(references)]
    assert main(run) == 0
    scored = RunDir(copy).read_json("manifest.json")["stages"]
    assert main(run) == 0
    assert RunDir(copy).read_json("manifest.json")["stages"] == scored  # unchanged: all skipped

    summaries = references / "summaries.jsonl"
    summaries.write_text("\n".join(summaries.read_text().splitlines()[:-1]) + "\n")  # drop one reference
    assert main(run) == 0
    rescored = RunDir(copy).read_json("manifest.json")["stages"]
    assert rescored["summarize"] == scored["summarize"]
    assert rescored["score"]["config_sha256"] != scored["score"]["config_sha256"]
    assert rescored["score"]["outputs_sha256"] != scored["score"]["outputs_sha256"]  # one reference fewer


def test_summaries_all_in_the_cache_load_no_summariser(grown_run, tmp_path, monkeypatch):
    import pipeline.summarize as summarize

    copy, _ = _copy_run(grown_run, tmp_path)
    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "cache.sqlite"))

    def no_loading(*args, **kwargs):
        raise RuntimeError("a summariser was loaded although every summary is in the cache")

    monkeypatch.setattr(summarize, "choose_backend", no_loading)
    assert main(["summarize", str(copy), "--force", "-q"]) == 0
    record = RunDir(copy).read_json("manifest.json")["stages"]["summarize"]
    assert record["counts"]["cached"] == record["counts"]["out"] == 6
    assert record["backend"] == "offline-extractive"  # from the cached summaries' provenance
    assert any("NEURAL SUMMARISER UNAVAILABLE" in note for note in record["notes"])


def test_a_second_process_on_the_same_run_is_refused(tmp_path, seed_paths):
    run = RunDir(tmp_path / "run").ensure()
    hold = (
        "import sys, time\n"
        "from pipeline.rundir import RunDir\n"
        "with RunDir(sys.argv[1]).exclusive():\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(run.path)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(tmp_path / "cache.sqlite"),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert main(["ingest", str(seed_paths[0]), "--out", str(run.path), "-q"]) == 1
        assert not run.exists("manifest.json") and not run.exists("articles.jsonl")
    finally:
        holder.kill()
        holder.wait()
    # The kernel released the killed holder's lock: the run goes ahead.
    assert main(["ingest", str(seed_paths[0]), "--out", str(run.path), "-q"]) == 0
