"""Tiny seq2seq models built at test time, loaded through the same code users run.

The summariser is an mBART (the BARThez architecture) with a few thousand
parameters and a SentencePiece tokenizer trained on the given texts, saved with
``save_pretrained`` so the pipeline loads it from a local directory exactly as it
would load a downloaded model.  Its weights are random, so its summaries are
junk words; the output bias of the sentence-final "." token is raised so that
junk comes in "sentences", which lets tests see trimming at work.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm
import torch


def train_sentencepiece(texts: Iterable[str], directory: Path, vocab_size: int = 600) -> Path:
    """A unigram SentencePiece model with BARThez's special ids (pad 0, bos 1, eos 2, unk 3)."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [line.strip() for text in texts for line in text.splitlines() if line.strip()]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_prefix=str(directory / "sentencepiece.bpe"),
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0,
        bos_id=1,
        eos_id=2,
        unk_id=3,
        user_defined_symbols=["<mask>"],
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return directory / "sentencepiece.bpe.model"


def build_tiny_summarizer(
    directory: Path,
    texts: Iterable[str],
    *,
    vocab_size: int = 600,
    max_positions: int = 64,
    seed: int = 0,
    period_bias: float = 5.0,
    init_std: float = 0.5,
) -> Path:
    """Save a tiny mBART summariser and its tokenizer in ``directory``; return it."""
    from transformers import BarthezTokenizer, MBartConfig, MBartForConditionalGeneration

    train_sentencepiece(texts, directory / "spm", vocab_size)
    tokenizer = BarthezTokenizer.from_pretrained(str(directory / "spm"))
    tokenizer.model_max_length = max_positions
    config = MBartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_eos_token_id=tokenizer.eos_token_id,
        init_std=init_std,  # large random weights make the output depend on the input
    )
    torch.manual_seed(seed)
    model = MBartForConditionalGeneration(config)
    period = tokenizer.convert_tokens_to_ids(".")
    with torch.no_grad():
        model.final_logits_bias[0, period] += period_bias
        # Random weights almost never choose EOS; keep it that way so length limits are hit.
        model.final_logits_bias[0, tokenizer.eos_token_id] -= 10.0
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
