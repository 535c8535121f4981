"""BatchWriter: batches committed atomically, resumed after SIGKILL, finalised deterministically."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.checkpoint import PARTS_DIR, BatchWriter, CheckpointError
from pipeline.records import Span
from pipeline.rundir import RunDir

REPO = Path(__file__).resolve().parents[1]
OUT = "outputs.jsonl"

# A stage that turns N inputs into 0, 1 or 2 records each, slowly, through a
# BatchWriter, skipping what an earlier (killed) run committed.
STAGE = r"""
import sys, time
from pipeline.checkpoint import BatchWriter
from pipeline.rundir import RunDir

run_dir, n, delay, batch_size = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
keys = [f"article-{i:04d}" for i in range(n)]

def outputs(i):
    text = f"Résumé n°{i} : la délégation « {i * 7 % 13} » a visité {i % 5} villes."
    if i % 7 == 0:
        return []  # e.g. an input rejected by the stage
    records = [{"id": keys[i], "text": text, "score": i / 3}]
    if i % 3 == 0:
        records.append({"id": keys[i], "text": text.upper(), "score": -i / 7})
    return records

with BatchWriter(RunDir(run_dir), "outputs.jsonl", batch_size=batch_size, fingerprint="cfg-1") as out:
    print("open", flush=True)
    done = out.done_keys()
    for i, key in enumerate(keys):
        if key in done:
            continue
        time.sleep(delay)  # the model call
        out.add(key, outputs(i))
    out.finalize(order=keys)
print("finalized")
"""


def _start(run: Path, n: int, delay: float, batch_size: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", STAGE, str(run), str(n), str(delay), str(batch_size)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> None:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.split() == ["open", "finalized"]


def _committed_parts(run: Path) -> list[Path]:
    parts = run / PARTS_DIR / OUT
    return sorted(parts.glob("part-*.jsonl")) if parts.is_dir() else []


def _check_parts_are_whole(run: Path) -> int:
    """Every committed part parses completely and no input is in two parts; returns the inputs."""
    seen: list[str] = []
    for part in _committed_parts(run):
        text = part.read_text(encoding="utf-8")
        assert text.endswith("\n")
        seen += [json.loads(line)["key"] for line in text.splitlines()]
    assert len(seen) == len(set(seen))
    return len(seen)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The output of an uninterrupted run."""
    run = tmp_path_factory.mktemp("uninterrupted")
    _finish(_start(run, 120, 0.0, 4))
    assert not (run / PARTS_DIR / OUT).exists()
    return (run / OUT).read_bytes()


def test_kill_9_at_several_points_then_resume_equals_an_uninterrupted_run(
    tmp_path: Path, reference: bytes
) -> None:
    rng = random.Random(7)
    committed_at_kill = []
    for target in (2, 7, 13, 20, 26):  # parts committed before the kill, out of 30
        proc = _start(tmp_path, 120, 0.004, 4)
        while len(_committed_parts(tmp_path)) < target and proc.poll() is None:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.02))  # land anywhere: mid-input, mid-commit
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "the stage finished before it was killed"
        assert not (tmp_path / OUT).exists()
        committed_at_kill.append(_check_parts_are_whole(tmp_path))
    print("inputs committed at each kill:", committed_at_kill)
    # Each resumed run went on from what the previous one committed.
    assert committed_at_kill == sorted(committed_at_kill) and committed_at_kill[0] > 0
    assert committed_at_kill[-1] < 120

    _finish(_start(tmp_path, 120, 0.004, 4))
    final = (tmp_path / OUT).read_bytes()
    assert final == reference
    lines = final.decode("utf-8").splitlines()
    expected = sum(0 if i % 7 == 0 else 2 if i % 3 == 0 else 1 for i in range(120))
    assert len(lines) == len(set(lines)) == expected  # none lost, none duplicated
    assert not (tmp_path / PARTS_DIR / OUT).exists()


def test_kills_at_random_instants_including_commits_and_finalize(tmp_path: Path, reference: bytes) -> None:
    """No model delay and a commit per input: the kills land in part writes and in finalize."""
    rng = random.Random(11)
    outcomes = []
    for _ in range(12):
        proc = _start(tmp_path, 120, 0.0, 1)
        assert proc.stdout is not None and proc.stdout.readline() == "open\n"
        t0 = time.monotonic()
        time.sleep(rng.uniform(0, 0.15))  # an uninterrupted run takes about 0.1 s from here
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        outcomes.append((proc.returncode, round(time.monotonic() - t0, 3), _check_parts_are_whole(tmp_path)))
        if (tmp_path / OUT).exists():  # the final file is only ever complete
            assert (tmp_path / OUT).read_bytes() == reference
    print("(returncode, seconds, inputs committed) after each kill:", outcomes)
    assert sum(code == -signal.SIGKILL for code, _, _ in outcomes) >= 6
    _finish(_start(tmp_path, 120, 0.0, 1))
    assert (tmp_path / OUT).read_bytes() == reference


