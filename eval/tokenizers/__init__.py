"""Word tokenizers for ROUGE, one per module, looked up by name.

>>> get_tokenizer("french").tokenize("L’équipe")
["l'", 'équipe']
"""

from __future__ import annotations

from rouge_score.tokenizers import Tokenizer

from eval.tokenizers.french import FrenchTokenizer
from eval.tokenizers.rouge_default import RougeDefaultTokenizer

TOKENIZERS: dict[str, type[Tokenizer]] = {
    "french": FrenchTokenizer,
    "rouge-default": RougeDefaultTokenizer,
}


def get_tokenizer(name: str) -> Tokenizer:
    try:
        return TOKENIZERS[name]()
    except KeyError:
        raise ValueError(f"unknown tokenizer {name!r}; choose from {', '.join(sorted(TOKENIZERS))}") from None


__all__ = ["TOKENIZERS", "FrenchTokenizer", "RougeDefaultTokenizer", "get_tokenizer"]
