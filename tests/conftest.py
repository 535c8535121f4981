"""Shared fixtures.  Model-heavy objects are session-scoped so the suite stays fast.

Tests never touch the network: the hub is forced offline and any socket
connection outside loopback fails loudly.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SEED_DIR = CORPUS / "articles"

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address):  # type: ignore[no-untyped-def]
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("/"):
        raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def settings():
    from pipeline.settings import Settings

    # A per-session cache so tests never read a developer's cache.
    return Settings.load(overrides={"cache.enabled": False})


@pytest.fixture(scope="session")
def seed_paths() -> list[Path]:
    return sorted(SEED_DIR.glob("*.txt"))


@pytest.fixture(scope="session")
def seed_ingest(seed_paths, settings):
    """(articles, rejections) for the five seed articles, ingested once per session."""
    from pipeline.ingest import ingest_paths

    return ingest_paths(seed_paths, settings)


@pytest.fixture(scope="session")
def seed_articles(seed_ingest):
    articles, _ = seed_ingest
    return articles


@pytest.fixture(scope="session")
def _seed_run_template(tmp_path_factory, seed_ingest):
    from pipeline.rundir import ARTICLES, REJECTED, RunDir

    articles, rejections = seed_ingest
    run = RunDir(tmp_path_factory.mktemp("seed-run")).ensure()
    run.write_records(ARTICLES, articles)
    run.write_records(REJECTED, rejections)
    return run


@pytest.fixture
def seed_run(_seed_run_template, tmp_path):
    """A fresh copy of an ingested seed run directory that a test may modify."""
    from pipeline.rundir import RunDir

    dest = tmp_path / "run"
    shutil.copytree(_seed_run_template.path, dest)
    return RunDir(dest)


@pytest.fixture(scope="session")
def tiny_summarizer_dir(tmp_path_factory, seed_paths) -> Path:
    """A tiny mBART summariser (64 positions, random weights) saved as a local model directory."""
    from tests.tiny_models import build_tiny_summarizer

    texts = [p.read_text(encoding="utf-8") for p in seed_paths]
    return build_tiny_summarizer(tmp_path_factory.mktemp("models") / "tiny-mbart", texts)