# --- behaviour in one process --------------------------------------------------


def test_final_file_matches_rundir_write_records(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    spans = [Span(i, i + 3) for i in range(10)]
    with BatchWriter(run, "spans.jsonl", key=lambda s: str(s.start), batch_size=3) as out:
        for span in spans:
            out.write(span)
        assert out.finalize() == 10
    run.write_records("expected.jsonl", spans)
    assert run.file("spans.jsonl").read_bytes() == run.file("expected.jsonl").read_bytes()
    assert run.read_records("spans.jsonl", Span) == spans


def test_resume_commits_pending_inputs_on_close_and_on_error(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    with pytest.raises(RuntimeError, match="model crashed"), BatchWriter(run, OUT, batch_size=100) as out:
        out.add("a", [{"x": 1}])
        out.add("b", [{"x": 2}])
        raise RuntimeError("model crashed")
    with BatchWriter(run, OUT) as out:
        assert out.done_keys() == {"a", "b"}
        assert out.committed() == {"a": [{"x": 1}], "b": [{"x": 2}]}
        with pytest.raises(ValueError, match="already done"):
            out.add("a", [{"x": 1}])


def test_finalize_order_drops_stale_inputs_and_refuses_missing_ones(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    with BatchWriter(run, OUT) as out:
        for key in "cab":
            out.add(key, [{"k": key}])
        with pytest.raises(CheckpointError, match="1 inputs were never added"):
            out.finalize(order=["a", "b", "c", "d"])
        out.finalize(order=["a", "b"])  # "c" was removed from the run since
    assert [d["k"] for d in run.iter_dicts(OUT)] == ["a", "b"]


def test_commit_interval_bounds_the_work_a_kill_can_lose(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    out = BatchWriter(run, OUT, batch_size=1000, commit_interval_s=0.05)
    out.add("a", [{"x": 1}])
    assert _committed_parts(tmp_path) == []
    time.sleep(0.06)
    out.add("b", [{"x": 2}])
    assert len(_committed_parts(tmp_path)) == 1
    out.close()


def test_a_different_fingerprint_discards_the_parts(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    with BatchWriter(run, OUT, fingerprint="target_words=60") as out:
        out.add("a", [{"summary": "long"}])
    with BatchWriter(run, OUT, fingerprint="target_words=60") as out:
        assert out.done_keys() == {"a"}
    with BatchWriter(run, OUT, fingerprint="target_words=40") as out:
        assert out.done_keys() == frozenset()


def test_debris_of_a_killed_process_is_ignored_and_removed(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    with BatchWriter(run, OUT, batch_size=1) as out:
        out.add("a", [{"x": 1}])
    parts = tmp_path / PARTS_DIR / OUT
    torn = parts / ".part-000002.jsonl.abc123.tmp"
    torn.write_text('{"key": "b", "records": [{"x"')  # a batch cut short by the kill
    graveyard = tmp_path / PARTS_DIR / ".tmp" / OUT / "old-xyz" / "parts"
    graveyard.mkdir(parents=True)
    (graveyard / "part-000001.jsonl").write_text('{"key": "z", "records": []}\n')
    with BatchWriter(run, OUT) as out:
        assert out.done_keys() == {"a"}
        out.add("b", [{"x": 2}])
        out.finalize()
    assert not torn.exists() and not graveyard.exists()
    assert [d["x"] for d in run.iter_dicts(OUT)] == [1, 2]


def test_an_altered_part_is_a_clear_error(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    with BatchWriter(run, OUT, batch_size=1) as out:
        out.add("a", [{"x": 1}])
    (tmp_path / PARTS_DIR / OUT / "part-000001.jsonl").write_text('{"key": "a", "rec')
    with pytest.raises(CheckpointError, match="not a committed batch"):
        BatchWriter(run, OUT)


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    with BatchWriter(run, OUT):
        with pytest.raises(CheckpointError, match="another process is writing"):
            BatchWriter(run, OUT)
        BatchWriter(run, "other.jsonl").close()  # other outputs are independent
    BatchWriter(run, OUT).close()  # released on close
