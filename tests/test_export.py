"""Issue 16: a run's tables in Parquet and as a ``datasets.DatasetDict``, with real types
even for empty tables and columns that are null in every row."""

from __future__ import annotations

import datasets
import pyarrow.parquet as pq
import pytest

from pipeline.cli import EXIT_OK, EXIT_USAGE, main
from pipeline.errors import UsageError
from pipeline.export import TABLES, load_parquet, load_run, schema
from pipeline.rundir import REJECTED
from tests.eval_runs import build_full_run


@pytest.fixture
def run(tmp_path):
    run = build_full_run(tmp_path / "run")
    run.write_text(REJECTED, "")  # nothing rejected: an empty file
    return run


def test_export_writes_one_parquet_file_per_table_with_explicit_types(run, tmp_path, capsys):
    out = tmp_path / "parquet"
    assert main(["export", str(run.path), "--format", "parquet", "--to", str(out), "-q"]) == EXIT_OK
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{name}.parquet" for name in TABLES if name != "passages")  # no passages file
    for name, (_, cls) in TABLES.items():
        if name != "passages":
            assert pq.read_schema(out / f"{name}.parquet").remove_metadata() == schema(cls)
    assert pq.read_table(out / "rejected.parquet").num_rows == 0
    # datasets loads the files with real types: a column null in every row stays a string column.
    articles = datasets.load_dataset("parquet", data_files=str(out / "articles.parquet"), split="train")
    assert articles.features["url"].dtype == "string" and articles.features["outlet"].dtype == "string"
    # Every table, the empty one included (load_dataset refuses empty splits; this does not).
    tables = load_parquet(out)
    assert len(tables["rejected"]) == 0 and tables["rejected"].features["reason"].dtype == "string"
    assert len(tables["clusters"]) == 2


def test_load_run_gives_a_dataset_dict(run):
    tables = load_run(run.path)
    assert set(tables) == {"articles", "rejected", "clusters", "summaries", "translations"}
    assert len(tables["articles"]) == 3 and len(tables["rejected"]) == 0
    assert tables["summaries"].features["unsupported"].feature.dtype == "string"
    first = tables["translations"][0]
    assert first["provenance"]["params"] == '{"beam_size": 4}'  # free-form dicts as JSON text
    assert tables["articles"].features["date"]["iso"].dtype == "string"


def test_export_refuses_what_is_not_a_run(tmp_path):
    with pytest.raises(UsageError):
        load_run(tmp_path)
    assert main(["export", str(tmp_path), "--to", str(tmp_path / "out"), "-q"]) == EXIT_USAGE
    assert not (tmp_path / "out").exists()


def test_run_result_gives_the_tables(run):
    from pipeline.runner import RunSummary

    summary = RunSummary(run, counts={"ingest": {"in": 3, "out": 3, "rejected": 0}})
    assert summary.path == run.path and summary.exit_code == 0 and summary.report is None
    assert len(summary.load()["articles"]) == 3
    assert "in=3" in str(summary)
