"""The Ray engine (pipeline.engines.ray_data) gives the local engine's run directory.

A local Ray (2 CPUs, no dashboard, no network) is started once for the session.  Each
run has its own cold cache, so the Ray run really computes on its workers.  Skipped
when ray is not installed (``pip install ".[ray]"``; ``make test`` installs it).
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import sys
from pathlib import Path

import pytest

from pipeline.rundir import ARTICLES, CLUSTERS, PASSAGES, REJECTED, SUMMARIES, TRANSLATIONS, RunDir
from pipeline.runner import Pipeline, load_manifest
from pipeline.settings import Settings, SettingsError

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

from pipeline.engines.ray_data import PARQUET_DIR, RayEngine, plan_batches  # noqa: E402  (needs ray)

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "corpus" / "articles"
ORANGESUM = REPO.parent / "shared" / "datasets" / "orangesum" / "articles.jsonl.gz"
# Score and report read these; they are not per-article work and take long: left out.
STAGES = ["ingest", "dedup", "summarize", "translate"]
RECORD_FILES = (ARTICLES, REJECTED, PASSAGES, CLUSTERS, SUMMARIES, TRANSLATIONS)


@pytest.fixture(scope="session")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


def _settings(tmp: Path, name: str, engine: str) -> Settings:
    # A cold cache per run: the Ray run must compute, not find the local run's outputs.
    return Settings.load(
        overrides={
            "cache.path": str(tmp / f"{name}-cache.sqlite"),
            "engine.name": engine,
            "engine.batch_size": 4,
            "engine.concurrency": 1,
        }
    )


def _records(run: Path) -> dict[str, list[dict]]:
    return {name: list(RunDir(run).iter_dicts(name)) for name in RECORD_FILES if RunDir(run).exists(name)}


def _assert_same_records(ray_run: Path, local_run: Path) -> None:
    got, want = _records(ray_run), _records(local_run)
    assert sorted(got) == sorted(want)
    for name in want:
        assert len(got[name]) == len(want[name]), name
        for a, b in zip(got[name], want[name], strict=True):
            assert a == b, f"{name}: {a.get('id')} differs"


def _shard_rows(run: Path) -> list[dict]:
    return pq.read_table(run / PARQUET_DIR).to_pylist()


@pytest.fixture(scope="module")
def seeds_local(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("seeds-local")
    Pipeline(_settings(tmp, "local", "local")).run([SEEDS], tmp / "run", STAGES)
    return tmp / "run"


def test_ray_run_equals_local_run_on_the_seeds(local_ray, seeds_local, tmp_path):
    progress: list[str] = []
    pipe = Pipeline(_settings(tmp_path, "ray", "ray"), lambda stage, message: progress.append(message))
    summary = pipe.run([SEEDS], tmp_path / "run", STAGES)
    _assert_same_records(tmp_path / "run", seeds_local)
    # The per-article work was done on Ray: the driver's stages found it all in the cache.
    assert summary.results["summarize"].counts["cached"] == summary.results["summarize"].counts["articles"]
    assert summary.results["translate"].counts["translated"] == 0
    run = RunDir(tmp_path / "run")
    assert load_manifest(run)["engine"]["name"] == "ray"
    assert load_manifest(RunDir(seeds_local))["engine"] == {"name": "local"}
    # Ray's Parquet shards: every article once, with its summary and translations.
    rows = _shard_rows(tmp_path / "run")
    articles = [json.loads(r["article"]) for r in rows if r["article"]]
    assert sorted(a["id"] for a in articles) == sorted(a["id"] for a in run.iter_dicts(ARTICLES))
    assert all(r["summary"] and r["translation"] and r["summary_translation"] for r in rows if r["article"])

    # Unchanged: every stage is skipped and no Ray job starts.
    progress.clear()
    again = pipe.run([SEEDS], tmp_path / "run", STAGES)
    assert not again.results and "per-article stages unchanged: no Ray job" in progress


def _crash_once(marker: Path, step: str, rows: list[dict]) -> None:
    """Kill the summarising worker process on its first batch (once: the marker file remembers)."""
    if step == "summarize" and not marker.exists():
        marker.write_text(f"killed pid {os.getpid()}\n")
        os._exit(1)


def test_a_killed_worker_is_retried_and_nothing_is_lost_or_duplicated(local_ray, seeds_local, tmp_path):
    # The workers cannot import this test module: Ray's pickler sends the hook by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "killed"
    pipe = Pipeline(_settings(tmp_path, "ray", "ray"))
    run = RunDir(tmp_path / "run").ensure()
    with run.exclusive():
        RayEngine(before_batch=functools.partial(_crash_once, marker)).run(
            pipe, [SEEDS], run, STAGES, force=False
        )
    assert marker.exists(), "the worker was never killed: the test tested nothing"
    _assert_same_records(run.path, seeds_local)
    rows = _shard_rows(run.path)
    ids = [json.loads(r["article"])["id"] for r in rows if r["article"]]
    assert len(ids) == len(set(ids)) == len(list(RunDir(seeds_local).iter_dicts(ARTICLES)))


def _orangesum_inputs(directory: Path, count: int, per_file: int = 10) -> Path:
    """``count`` OrangeSum articles as JSONL files of ``per_file`` (a file is one ingest unit)."""
    directory.mkdir()
    with gzip.open(ORANGESUM, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for _, line in zip(range(count), fh, strict=False)]
    for start in range(0, len(rows), per_file):
        lines = [
            json.dumps({"text": r["article"], "title": r["title"], "date": r["date"]}, ensure_ascii=False)
            for r in rows[start : start + per_file]
        ]
        (directory / f"orangesum-{start:05d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


@pytest.mark.slow
@pytest.mark.skipif(not ORANGESUM.exists(), reason="../shared/datasets/orangesum is not on this machine")
def test_ray_run_equals_local_run_on_fifty_orangesum_articles(local_ray, tmp_path):
    inputs = _orangesum_inputs(tmp_path / "in", 50)
    Pipeline(_settings(tmp_path, "local", "local")).run([inputs], tmp_path / "local", STAGES)
    # One actor pool per step here (the other tests run the default, fused steps).
    settings = _settings(tmp_path, "ray", "ray").replace(
        {"engine.fuse_steps": False, "engine.concurrency": 2, "engine.num_cpus": 0.25}
    )
    Pipeline(settings).run([inputs], tmp_path / "ray", STAGES)
    _assert_same_records(tmp_path / "ray", tmp_path / "local")
    # 5 files in batches of 4 would be 2 batches anyway: one per actor.
    assert load_manifest(RunDir(tmp_path / "ray"))["engine"]["batches"] == 2
    assert len(_records(tmp_path / "ray")[ARTICLES]) >= 45  # a few may be rejected, the same in both


@ray.remote(num_cpus=1)
class _ThreadProbe:
    """An actor reserving one CPU, as the engine's (``engine.num_cpus = 1``), that loads and runs
    dedup's embedding model as a step does."""

    def threads(self) -> dict[str, int]:
        import torch
        from threadpoolctl import threadpool_info

        from pipeline.loaders import embed, load_sentence_encoder

        model = load_sentence_encoder(Settings().dedup.embedding_model)
        embed(model, ["Le gouvernement a présenté mercredi sa réforme des retraites."], 1)
        pools = {
            f"{i['internal_api']} {Path(i['filepath']).name}": i["num_threads"] for i in threadpool_info()
        }
        return {
            "OMP_NUM_THREADS": int(os.environ["OMP_NUM_THREADS"]),
            "torch": torch.get_num_threads(),
            **pools,
        }


