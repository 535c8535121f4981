"""French→English with a transformers sequence-to-sequence model (MarianMT by default).

Any MarianMT checkpoint works (``Helsinki-NLP/opus-mt-fr-en``, the larger
``opus-mt-tc-big-fr-en``, or a local directory in the same layout), and so does
NLLB (``facebook/nllb-200-distilled-600M``), whose catalogue card names its
language codes.  Weights load from ``safetensors`` only, at the card's pinned
revision, never with remote code.

transformers 5 dropped the ``translation`` pipeline task; this calls
``generate`` directly, on length-sorted batches under ``torch.inference_mode``.
"""

from __future__ import annotations

from typing import Any

from pipeline.catalogue import ModelCard, download_hint
from pipeline.loaders import load_seq2seq
from pipeline.translate.neural import GenerationSettings, NeuralTranslator, language_codes


def missing_model_message(card: ModelCard, exc: BaseException) -> str:
    where = f"{card.model_id}" + (f" at revision {card.revision}" if card.revision else "")
    return (
        f"translation model {card.key!r} ({where}) could not be loaded with safetensors weights: {exc}. "
        f"To get it: {download_hint(card)}; or use `translate.backend = "
        '"offline"` (Apertium).'
    )


class TransformersTranslator(NeuralTranslator):
    """Batched ``generate`` on a transformers seq2seq model.

    >>> engine = TransformersTranslator.from_card(get_card("opus-mt-fr-en"))  # doctest: +SKIP
    >>> engine.translate(["Le chat dort."])[0].text  # doctest: +SKIP
    'The cat sleeps.'
    """

    backend = "neural"

    def __init__(self, tokenizer: Any, hf_model: Any, *, card: ModelCard, **kwargs: Any):
        super().__init__(tokenizer, **kwargs)
        self.hf_model = hf_model
        self.card = card
        config = hf_model.config
        self._extra: dict[str, Any] = {}
        if getattr(config, "model_type", "") == "marian":
            # Marian decodes from <pad>; it must never be produced (the converted CTranslate2
            # model drops it from its vocabulary, so this also keeps both engines equal).
            self._extra["bad_words_ids"] = [[config.pad_token_id]]
        if self.target_prefix:
            self._extra["forced_bos_token_id"] = tokenizer.convert_tokens_to_ids(self.target_prefix)

    @classmethod
    def from_card(
        cls,
        card: ModelCard,
        *,
        beam_size: int = 4,
        batch_size: int = 16,
        max_input_tokens: int = 256,
        local_files_only: bool = False,
    ) -> TransformersTranslator:
        model, tokenizer = load_seq2seq(
            card,
            local_files_only=local_files_only,
            tokenizer_kwargs={k: v for k, v in language_codes(card).items() if k == "src_lang"},
            missing_message=missing_model_message,
        )
        return cls(
            tokenizer,
            model,
            card=card,
            model=card.model_id,
            revision=None if card.is_local else card.revision,
            generation=GenerationSettings.from_card(card, beam_size),
            batch_size=batch_size,
            max_input_tokens=max_input_tokens,
            model_max_tokens=model_max_positions(model.config),
            target_prefix=language_codes(card).get("tgt_lang"),
        )

    def generate_ids(self, batch: list[list[int]]) -> list[list[int]]:
        import torch

        pad = self.tokenizer.pad_token_id
        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):  # right padding, as the tokenizer does
            input_ids[row, : len(ids)] = torch.tensor(ids)
            attention[row, : len(ids)] = 1
        settings = self.generation
        with torch.inference_mode():
            output = self.hf_model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                num_beams=settings.beam_size,
                do_sample=False,
                max_new_tokens=settings.max_new_tokens(width, self.model_max_tokens),
                no_repeat_ngram_size=settings.no_repeat_ngram_size,
                repetition_penalty=settings.repetition_penalty,
                length_penalty=settings.length_penalty,
                # Beam scores over normalised log-probabilities, as CTranslate2 and Marian do.
                renormalize_logits=settings.beam_size > 1,
                **self._extra,
            )
        return [self._strip(row.tolist()) for row in output]

    def _strip(self, row: list[int]) -> list[int]:
        """Drop the decoder start token, everything from EOS on, and padding."""
        config = self.hf_model.config
        eos, pad = config.eos_token_id, config.pad_token_id
        row = row[1:]
        if eos in row:
            row = row[: row.index(eos)]
        return [i for i in row if i != pad]


def model_max_positions(config: Any) -> int:
    """The longest sequence the model was built for (Marian/NLLB: ``max_position_embeddings``)."""
    return int(getattr(config, "max_position_embeddings", 512) or 512)
