"""A French word tokenizer for ROUGE: keeps accented words whole and splits elisions.

rouge-score's default tokenizer keeps only ``[a-z0-9]``, so "délégation" becomes
``d l gation`` and every accented word scores as several unrelated fragments.
This tokenizer lowercases, applies NFC (so a precomposed "é" and "e" + combining
accent are the same token), turns typographic apostrophes into ``'`` and splits
an elided article or pronoun off the word it is attached to, so "l’administration"
and "l'administration" both give ``l'`` + ``administration``.  Words that only
look elided ("aujourd'hui", "presqu'île") stay whole.  Hyphenated compounds
("États-Unis") are split at the hyphen, like punctuation, which gives partial
credit when one side writes "Etats-Unis".  Decimal numbers ("2,5") stay whole.

>>> FrenchTokenizer().tokenize("La délégation rencontre l’administration à 2,5 km, aujourd'hui.")
['la', 'délégation', 'rencontre', "l'", 'administration', 'à', '2,5', 'km', "aujourd'hui"]
>>> FrenchTokenizer().tokenize("Qu’il vienne, s’il le faut, jusqu’aux États-Unis")
["qu'", 'il', 'vienne', "s'", 'il', 'le', 'faut', "jusqu'", 'aux', 'états', 'unis']
"""

from __future__ import annotations

import re
import unicodedata

from rouge_score.tokenizers import Tokenizer

NAME = "french-v1"

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
# A number (with decimal comma/point), or a run of letters/digits with inner apostrophes.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:'[^\W_]+)*")
# Elided forms that stand for a separate word ("l'" = le/la, "qu'" = que, ...).
_ELISION = re.compile(r"^(c|d|j|l|m|n|s|t|qu|lorsqu|puisqu|quoiqu|jusqu)'(?=[^\W_])")


class FrenchTokenizer(Tokenizer):
    """rouge-score compatible tokenizer (``tokenize(text) -> list[str]``) for French."""

    name = NAME

    def tokenize(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES).lower()
        tokens: list[str] = []
        for match in _TOKEN.finditer(text):
            word = match.group()
            # Peel elisions one at a time: "qu'l'..." never happens, but "jusqu'aux" does.
            while (elided := _ELISION.match(word)) is not None:
                tokens.append(elided.group())
                word = word[elided.end() :]
            tokens.append(word)
        return tokens