def test_an_actor_that_reserves_one_cpu_runs_its_models_on_one_thread(local_ray):
    # Ray sets OMP_NUM_THREADS from the CPUs an actor reserved (unless the user set it); the
    # embedding engine (OpenMP), torch and BLAS must follow it, or one worker would use every
    # core and a second would add little.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    threads = ray.get(_ThreadProbe.remote().threads.remote())
    want = int(os.environ.get("OMP_NUM_THREADS", 1))
    assert any(name.startswith("openmp") for name in threads), threads  # the engine's pool is seen
    assert set(threads.values()) == {want}, threads


def test_every_worker_gets_as_many_batches_as_the_others():
    assert plan_batches(100, 16, 1) == 7  # 100 files in batches of 16
    assert plan_batches(100, 16, 2) == 8  # not 7: one actor would work a batch longer, alone
    assert plan_batches(3, 16, 2) == 2  # small inputs are split too, so that both actors work
    assert plan_batches(1, 16, 4) == 1 and plan_batches(0, 16, 2) == 1  # never an empty batch
    for items in range(1, 120):
        for size in (1, 3, 16):
            for workers in (1, 2, 3):
                batches, needed = plan_batches(items, size, workers), -(-items // size)
                assert batches == items or batches % workers == 0
                assert needed <= batches < needed + workers  # about batch_size rows each


def test_an_unknown_engine_is_refused_when_the_settings_load(tmp_path):
    with pytest.raises(SettingsError, match=r"engine\.name = 'spark': Input should be 'local' or 'ray'"):
        Settings.load(overrides={"engine.name": "spark"})
    assert not (tmp_path / "run").exists()
