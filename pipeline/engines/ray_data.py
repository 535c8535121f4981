"""The Ray engine: per-article work on a Ray cluster (Ray Data), corpus-wide work on the driver.

A run (``pipeline run PATH… --out RUN --engine ray``) goes in two phases:

1. **Per-article, on Ray.**  The driver lists the input files with ingest's own
   discovery; a Ray Data pipeline streams them through ``map_batches`` with class-based
   UDFs (:mod:`pipeline.engines.ray_steps`), whose actors load their models once, for up
   to four steps: ingest, dedup's article embeddings, article summaries, and the
   translations of articles and their summaries.  By default one actor runs all of them
   on its batch (``engine.fuse_steps``: one process and one copy of the models per
   worker); otherwise each step has its own actor pool and the pools stream to each
   other.  Each step calls the stage's own code and goes through the shared output
   cache (:mod:`pipeline.cache`) with the same keys as a local run; Ray writes the
   per-article records as Parquet shards to ``RUN/parquet/`` (columns:
   :data:`~pipeline.engines.ray_steps.SCHEMA`).  The input is cut into batches of about
   ``engine.batch_size`` rows, as many for every actor (:func:`plan_batches`), each handed
   to whichever actor is free; an actor with ``engine.num_cpus = 1`` runs its models on
   one thread (Ray sets ``OMP_NUM_THREADS`` from the CPUs it reserved, which the embedding
   engine, torch and BLAS follow), but Apertium's pipelines of processes are scheduled by
   the OS on any core.
   The driver imports no stage code before starting Ray: it imports what its own phase
   needs (spaCy, torch: seconds of CPU) from a thread while Ray starts and the actors load.
2. **Corpus-wide, on the driver.**  The ordinary stages run
   (:meth:`~pipeline.runner.Pipeline.run_stages`): every per-article output is a cache
   hit, so what is computed here is what depends on the whole corpus: near-duplicate
   passages, blocking and clustering, event summaries and their translations, scores
   and the report, with the memory the local engine needs for them.  The run files are
   made by the same code from the same model outputs as the local engine's.

The cache is how results travel from the workers to the driver, so every worker must
reach it: one machine, or a shared filesystem.  With ``cache.enabled = false`` the run
uses a private cache file in RUN, deleted at the end.

**Resume.**  The steps commit their outputs to the cache batch by batch; after a crash
(of a worker: Ray restarts the actor and retries its batch, ``engine.max_retries``
times; or of the driver) the next run finds what was committed and computes the rest.
A rerun whose per-article stages are all unchanged starts no Ray at all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
import warnings
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray

from pipeline import progress
from pipeline.cache import cache_path
from pipeline.discovery import discover
from pipeline.engines import record_engine
from pipeline.engines.ray_steps import STEPS, BeforeBatch, FusedSteps
from pipeline.rundir import ARTICLES, RunDir
from pipeline.settings import Settings
from pipeline.stage import STAGES

if TYPE_CHECKING:
    from pipeline.runner import Pipeline, RunSummary

PARQUET_DIR = "parquet"  # RUN/parquet/: Ray's shards of per-article records
_PRIVATE_CACHE = ".engine-cache.sqlite"  # the hand-off when the user's cache is disabled


class RayEngine:
    """``before_batch`` is called by every step at the start of every batch (tests use it to
    kill a worker); it must be picklable."""

    name = "ray"

    def __init__(self, before_batch: BeforeBatch | None = None):
        self.before_batch = before_batch

    def run(
        self,
        pipe: Pipeline,
        paths: Sequence[str | os.PathLike[str]] | None,
        run: RunDir,
        stages: Sequence[str],
        force: bool,
    ) -> RunSummary:
        from pipeline.runner import Pipeline

        with ExitStack() as cleanup:
            settings = _with_reachable_cache(pipe.settings, run, cleanup)
            driver = Pipeline(settings, pipe.progress)
            steps = [name for name in STEPS if name in stages]
            if "ingest" in steps and not paths:
                raise ValueError("the ingest stage needs input paths")
            info: dict[str, Any] = {"name": self.name, "ray_version": ray.__version__}
            # Rejected paths are not sent to Ray: the driver's ingest records them.
            files = [str(p) for p in discover(paths or []) if isinstance(p, Path)]
            has_input = bool(files) if "ingest" in steps else run.exists(ARTICLES)
            if not steps or not has_input:
                pipe.progress("ray", "no per-article work to send to Ray")
            elif force or not _unchanged(driver, run, steps, paths):
                importing = _import_stages(stages)
                info.update(self._per_article(settings, run, steps, files, pipe))
                importing.join()
            else:
                pipe.progress("ray", "per-article stages unchanged: no Ray job")
            summary = driver.run_stages(paths, run, stages, force)
            if summary.results:
                record_engine(run, info)
            return summary

    def _per_article(
        self,
        settings: Settings,
        run: RunDir,
        steps: list[str],
        files: list[str],
        pipe: Pipeline,
    ) -> dict[str, Any]:
        """Phase 1: the per-article steps on Ray (on ``files``, or RUN's articles when ingest is
        not among them); what ran, for the manifest."""
        config = settings.engine
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(address=config.address or None, include_dashboard=False, log_to_driver=False)
        # Ray Data's bars follow the pipeline's (off with -q, or when stderr is not a terminal):
        # redrawn from the driver's scheduling loop, they cost it CPU the workers could use.
        ray.data.DataContext.get_current().enable_progress_bars = progress.enabled()
        try:
            started, driver_cpu = time.perf_counter(), time.process_time()
            source: ray.data.Dataset
            if "ingest" in steps:
                rows = len(files)
                batches = plan_batches(rows, config.batch_size, config.concurrency)
                source = ray.data.from_items(
                    [{"file": i, "path": p} for i, p in enumerate(files)], override_num_blocks=batches
                )
                pipe.progress("ray", f"{len(files)} input file(s) to {', '.join(steps)} on Ray")
            else:
                rows = _count_lines(run.file(ARTICLES))
                batches = plan_batches(rows, config.batch_size, config.concurrency)
                source = _articles_source(run).repartition(batches)
                pipe.progress("ray", f"{run.file(ARTICLES)} to {', '.join(steps)} on Ray")
            dataset = source
            # (UDF class, its constructor's first arguments, the steps it runs)
            pools: list[tuple[type, tuple[Any, ...], list[str]]] = (
                [(FusedSteps, (steps,), steps)]
                if config.fuse_steps
                else [(STEPS[name], (), [name]) for name in steps]
            )
            for udf, first_args, names in pools:
                gpus = config.num_gpus if "summarize" in names else 0
                with warnings.catch_warnings():
                    # Ray 2.60 deprecates extra remote args (removal planned for 2.64) but still
                    # documents them as the way to bound actor restarts; its default is unbounded,
                    # which would retry a batch that always kills its worker forever.
                    warnings.filterwarnings("ignore", "`ray_remote_args` is deprecated")
                    dataset = dataset.map_batches(
                        udf,
                        fn_constructor_args=(*first_args, settings, os.getcwd(), self.before_batch),
                        batch_format="pyarrow",
                        # One block, one batch (see plan_batches); Ray Data asks for a number
                        # when GPUs are requested: the largest block's.
                        batch_size=None if gpus == 0 else -(-rows // batches),
                        # The next batch goes to whichever actor is free: batches take tens of
                        # seconds and their inputs are tiny, so queueing one behind another
                        # would only unbalance the actors.
                        compute=ray.data.ActorPoolStrategy(
                            size=config.concurrency, max_tasks_in_flight_per_actor=1
                        ),
                        num_cpus=config.num_cpus,
                        # Only the neural summariser uses a GPU (summarize.device); translation
                        # runs on CPU (transformers/CTranslate2 on "cpu", Apertium).
                        num_gpus=gpus,
                        max_restarts=config.max_retries,
                        max_task_retries=config.max_retries,
                    )
            try:
                _write_shards(dataset, run)
            except ray.exceptions.RayError as exc:  # the CLI reports RuntimeErrors plainly
                raise RuntimeError(f"the Ray job failed: {exc}") from exc
            wall, driver_cpu = time.perf_counter() - started, time.process_time() - driver_cpu
            resources = ray.cluster_resources()
            pipe.progress("ray", f"per-article steps done in {wall:.1f}s")
            return {
                "steps": steps,
                "wall_s": round(wall, 3),
                "address": config.address or "local",
                "nodes": sum(1 for node in ray.nodes() if node.get("Alive")),
                "cpus": resources.get("CPU", 0),
                "gpus": resources.get("GPU", 0),
                "concurrency": config.concurrency,
                "fuse_steps": config.fuse_steps,
                "batch_size": config.batch_size,
                "batches": batches,
                "driver_cpu_s": round(driver_cpu, 3),  # the driver's own CPU while Ray worked
                "parquet": PARQUET_DIR,
            }
        finally:
            if started_here:
                ray.shutdown()


def plan_batches(items: int, batch_size: int, workers: int) -> int:
    """How many batches (Ray blocks, one task each) ``items`` rows make: about ``batch_size`` rows
    each, their count a multiple of ``workers`` so that every actor gets as many as the others.

    With 100 files in batches of 16, one actor takes 7 batches; two take 8, 4 each: 7 would
    leave one actor a batch behind the other, its tail run on half the cores.
    """
    if items <= 0:
        return 1
    batches = -(-items // batch_size)
    batches = -(-batches // workers) * workers
    return min(items, batches)


def _import_stages(stages: Sequence[str]) -> threading.Thread:
    """Import the stages' code for the driver's phase (spaCy, torch: seconds of CPU) from a thread,
    while Ray starts its processes and the actors load their models, rather than after them."""

    def load() -> None:
        for name in stages:
            # A failing import fails again, and is reported, when the driver runs the stage.
            with contextlib.suppress(Exception):
                STAGES[name].load()

    thread = threading.Thread(target=load, name="import-stages", daemon=True)
    thread.start()
    return thread


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def _unchanged(
    driver: Pipeline, run: RunDir, steps: list[str], paths: Sequence[str | os.PathLike[str]] | None
) -> bool:
    """Whether the manifest shows every per-article stage done on today's inputs and settings."""
    return all(driver.unchanged(STAGES[n], run, driver.fingerprint(STAGES[n], run, paths)) for n in steps)


