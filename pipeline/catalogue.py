"""The model catalogue (``models/catalogue.toml``): one place that says which model does what.

>>> card = get_card("all-minilm-l6-v2")
>>> card.task, card.model_id
('embed', 'sentence-transformers/all-MiniLM-L6-v2')
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
# A source checkout keeps the catalogue at the repository root; a wheel carries a copy.
_CANDIDATES = (_HERE.parent / "models" / "catalogue.toml", _HERE / "_data" / "models" / "catalogue.toml")


@dataclass(frozen=True)
class ModelCard:
    key: str
    task: str
    model_id: str
    revision: str | None = None
    licence: str | None = None
    format: str = "safetensors"
    package: str | None = None
    languages: tuple[str, ...] = ()
    notes: str = ""
    generation: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return Path(self.model_id).is_dir()


class UnknownModelError(KeyError):
    pass


def catalogue_path() -> Path:
    for path in _CANDIDATES:
        if path.is_file():
            return path
    raise FileNotFoundError("models/catalogue.toml not found next to the pipeline package")


@functools.cache
def load_catalogue() -> dict[str, ModelCard]:
    with catalogue_path().open("rb") as fh:
        data = tomllib.load(fh)
    cards = {}
    known = {
        "task",
        "model_id",
        "revision",
        "licence",
        "format",
        "package",
        "languages",
        "notes",
        "generation",
    }
    for key, table in data.items():
        cards[key] = ModelCard(
            key=key,
            task=table["task"],
            model_id=table["model_id"],
            revision=table.get("revision"),
            licence=table.get("licence"),
            format=table.get("format", "safetensors"),
            package=table.get("package"),
            languages=tuple(table.get("languages", ())),
            notes=table.get("notes", ""),
            generation=dict(table.get("generation", {})),
            extra={k: v for k, v in table.items() if k not in known},
        )
    return cards


def get_card(name: str, task: str | None = None) -> ModelCard:
    """Look ``name`` up in the catalogue; a local directory path gives an ad-hoc card."""
    cards = load_catalogue()
    if name in cards:
        card = cards[name]
    elif Path(name).is_dir():
        card = ModelCard(key=name, task=task or "unknown", model_id=str(Path(name).resolve()))
    else:
        choices = ", ".join(k for k, c in cards.items() if task is None or c.task == task)
        raise UnknownModelError(
            f"model {name!r} is neither a catalogue key ({choices}) nor a local directory"
        )
    if task is not None and card.task not in (task, "unknown"):
        raise UnknownModelError(f"model {name!r} is a {card.task} model, not {task}")
    return card


def download_hint(card: ModelCard) -> str:
    """How to get ``card``'s weights onto a machine: the one wording every "model missing" error uses."""
    revision = f" --revision {card.revision}" if card.revision else ""
    return (
        f"where the Hugging Face hub is reachable, run `pipeline models download {card.key}` "
        f"(the same as `hf download {card.model_id}{revision}` limited to safetensors, JSON and "
        "tokenizer files), then copy the hub cache (HF_HOME) to this machine"
    )
