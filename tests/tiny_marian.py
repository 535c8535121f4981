"""Build a small MarianMT model and tokenizer from scratch, on disk, in seconds.

Used by the translate tests (a tiny model) and by ``bench/translate.py`` (a model
with opus-mt-fr-en's dimensions).  The weights are random: speed and batching
behaviour do not depend on their values, and the tests check behaviour that holds
for any weights (order, caching, splitting, engine equivalence), never wording.

The layout is the one ``Helsinki-NLP/opus-*`` checkpoints use, so the very same
loading code users run reads it: ``source.spm`` / ``target.spm`` SentencePiece
models, a shared ``vocab.json`` whose last id is ``<pad>`` (the decoder start
token, which CTranslate2's converter drops), ``config.json`` and
``model.safetensors``.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm


def train_sentencepiece(texts: Iterable[str], vocab_size: int) -> bytes:
    """Train a unigram SentencePiece model on ``texts`` and return its bytes."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([line for text in texts for line in text.splitlines() if line.strip()]),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,  # a small corpus may not support the requested size
        unk_id=0,
        bos_id=-1,
        eos_id=1,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def build_marian(
    out_dir: str | Path,
    texts: Iterable[str],
    *,
    spm_vocab_size: int = 600,
    vocab_size: int | None = None,
    d_model: int = 32,
    layers: int = 2,
    heads: int = 2,
    ffn_dim: int = 64,
    max_positions: int = 512,
    seed: int = 0,
) -> Path:
    """Write a random-weight MarianMT model + MarianTokenizer files to ``out_dir``.

    ``vocab_size`` pads the vocabulary with unused tokens up to that size (the
    benchmark uses it to get opus-mt-fr-en's ~59k output projection).
    """
    import torch
    from transformers import MarianConfig, MarianMTModel

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spm_bytes = train_sentencepiece(texts, spm_vocab_size)
    (out / "source.spm").write_bytes(spm_bytes)
    shutil.copyfile(out / "source.spm", out / "target.spm")

    processor = spm.SentencePieceProcessor(model_proto=spm_bytes)
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    vocab = {"</s>": 0, "<unk>": 1}
    for piece in pieces:
        if piece not in vocab and not processor.is_control(pieces.index(piece)):
            vocab[piece] = len(vocab)
    if vocab_size is not None:
        filler = 0
        while len(vocab) < vocab_size - 1:
            vocab[f"<unused{filler}>"] = len(vocab)
            filler += 1
    pad_id = len(vocab)
    vocab["<pad>"] = pad_id  # Marian convention: the last id, also the decoder start token
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=0), encoding="utf-8")
    (out / "tokenizer_config.json").write_text(
        json.dumps({"source_lang": "fr", "target_lang": "en", "tokenizer_class": "MarianTokenizer"}),
        encoding="utf-8",
    )

    config = MarianConfig(
        vocab_size=len(vocab),
        decoder_vocab_size=len(vocab),
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn_dim,
        decoder_ffn_dim=ffn_dim,
        max_position_embeddings=max_positions,
        pad_token_id=pad_id,
        eos_token_id=0,
        decoder_start_token_id=pad_id,
        forced_eos_token_id=None,  # a fixed output length must be forceable (benchmark)
        share_encoder_decoder_embeddings=True,
        scale_embedding=True,
        static_position_embeddings=True,
        activation_function="swish",
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    # Default (0.02) init gives near-uniform logits and the same output for every
    # input; unit-variance embeddings and cross-attention make the output depend on
    # the input and keep arg-max decisions far from ties (engines then agree exactly).
    with torch.no_grad():
        model.model.shared.weight.normal_(0.0, 1.0)
        model.model.shared.weight[pad_id].zero_()
        for layer in model.model.decoder.layers:
            attention = layer.encoder_attn
            for proj in (attention.q_proj, attention.k_proj, attention.v_proj, attention.out_proj):
                proj.weight.normal_(0.0, 1.0)
    model.eval()
    model.save_pretrained(out)  # transformers 5 always writes model.safetensors
    return out


def session_tiny_marian(tmp_path_factory, seed_paths) -> Path:  # type: ignore[no-untyped-def]
    """The tiny Marian of a test session: built on first use, then reused by every test module."""
    out = tmp_path_factory.getbasetemp() / "tiny-marian"
    if not (out / "model.safetensors").is_file():
        build_marian(out, [p.read_text(encoding="utf-8") for p in seed_paths])
    return out
