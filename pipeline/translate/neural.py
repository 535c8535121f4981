"""What the two neural engines (transformers and CTranslate2) share.

Both translate sentence by sentence with a subword tokenizer and a hard input
limit.  This module owns the parts that must behave identically whichever engine
runs: the input limit (over-long sentences are split at clause boundaries, never
truncated, and the split is reported), batching by length with the input order
restored, the generation settings and their defaults.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.catalogue import ModelCard
from pipeline.translate.base import Rendered, sorted_batches
from pipeline.translate.segment import normalise_space, split_clauses


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings shared by both engines (they feed the cache key and provenance)."""

    beam_size: int = 4
    no_repeat_ngram_size: int = 0  # repetition guard: no n-gram of subwords twice (0 = off)
    repetition_penalty: float = 1.0  # repetition guard: >1 discourages repeated subwords (1 = off)
    length_penalty: float = 1.0
    max_length_ratio: float = 2.0  # output budget: ratio × input subwords + max_length_extra
    max_length_extra: int = 10

    @classmethod
    def from_card(cls, card: ModelCard, beam_size: int) -> GenerationSettings:
        """Catalogue ``[key.generation]`` values, with the configured beam size."""
        known = {f for f in cls.__dataclass_fields__ if f != "beam_size"}
        values = {k: v for k, v in card.generation.items() if k in known}
        return cls(beam_size=beam_size, **values)

    def max_new_tokens(self, longest_input: int, model_limit: int) -> int:
        return min(model_limit, math.ceil(self.max_length_ratio * longest_input) + self.max_length_extra)

    def as_params(self) -> dict[str, Any]:
        return {
            "beam_size": self.beam_size,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
            "repetition_penalty": self.repetition_penalty,
            "length_penalty": self.length_penalty,
            "max_length_ratio": self.max_length_ratio,
            "max_length_extra": self.max_length_extra,
        }


class NeuralTranslator(ABC):
    """Sentence-level neural translation with a strict input limit.

    Subclasses implement :meth:`generate_ids` for one batch of token sequences
    of similar length.
    """

    backend: str = "neural"

    def __init__(
        self,
        tokenizer: Any,
        *,
        model: str,
        revision: str | None,
        generation: GenerationSettings,
        batch_size: int,
        max_input_tokens: int,
        model_max_tokens: int,
        target_prefix: str | None = None,
    ):
        self.tokenizer = tokenizer
        self.model = model
        self.revision = revision
        self.generation = generation
        self.batch_size = batch_size
        # The limit counts the end-of-sentence token and can never exceed what the model was built for.
        self.max_input_tokens = max(2, min(max_input_tokens, model_max_tokens))
        self.model_max_tokens = model_max_tokens
        self.target_prefix = target_prefix  # NLLB-style target language token, if any

    def params(self) -> dict[str, Any]:
        params = {**self.generation.as_params(), "max_input_tokens": self.max_input_tokens}
        if self.generation.beam_size > 1:
            # Beam search over a padded batch depends on its batch-mates (greedy does not:
            # each output is cut to its own budget), so the batch size changes the output.
            params["batch_size"] = self.batch_size
        return params

    # --- input limit -------------------------------------------------------

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return [list(ids) for ids in self.tokenizer(list(texts), truncation=False)["input_ids"]]

    def fits(self, text: str) -> bool:
        return len(self.token_ids([text])[0]) <= self.max_input_tokens

    def translate(self, sentences: Sequence[str]) -> list[Rendered]:
        texts = [normalise_space(s) for s in sentences]
        lengths = [len(ids) for ids in self.token_ids(texts)]
        pieces: list[str] = []
        owner: list[int] = []
        split = [False] * len(texts)
        for index, (text, length) in enumerate(zip(texts, lengths, strict=True)):
            if not text:
                continue
            parts = [text] if length <= self.max_input_tokens else split_clauses(text, self.fits)
            split[index] = len(parts) > 1
            pieces.extend(parts)
            owner.extend([index] * len(parts))
        outputs = self.translate_pieces(pieces)
        joined: list[list[str]] = [[] for _ in texts]
        for index, out in zip(owner, outputs, strict=True):
            joined[index].append(out.strip())
        return [Rendered(" ".join(p for p in parts if p), split=split[i]) for i, parts in enumerate(joined)]

    # --- batching ----------------------------------------------------------

    def translate_pieces(self, pieces: Sequence[str]) -> list[str]:
        """Translate pieces that fit the limit, in length-sorted batches; output in input order."""
        ids = self.token_ids(pieces)
        results: list[str] = [""] * len(pieces)
        batches = sorted_batches([len(x) for x in ids], self.effective_batch_size(len(pieces)))
        generated = self._generate_batches([[ids[i] for i in batch] for batch in batches])
        for batch, outputs in zip(batches, generated, strict=True):
            for i, out in zip(batch, outputs, strict=True):
                # A batch decodes up to the budget of its longest input; each output is held to
                # its own budget so that it does not depend on its batch-mates (exactly so for
                # greedy search, whose first n tokens never depend on the length limit).
                budget = self.generation.max_new_tokens(len(ids[i]), self.model_max_tokens)
                results[i] = self.decode(out[:budget])  # written back at its index: input order restored
        return results

    def effective_batch_size(self, count: int) -> int:
        """Batch size for ``count`` pieces (CTranslate2 evens batches out over its workers)."""
        return self.batch_size

    def _generate_batches(self, batches: list[list[list[int]]]) -> list[list[list[int]]]:
        """Generate for each batch; CTranslate2 overrides this to run batches in parallel."""
        return [self.generate_ids(batch) for batch in batches]

    @abstractmethod
    def generate_ids(self, batch: list[list[int]]) -> list[list[int]]:
        """Output token ids (no start, end or padding tokens) for a batch of input ids ending with EOS."""

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True).strip()


def language_codes(card: ModelCard) -> Mapping[str, str]:
    """NLLB-style models name their source/target languages (``src_lang``, ``tgt_lang``) in the card."""
    return {k: str(card.extra[k]) for k in ("src_lang", "tgt_lang") if k in card.extra}
