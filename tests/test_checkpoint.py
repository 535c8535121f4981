"""RecordStream: a run file streamed record by record appears whole, or not at all."""

from __future__ import annotations

import json

import pytest

from pipeline.checkpoint import RecordStream
from pipeline.records import Span
from pipeline.rundir import RunDir

OUT = "spans.jsonl"


def test_records_appear_only_when_the_stream_closes(tmp_path):
    run = RunDir(tmp_path).ensure()
    with RecordStream(run, OUT) as out:
        out.write(Span(0, 5))
        out.write({"start": 6, "end": 9})
        assert not run.exists(OUT)  # nothing visible while it is being written
    assert [json.loads(line) for line in run.file(OUT).read_text().splitlines()] == [
        {"start": 0, "end": 5},
        {"start": 6, "end": 9},
    ]
    assert out.count == 2
    assert [p.name for p in tmp_path.iterdir()] == [OUT]  # no temporary file left


def test_a_failure_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    run = RunDir(tmp_path).ensure()
    run.write_text(OUT, "old\n")
    with pytest.raises(RuntimeError, match="model crashed"), RecordStream(run, OUT) as out:
        out.write(Span(0, 1))
        raise RuntimeError("model crashed")
    assert run.file(OUT).read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == [OUT]


def test_debris_of_a_killed_writer_is_removed(tmp_path):
    run = RunDir(tmp_path).ensure()
    debris = tmp_path / f".{OUT}.abc123.tmp"  # what a SIGKILL mid-stream leaves
    debris.write_text('{"start": 0, "end"')
    other = tmp_path / ".other.jsonl.abc123.tmp"  # another output's: not ours to remove
    other.write_text("x")
    with RecordStream(run, OUT) as out:
        out.write(Span(1, 2))
    assert not debris.exists() and other.exists()
    assert run.file(OUT).read_text() == '{"start": 1, "end": 2}\n'


def test_an_empty_stream_writes_an_empty_file(tmp_path):
    run = RunDir(tmp_path).ensure()
    with RecordStream(run, OUT):
        pass
    assert run.file(OUT).read_text() == ""


@pytest.mark.parametrize("name", ["", "a/b.jsonl", ".hidden"])
def test_names_must_be_plain_file_names(tmp_path, name):
    with pytest.raises(ValueError):
        RecordStream(RunDir(tmp_path), name)
