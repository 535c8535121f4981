"""Summarise stage: per-article and per-event French summaries, neural or offline."""

from __future__ import annotations

from pipeline.nlp import ModelMissingError, load_spacy
from pipeline.settings import SummarizeSettings
from pipeline.summarize.embeddings import embed, load_sentence_encoder
from pipeline.summarize.offline import OfflineSummarizer


def build_offline(config: SummarizeSettings) -> tuple[OfflineSummarizer, list[str]]:
    """The offline summariser for ``config``, and notes on what it had to do without."""
    notes: list[str] = []
    nlp = load_spacy(config.spacy_model)
    encode = None
    try:
        encoder = load_sentence_encoder(config.embedding_model)
        encode = lambda texts: embed(encoder, texts)  # noqa: E731
    except ModelMissingError as exc:
        notes.append(f"offline summariser without sentence embeddings (TF-IDF similarity only): {exc}")
    summarizer = OfflineSummarizer(
        nlp,
        encode,
        target_words=config.target_words,
        mmr_lambda=config.mmr_lambda,
        compress=config.compress,
    )
    return summarizer, notes
