"""The learned sentence scorer: how likely a sentence is to carry what a journalist's abstract says.

A small feed-forward network (or a linear model: one layer) over :mod:`.features`, trained on
OrangeSum's train split by ``models/sentence-scorer/train.py``.  The weights are a JSON file
(``pipeline/summarize/weights/``)
of plain numbers (never pickle), named in ``models/catalogue.toml`` with its SHA-256 as the
revision: a file that does not match is refused, so the scorer in use is always the one the
catalogue (and the model card beside the weights) describes.  Inference is a few matrix
products in numpy, batched over every candidate sentence of every article at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.catalogue import get_card
from pipeline.nlp import ModelMissingError
from pipeline.summarize.features import FEATURES

FORMAT = "french-news-pipeline/sentence-scorer-v1"
PACKAGE = Path(__file__).resolve().parents[1]  # pipeline/
SCORER_TASK = "score-sentences"  # its task in models/catalogue.toml
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
}


@dataclass(frozen=True)
class SentenceScorer:
    """Standardise the features, run the layers, return one score per row."""

    key: str
    sha256: str
    mean: np.ndarray
    scale: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    activation: str = "relu"

    def __call__(self, features: np.ndarray) -> np.ndarray:
        if features.shape[0] == 0:
            return np.zeros(0)
        x = (features - self.mean) / self.scale
        act = ACTIVATIONS[self.activation]
        for k, (weight, bias) in enumerate(self.layers):
            x = x @ weight + bias
            if k < len(self.layers) - 1:
                x = act(x)
        return x[:, 0]

    @classmethod
    def from_dict(cls, data: dict, key: str = "", sha256: str = "") -> SentenceScorer:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a sentence-scorer file (format {data.get('format')!r}, expected {FORMAT})")
        if tuple(data["features"]) != FEATURES:
            raise ValueError(
                "the scorer was trained on other features than pipeline/summarize/features.py computes: "
                "retrain it with models/sentence-scorer/train.py"
            )
        layers = tuple(
            (np.asarray(layer["weight"], dtype=np.float64), np.asarray(layer["bias"], dtype=np.float64))
            for layer in data["layers"]
        )
        if data.get("activation", "relu") not in ACTIVATIONS:
            raise ValueError(f"unknown activation {data['activation']!r}")
        return cls(
            key=key,
            sha256=sha256,
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            layers=layers,
            activation=data.get("activation", "relu"),
        )


def weights_file(name: str, task: str) -> Path:
    """The weights file of catalogue entry ``name``.

    Its ``path`` is relative to the ``pipeline`` package: the weights live in
    ``pipeline/summarize/weights/``, so they ship in the wheel and are part of the
    summarise stage's code version (new weights rerun the stage and miss the cache).
    """
    card = get_card(name, task=task)
    relative = card.extra.get("path")
    if not relative:
        raise ModelMissingError(f"catalogue entry {name!r} names no weights file (`path`)")
    return PACKAGE / relative


def read_pinned(name: str, task: str, path: Path, what: str) -> tuple[dict[str, Any], str]:
    """The JSON weights at ``path`` (catalogue entry ``name``) and their SHA-256, refused unless it
    is the ``revision`` the catalogue pins: the one check for every learned model shipped as JSON."""
    card = get_card(name, task=task)
    if not path.is_file():
        raise ModelMissingError(f"{what} weights {path} are missing (catalogue entry {name!r})")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    expected = (card.revision or "").removeprefix("sha256:")
    if digest != expected:
        raise ValueError(
            f"{what} weights {path} have SHA-256 {digest}, but models/catalogue.toml pins "
            f"{expected or 'nothing'} for {name!r}: refusing weights the catalogue does not describe"
        )
    return json.loads(raw), digest


def weights_path(name: str) -> Path:
    """The sentence scorer's weights file of catalogue entry ``name``."""
    return weights_file(name, SCORER_TASK)


@functools.cache
def load_scorer(name: str) -> SentenceScorer:
    """The scorer of catalogue entry ``name``, after checking the file's SHA-256 against the catalogue."""
    data, digest = read_pinned(name, SCORER_TASK, weights_path(name), "sentence scorer")
    return SentenceScorer.from_dict(data, key=name, sha256=digest)
