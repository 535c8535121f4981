"""rouge-score's own default tokenizer, named so signatures can say which one was used.

It keeps only ``[a-z0-9]`` after lowercasing, which is what most published ROUGE
tables computed with rouge-score use; French accented words fall apart:

>>> RougeDefaultTokenizer().tokenize("La délégation")
['la', 'd', 'l', 'gation']
"""

from __future__ import annotations

from rouge_score.tokenizers import DefaultTokenizer

NAME = "rouge-default"


class RougeDefaultTokenizer(DefaultTokenizer):
    """rouge-score's ``DefaultTokenizer`` without stemming (its default)."""

    name = NAME

    def __init__(self) -> None:
        super().__init__(use_stemmer=False)
