"""Baselines scored alongside the systems, so every number has something to beat.

* ``lead-3``: the first three sentences of the article (for an event, of its
  first member article in the reference's order that is in the run).
* ``random-3``: three sentences drawn at random, seeded by the score seed and
  the article name, kept in document order.
* ``apertium-raw``: the rule-based Apertium fr→es→en pivot, run through the
  translate stage's offline backend, untouched by any neural model.

>>> from pipeline.records import Article, Sentence
>>> text = "Un. Deux. Trois. Quatre. Cinq."
>>> starts = [0, 4, 10, 17, 25]
>>> a = Article(id="x", name="x", source="x", text=text,
...             sentences=[Sentence(s, text.index(".", s) + 1, 0) for s in starts])
>>> lead_n(a)
'Un. Deux. Trois.'
>>> random_n(a, seed=1) == random_n(a, seed=1)
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from pipeline.records import Article, Provenance
from pipeline.settings import Settings

LEAD = "lead-3"
RANDOM = "random-3"
APERTIUM = "apertium-raw"
DESCRIPTIONS = {
    LEAD: "first three sentences of the article",
    RANDOM: "three random sentences of the article (seeded), in document order",
    APERTIUM: "Apertium rule-based fr→es→en pivot, raw",
}


class BaselineUnavailable(RuntimeError):
    """A baseline that cannot be computed here (the reason is shown in the scores)."""


def lead_n(article: Article, n: int = 3) -> str:
    return " ".join(t.strip() for t in article.sentence_texts()[:n])


def random_n(article: Article, n: int = 3, seed: int = 0) -> str:
    sentences = article.sentence_texts()
    if len(sentences) <= n:
        return " ".join(t.strip() for t in sentences)
    # Seeded per article so adding an article to the run does not change the others' baseline.
    salt = int.from_bytes(hashlib.sha256(article.name.encode("utf-8")).digest()[:8], "big")
    rng = np.random.default_rng([seed, salt])
    chosen = sorted(rng.choice(len(sentences), size=n, replace=False).tolist())
    return " ".join(sentences[i].strip() for i in chosen)


def apertium_translate(texts: Sequence[str], settings: Settings) -> tuple[list[str], Provenance]:
    """French paragraphs → raw Apertium English, through the translate stage's public functions."""
    try:
        from pipeline.translate import translate_texts
        from pipeline.translate.backends import load_offline
    except ImportError as exc:
        raise BaselineUnavailable(f"the translate stage is not installed ({exc})") from None
    from pipeline.cache import open_cache

    try:
        translator = load_offline(settings.translate, raw=True)
        # The shared output cache: sentences the translate stage already ran through Apertium are hits.
        with open_cache(settings) as cache:
            english, provenance = translate_texts(list(texts), settings, translator=translator, cache=cache)
    except (OSError, RuntimeError, ValueError) as exc:  # ModelMissingError, TranslationError, ...
        raise BaselineUnavailable(f"{type(exc).__name__}: {exc}") from None
    return list(english), provenance
