"""The stage graph (pipeline.stage.STAGES): what decides whether a stage runs again."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.settings import SECTIONS, Settings
from pipeline.stage import STAGES, StageSpec

REPO = Path(__file__).resolve().parents[1]
_SECTION_READ = re.compile(r"settings\.(" + "|".join(SECTIONS) + r")\b")


def _stage_files(spec: StageSpec) -> set[Path]:
    """The stage's package, or its module and the modules of its package it imports (transitively)."""
    files: set[Path] = set()
    for module in (spec.module, *spec.uses):
        path = REPO / module.replace(".", "/")
        if path.is_dir():
            files |= set(path.rglob("*.py"))
            continue
        package = module.rpartition(".")[0]
        todo = [path.with_suffix(".py")]
        while todo:
            file = todo.pop()
            if file in files:
                continue
            files.add(file)
            for name in re.findall(rf"^\s*from {package}\.(\w+)", file.read_text(), re.MULTILINE):
                sub = REPO / package / name
                todo += list(sub.rglob("*.py")) if sub.is_dir() else [sub.with_suffix(".py")]
    return files


@pytest.mark.parametrize("name", list(STAGES))
def test_every_settings_section_a_stage_reads_is_declared(name):
    spec = STAGES[name]
    declared = {item.partition(".")[0] for item in spec.settings} | {"cache"}  # the cache changes no output
    read = {m for path in _stage_files(spec) for m in _SECTION_READ.findall(path.read_text(encoding="utf-8"))}
    assert read <= declared, f"{name} reads settings {sorted(read - declared)} that STAGES does not declare"


def test_config_is_built_without_importing_model_libraries():
    probe = (
        "import sys\n"
        "from pipeline.settings import Settings\n"
        "from pipeline.stage import STAGES\n"
        "[s.config(Settings()) for s in STAGES.values()]; [s.code_version() for s in STAGES.values()]\n"
        "heavy = ('spacy', 'torch', 'transformers', 'sklearn', 'numpy')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip() == "[]"


def test_model_changes_under_the_settings_change_the_config(tmp_path):
    settings = Settings()
    summarize = STAGES["summarize"]
    before = summarize.config(settings)
    assert before["external"]["summarize_models"]["spacy"]["version"] != "unknown"
    # A local model directory retrained in place: same setting, different files.
    model = tmp_path / "encoder"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"1")
    dedup = STAGES["dedup"]
    pointed = settings.replace({"dedup.embedding_model": str(model)})
    first = dedup.config(pointed)
    (model / "weights.bin").write_bytes(b"22")
    assert dedup.config(pointed) != first


def test_code_version_covers_templates_and_file_names(tmp_path, monkeypatch):
    package = tmp_path / "toystage"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    template = package / "templates" / "page.html"
    template.write_text("<p>{{ x }}</p>")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = StageSpec("toy", "toystage:ToyStage")
    first = spec.code_version()
    template.write_text("<div>{{ x }}</div>")
    second = spec.code_version()
    template.rename(package / "templates" / "other.html")
    assert len({first, second, spec.code_version()}) == 3


def test_code_version_follows_imports_not_neighbours(tmp_path, monkeypatch):
    package = tmp_path / "toycode"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text("from toycode.rules import RULES\n")
    (package / "rules.py").write_text("def rules():\n    from toycode import words\n    return words.W\n")
    (package / "words.py").write_text("W = 1\n")
    (package / "evaluation.py").write_text("X = 1\n")  # beside the computation, never imported by it
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = StageSpec("toy", "toycode:ToyStage")
    first = spec.code_version()
    (package / "evaluation.py").write_text("X = 2\n")
    assert spec.code_version() == first
    (package / "words.py").write_text("W = 2\n")  # imported lazily, inside a function
    assert spec.code_version() != first


def test_stage_code_excludes_other_concerns():
    from pipeline.fingerprints import _closure

    def modules(name: str) -> set[str]:
        spec = STAGES[name]
        return {m for m, _ in _closure([spec.module, *spec.uses], {"pipeline", "eval"})}

    assert "pipeline.checkpoint" not in modules("summarize")
    assert not any(m.startswith("eval") for m in modules("summarize"))
    assert "pipeline.runner" not in modules("dedup") and "pipeline.cache" not in modules("dedup")
    score = STAGES["score"]
    assert score.data == () and STAGES["report"].data == ("eval:templates",)  # CSS reruns report only