def _with_reachable_cache(settings: Settings, run: RunDir, cleanup: ExitStack) -> Settings:
    """The settings with an absolute cache path, which workers reach whatever their directory
    and environment; a private one in RUN (removed at the end) when the cache is disabled."""
    if settings.cache.enabled:
        return settings.replace({"cache.path": str(cache_path(settings).resolve())})
    private = run.file(_PRIVATE_CACHE).resolve()

    def remove() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{private}{suffix}").unlink(missing_ok=True)

    remove()  # a crashed run's leftovers: stale, never read as the user's cache
    cleanup.callback(remove)
    return settings.replace({"cache.enabled": True, "cache.path": str(private)})


def _articles_source(run: RunDir) -> ray.data.Dataset:
    """RUN/articles.jsonl as step rows, for stage commands on an ingested run (no ingest step)."""

    def to_rows(batch: Any) -> Any:
        import pyarrow as pa

        from pipeline.engines.ray_steps import SCHEMA

        lines = batch.column("text").to_pylist()
        rows = [{"file": -1, "path": ARTICLES, "item": -1, "article": line} for line in lines]
        return pa.Table.from_pylist(rows, schema=SCHEMA)

    return ray.data.read_text(str(run.file(ARTICLES).resolve())).map_batches(to_rows, batch_format="pyarrow")


def _write_shards(dataset: ray.data.Dataset, run: RunDir) -> None:
    """Ray writes the shards into a fresh directory, which then replaces RUN/parquet."""
    final = run.path.resolve() / PARQUET_DIR
    fresh = final.with_name(f".{PARQUET_DIR}.tmp-{os.getpid()}")
    shutil.rmtree(fresh, ignore_errors=True)
    # Writing a batch's shard takes milliseconds: the write tasks reserve no CPU, or with every CPU
    # held by an actor (2 actors, 2 CPUs) they would all wait for the last batch and run after it.
    dataset.write_parquet(str(fresh), ray_remote_args={"num_cpus": 0})
    fresh.mkdir(exist_ok=True)  # no input file: no shard, still a (empty) directory
    old = final.with_name(f".{PARQUET_DIR}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    fresh.rename(final)
    shutil.rmtree(old, ignore_errors=True)
