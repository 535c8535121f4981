"""Incremental and resumable runs: kill -9 in the middle of a stage, resume, compare."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.cli import main
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


def test_kill_9_mid_ingest_then_resume_equals_uninterrupted(tmp_path, many_articles):
    reference = tmp_path / "reference"
    subprocess.run(_ingest_cmd(many_articles, reference), env=_env(tmp_path / "c1.sqlite"), check=True)

    out = tmp_path / "killed"
    env = _env(tmp_path / "c2.sqlite")
    proc = subprocess.Popen(_ingest_cmd(many_articles, out), env=env)
    parts = out / ".parts" / "articles.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(parts.glob("part-*.jsonl")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(parts.glob("part-*.jsonl")), "the stage committed nothing before it was killed"
    assert not (out / "articles.jsonl").exists()

    subprocess.run(_ingest_cmd(many_articles, out), env=env, check=True)
    want = (reference / "articles.jsonl").read_text().splitlines()
    got = (out / "articles.jsonl").read_text().splitlines()
    assert got == want
    ids = [json.loads(line)["id"] for line in got]
    assert len(ids) == len(set(ids)) == 60


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
