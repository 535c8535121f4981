"""The learned sentence scorer: how likely a sentence is to carry what a journalist's abstract says.

Gradient-boosted regression trees (or, in the earlier format, a small feed-forward network) over
:mod:`.features`, trained on OrangeSum's train split by ``models/sentence-scorer/train.py``.
The weights are a JSON file
(``pipeline/summarize/weights/``)
of plain numbers (never pickle), named in ``models/catalogue.toml`` with its SHA-256 as the
revision: a file that does not match is refused, so the scorer in use is always the one the
catalogue (and the model card beside the weights) describes.  Inference is numpy only (a walk
down each tree, or a few matrix products), batched over every candidate sentence of every
article at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.catalogue import get_card
from pipeline.nlp import ModelMissingError
from pipeline.summarize.features import FEATURES

FORMAT = "french-news-pipeline/sentence-scorer-v1"  # a multi-layer perceptron
TREES_FORMAT = "french-news-pipeline/sentence-scorer-trees-v1"  # boosted regression trees
PACKAGE = Path(__file__).resolve().parents[1]  # pipeline/
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
}


@dataclass(frozen=True)
class Perceptron:
    """Standardise the features, run the layers, return one score per row."""

    mean: np.ndarray
    scale: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    activation: str = "relu"

    def __call__(self, features: np.ndarray) -> np.ndarray:
        x = (features - self.mean) / self.scale
        act = ACTIVATIONS[self.activation]
        for k, (weight, bias) in enumerate(self.layers):
            x = x @ weight + bias
            if k < len(self.layers) - 1:
                x = act(x)
        return x[:, 0]

    @classmethod
    def from_dict(cls, data: dict) -> Perceptron:
        if data.get("activation", "relu") not in ACTIVATIONS:
            raise ValueError(f"unknown activation {data['activation']!r}")
        layers = tuple(
            (np.asarray(layer["weight"], dtype=np.float64), np.asarray(layer["bias"], dtype=np.float64))
            for layer in data["layers"]
        )
        return cls(
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            layers=layers,
            activation=data.get("activation", "relu"),
        )


@dataclass(frozen=True)
class Trees:
    """A sum of regression trees plus a baseline (scikit-learn's HistGradientBoostingRegressor).

    Each tree is flat arrays over its nodes: a row goes left when ``x[feature] <= threshold``;
    a leaf has ``feature == -1`` and adds its ``value``.  All trees are stacked into one
    padded array so a whole batch walks every tree at once, one level per step.
    """

    baseline: float
    feature: np.ndarray  # (trees, nodes) int; -1 at leaves
    threshold: np.ndarray  # (trees, nodes)
    left: np.ndarray  # (trees, nodes) int
    right: np.ndarray  # (trees, nodes) int
    value: np.ndarray  # (trees, nodes)
    depth: int

    def __call__(self, features: np.ndarray) -> np.ndarray:
        # In blocks of rows: the walk holds a (rows, trees) array of node indices.
        return np.concatenate([self._walk(features[k : k + 2048]) for k in range(0, len(features), 2048)])

    def _walk(self, features: np.ndarray) -> np.ndarray:
        n_trees = self.feature.shape[0]
        tree = np.arange(n_trees)[None, :]
        node = np.zeros((features.shape[0], n_trees), dtype=np.int64)
        rows = np.arange(features.shape[0])[:, None]
        for _ in range(self.depth):
            feature = self.feature[tree, node]
            inner = feature >= 0
            goes_left = features[rows, np.maximum(feature, 0)] <= self.threshold[tree, node]
            step = np.where(goes_left, self.left[tree, node], self.right[tree, node])
            node = np.where(inner, step, node)
        return self.baseline + self.value[tree, node].sum(axis=1)

    @classmethod
    def from_dict(cls, data: dict) -> Trees:
        trees = data["trees"]
        if not trees:
            raise ValueError("a tree scorer without trees")
        width = max(len(t["feature"]) for t in trees)

        def stack(key: str, dtype: type, fill: float) -> np.ndarray:
            out: np.ndarray = np.full((len(trees), width), fill, dtype=dtype)
            for k, t in enumerate(trees):
                out[k, : len(t[key])] = t[key]
            return out

        feature = stack("feature", np.int64, -1)
        left, right = stack("left", np.int64, 0), stack("right", np.int64, 0)
        for k, t in enumerate(trees):
            if len(t["threshold"]) != len(t["feature"]) or len(t["value"]) != len(t["feature"]):
                raise ValueError(f"tree {k}: arrays of different lengths")
        return cls(
            baseline=float(data["baseline"]),
            feature=feature,
            threshold=stack("threshold", np.float64, 0.0),
            left=left,
            right=right,
            value=stack("value", np.float64, 0.0),
            depth=int(max(_depth(t) for t in trees)),
        )


def _depth(tree: dict) -> int:
    """The number of steps from the root to the deepest leaf (trees are stored parent before child)."""
    depth = [0] * len(tree["feature"])
    for k, f in enumerate(tree["feature"]):
        if f >= 0:
            depth[tree["left"][k]] = depth[tree["right"][k]] = depth[k] + 1
    return max(depth)


@dataclass(frozen=True)
class SentenceScorer:
    """A scoring model over :data:`~pipeline.summarize.features.FEATURES`, one score per row."""

    key: str
    sha256: str
    model: Callable[[np.ndarray], np.ndarray]

    def __call__(self, features: np.ndarray) -> np.ndarray:
        if features.shape[0] == 0:
            return np.zeros(0)
        return self.model(np.asarray(features, dtype=np.float64))

    @classmethod
    def from_dict(cls, data: dict, key: str = "", sha256: str = "") -> SentenceScorer:
        kinds: dict[str, Callable[[dict], Callable[[np.ndarray], np.ndarray]]] = {
            FORMAT: Perceptron.from_dict,
            TREES_FORMAT: Trees.from_dict,
        }
        if data.get("format") not in kinds:
            expected = " or ".join(kinds)
            raise ValueError(
                f"not a sentence-scorer file (format {data.get('format')!r}, expected {expected})"
            )
        if tuple(data["features"]) != FEATURES:
            raise ValueError(
                "the scorer was trained on other features than pipeline/summarize/features.py computes: "
                "retrain it with models/sentence-scorer/train.py"
            )
        return cls(key=key, sha256=sha256, model=kinds[data["format"]](data))


def weights_path(name: str) -> Path:
    """The weights file of catalogue entry ``name``.

    Its ``path`` is relative to the ``pipeline`` package: the weights live in
    ``pipeline/summarize/weights/``, so they ship in the wheel and are part of the
    summarise stage's code version (new weights rerun the stage and miss the cache).
    """
    card = get_card(name, task="score-sentences")
    relative = card.extra.get("path")
    if not relative:
        raise ModelMissingError(f"catalogue entry {name!r} names no weights file (`path`)")
    return PACKAGE / relative


@functools.cache
def load_scorer(name: str) -> SentenceScorer:
    """The scorer of catalogue entry ``name``, after checking the file's SHA-256 against the catalogue."""
    card = get_card(name, task="score-sentences")
    path = weights_path(name)
    if not path.is_file():
        raise ModelMissingError(f"sentence scorer weights {path} are missing (catalogue entry {name!r})")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    expected = (card.revision or "").removeprefix("sha256:")
    if digest != expected:
        raise ValueError(
            f"sentence scorer weights {path} have SHA-256 {digest}, but models/catalogue.toml pins "
            f"{expected or 'nothing'} for {name!r}: refusing weights the catalogue does not describe"
        )
    return SentenceScorer.from_dict(json.loads(raw), key=name, sha256=digest)
