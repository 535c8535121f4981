"""Abstractive summaries with any transformers seq2seq model of the catalogue.

* Weights load through :mod:`pipeline.loaders` (pinned revision, ``safetensors``
  only, never remote code); a missing model raises ``ModelMissingError`` saying
  how to get it.
* Long inputs are split on sentence boundaries into chunks that fit the model's
  input limit; chunks are summarised, their summaries concatenated and
  summarised again until one chunk remains (map-reduce).
* Generation is batched over inputs sorted by length (less padding) under
  ``torch.inference_mode``, and results are put back in input order.
* Repetition is controlled by ``no_repeat_ngram_size`` (and optionally
  ``repetition_penalty``); a summary cut by ``max_new_tokens`` is trimmed back to
  its last complete sentence, so no summary stops mid-sentence.
* ``max_new_tokens`` never exceeds what the model's decoder positions allow,
  whatever ``target_words`` asks for.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch

from pipeline.catalogue import ModelCard
from pipeline.loaders import load_seq2seq

# Upper bound on generated tokens per target word, so `target_words` also caps neural output.
TOKENS_PER_WORD = 2.0
MAX_LEVELS = 6  # map-reduce depth guard (each level divides the input by chunk/summary ratio)
_SENTENCE_END = re.compile(r"[.!?…](?:\s?[»\"”)\]]+)?(?=\s|$)")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])(?:[»\"”)\]]+)?\s+")


@dataclass(frozen=True)
class GenerationSettings:
    """What ``model.generate`` gets; defaults are overridden by the catalogue card."""

    num_beams: int = 4
    no_repeat_ngram_size: int = 3
    length_penalty: float = 1.0
    min_new_tokens: int = 0
    max_new_tokens: int = 128
    early_stopping: bool = True
    repetition_penalty: float = 1.0

    @classmethod
    def from_card(cls, card: ModelCard, target_words: int | None = None) -> GenerationSettings:
        known = {f.name for f in fields(cls)}
        unknown = set(card.generation) - known
        if unknown:
            raise ValueError(f"catalogue entry {card.key!r}: unknown generation settings {sorted(unknown)}")
        settings = cls(**card.generation)
        if target_words:
            cap = max(8, math.ceil(target_words * TOKENS_PER_WORD))
            if cap < settings.max_new_tokens:
                settings = cls(**{**asdict(settings), "max_new_tokens": cap})
        if settings.min_new_tokens > settings.max_new_tokens:
            settings = cls(**{**asdict(settings), "min_new_tokens": settings.max_new_tokens // 2})
        return settings


@dataclass
class Generated:
    text: str  # after trimming to the last complete sentence
    raw: str  # as decoded
    new_tokens: int
    hit_limit: bool  # generation stopped at max_new_tokens


@dataclass
class NeuralSummary:
    text: str
    chunks: int  # chunks of the input at the first level
    levels: int  # generation rounds: 1 = the input fitted in one chunk
    trimmed: bool  # some round hit max_new_tokens and was cut back to a complete sentence


class NeuralSummarizer:
    """Map-reduce abstractive summariser around one seq2seq model and its tokenizer."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        card: ModelCard,
        generation: GenerationSettings,
        *,
        batch_size: int = 4,
        max_input_tokens: int = 0,
        device: str = "cpu",
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.card = card
        self.generation = generation  # capped at the model's positions (the setter)
        self.batch_size = max(1, batch_size)
        self.device = device
        self.max_input_tokens = max_input_tokens or self._model_input_limit()
        self._special = len(self.tokenizer("")["input_ids"])
        if self.max_input_tokens <= self._special + 8:
            raise ValueError(f"max_input_tokens={self.max_input_tokens} leaves no room for text")

    @classmethod
    def load(
        cls,
        card: ModelCard,
        *,
        target_words: int | None = None,
        batch_size: int = 4,
        max_input_tokens: int = 0,
        device: str = "cpu",
        local_files_only: bool = False,
    ) -> NeuralSummarizer:
        model, tokenizer = load_seq2seq(card, device=device, local_files_only=local_files_only)
        return cls(
            model,
            tokenizer,
            card,
            GenerationSettings.from_card(card, target_words),
            batch_size=batch_size,
            max_input_tokens=max_input_tokens or int(card.extra.get("max_input_tokens", 0)),
            device=device,
        )

    @property
    def generation(self) -> GenerationSettings:
        return self._generation

    @generation.setter
    def generation(self, wanted: GenerationSettings) -> None:
        # A decoder cannot go past its position table (IndexError in the embedding lookup):
        # a long target on a small model is cut to what the model can produce.
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if isinstance(limit, int) and 0 < limit < wanted.max_new_tokens:
            cap = limit - 1  # the decoder start token takes the first position
            wanted = dataclasses.replace(
                wanted, max_new_tokens=cap, min_new_tokens=min(wanted.min_new_tokens, cap // 2)
            )
        self._generation = wanted

    def _model_input_limit(self) -> int:
        limits = [
            getattr(self.model.config, "max_position_embeddings", None),
            getattr(self.tokenizer, "model_max_length", None),
        ]
        usable = [int(x) for x in limits if isinstance(x, int) and 0 < x < 100_000]
        return min(usable) if usable else 512

    def params(self) -> dict[str, Any]:
        return {
            "generation": asdict(self.generation),
            "max_input_tokens": self.max_input_tokens,
            "batch_size": self.batch_size,
            "map_reduce": True,
        }

    # --- chunking ------------------------------------------------------------

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        ids = self.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        return [len(x) for x in ids]

    def chunk(self, sentences: Sequence[str]) -> list[str]:
        """Pack consecutive sentences into chunks that fit the model's input limit.

        A sentence that alone exceeds the limit is split between words.
        """
        budget = self.max_input_tokens - self._special
        pieces: list[str] = []
        for sentence, n in zip(sentences, self.count_tokens(sentences), strict=True):
            if not sentence.strip():
                continue
            pieces.extend([sentence] if n <= budget else self._split_long(sentence, budget))
        counts = self.count_tokens(pieces)
        groups: list[list[str]] = []
        current: list[str] = []
        used = 0
        for piece, n in zip(pieces, counts, strict=True):
            if current and used + n > budget:
                groups.append(current)
                current, used = [], 0
            current.append(piece)
            used += n
        if current:
            groups.append(current)
        # Joining can tokenise differently from the parts: verify, and move overflow on.
        chunks: list[str] = []
        while groups:
            group = groups.pop(0)
            while len(group) > 1 and self.count_tokens([" ".join(group)])[0] > budget:
                overflow = group.pop()
                if groups:
                    groups[0].insert(0, overflow)
                else:
                    groups.append([overflow])
            chunks.append(" ".join(group))
        return chunks

    def _split_long(self, sentence: str, budget: int) -> list[str]:
        words = sentence.split()
        out: list[str] = []
        start = 0
        while start < len(words):
            lo, hi = start + 1, len(words)
            while lo < hi:  # the longest run of words from `start` that fits
                mid = (lo + hi + 1) // 2
                if self.count_tokens([" ".join(words[start:mid])])[0] <= budget:
                    lo = mid
                else:
                    hi = mid - 1
            out.append(" ".join(words[start:lo]))
            start = lo
        return out

    # --- generation ------------------------------------------------------------

    def generate(self, texts: Sequence[str]) -> list[Generated]:
        """One summary per text, batched by length, returned in input order."""
        order = sorted(range(len(texts)), key=lambda i: -self.count_tokens([texts[i]])[0])
        results: list[Generated | None] = [None] * len(texts)
        g = self.generation
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            enc = self.tokenizer(
                [texts[i] for i in batch],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=self.max_input_tokens,
            ).to(self.device)
            with torch.inference_mode():
                out = self.model.generate(
                    **enc,
                    num_beams=g.num_beams,
                    no_repeat_ngram_size=g.no_repeat_ngram_size,
                    length_penalty=g.length_penalty,
                    min_new_tokens=g.min_new_tokens,
                    max_new_tokens=g.max_new_tokens,
                    early_stopping=g.early_stopping,
                    repetition_penalty=g.repetition_penalty,
                    do_sample=False,
                )
            for row, i in enumerate(batch):
                results[i] = self._finish(out[row])
        return [r for r in results if r is not None]

    def _finish(self, sequence: torch.Tensor) -> Generated:
        ids = sequence.tolist()
        start = self.model.generation_config.decoder_start_token_id
        if ids and start is not None and ids[0] == start:
            ids = ids[1:]  # the decoder start token is not generated
        pad = self.tokenizer.pad_token_id
        eos = self.tokenizer.eos_token_id
        while ids and ids[-1] == pad:
            ids.pop()
        stopped_by_eos = bool(ids) and ids[-1] == eos and len(ids) < self.generation.max_new_tokens
        hit_limit = len(ids) >= self.generation.max_new_tokens and not stopped_by_eos
        raw = _clean(self.tokenizer.decode(ids, skip_special_tokens=True))
        text = trim_to_sentence(raw) if hit_limit else raw
        return Generated(text=text, raw=raw, new_tokens=len(ids), hit_limit=hit_limit)

    # --- map-reduce ------------------------------------------------------------

    def summarize(self, documents: Sequence[Sequence[str]]) -> list[NeuralSummary]:
        """One summary per document, each given as its list of sentences."""
        state = [list(doc) for doc in documents]
        first_chunks = [0] * len(documents)
        levels = [0] * len(documents)
        trimmed = [False] * len(documents)
        final: list[str | None] = [None] * len(documents)
        for level in range(1, MAX_LEVELS + 1):
            todo = [d for d in range(len(documents)) if final[d] is None]
            if not todo:
                break
            chunks = {d: self.chunk(state[d]) for d in todo}
            for d in todo:
                if level == 1:
                    first_chunks[d] = len(chunks[d])
                if not chunks[d]:
                    final[d] = ""
            flat = [(d, c) for d in todo for c in chunks[d] if chunks[d]]
            generated = self.generate([c for _, c in flat])
            outputs: dict[int, list[Generated]] = {}
            for (d, _), gen in zip(flat, generated, strict=True):
                outputs.setdefault(d, []).append(gen)
            for d, gens in outputs.items():
                levels[d] = level
                trimmed[d] = trimmed[d] or any(g.hit_limit for g in gens)
                if len(gens) == 1 or level == MAX_LEVELS:
                    final[d] = " ".join(g.text for g in gens).strip()
                else:  # reduce: summarise the concatenated chunk summaries
                    state[d] = [s for g in gens for s in split_sentences(g.text)]
        return [
            NeuralSummary(text=final[d] or "", chunks=first_chunks[d], levels=levels[d], trimmed=trimmed[d])
            for d in range(len(documents))
        ]


def trim_to_sentence(text: str) -> str:
    """Cut ``text`` after its last complete sentence; with none, end it with an explicit ellipsis.

    >>> trim_to_sentence("La visite a eu lieu. Elle a permis de")
    'La visite a eu lieu.'
    >>> trim_to_sentence("Une visite qui a permis de")
    'Une visite qui a permis de…'
    """
    ends = list(_SENTENCE_END.finditer(text))
    if ends:
        return text[: ends[-1].end()].strip()
    return text.rstrip(" ,;:-") + "…" if text.strip() else text


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s.strip()]


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
