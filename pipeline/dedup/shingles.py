"""Word tokens, shingles and MinHash signatures for lexical near-duplicate search.

French rewrites of wire copy keep the content words (names, numbers, nouns,
verbs) and shuffle or swap the function words around them, so shingles are
built over *content words*: casefolded, accents stripped, spaCy's French stop
words dropped.  With ``n = 1`` a shingle set is the bag of content words, which
is what survives a rewrite; larger ``n`` only matches verbatim copies.

>>> content_words("L’Agence a organisé, du 11 au 21 février, une mission d’affaires.")
['agence', 'organise', '11', '21', 'fevrier', 'mission', 'affaires']
>>> sorted(shingles(["agence", "organise", "mission"], 2))
['agence organise', 'organise mission']
>>> a = signature(shingles(content_words("Une délégation marocaine visite Austin et Dallas."), 1))
>>> b = signature(shingles(content_words("La délégation marocaine a visité Austin puis Dallas."), 1))
>>> round(a.jaccard(b), 1)
1.0
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence

from datasketch import LeanMinHash, MinHash
from spacy.lang.fr.stop_words import STOP_WORDS

from pipeline.french import fold

# Apostrophes and hyphens glue French words together (l’Agence, Etats-Unis):
# split on them so "l’agence" and "l'Agence" give the same token "agence".
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SEED = 1  # MinHash permutation seed: fixed so signatures are comparable across runs


@functools.cache
def stop_words() -> frozenset[str]:
    # Also the pieces of elided or hyphenated stop words: "qu'" -> "qu", "celle-ci" -> "ci".
    folded = {fold(w) for w in STOP_WORDS}
    return frozenset(folded | {piece for w in folded for piece in _WORD.findall(w)})


# Folding token by token through a cache is much faster than folding whole texts.
fold_word = functools.lru_cache(maxsize=1 << 20)(fold)


@functools.lru_cache(maxsize=1 << 20)
def _content_form(word: str) -> str | None:
    """Fold one token; ``None`` marks a stop word or a one-letter token (elided l’, d’, s’)."""
    folded = fold(word)
    return None if len(folded) < 2 or folded in stop_words() else folded


def words(text: str) -> list[str]:
    """All word tokens of ``text`` (not folded: for counting)."""
    return _WORD.findall(unicodedata.normalize("NFC", text))


def content_words(text: str | list[str]) -> list[str]:
    """Folded word tokens minus French stop words and one-letter tokens.

    Accepts a text or the list :func:`words` already made of it.
    """
    tokens = words(text) if isinstance(text, str) else text
    folded = (_content_form(w) for w in tokens)
    return [w for w in folded if w is not None]


def shingles(tokens: Sequence[str], n: int) -> set[str]:
    """The set of ``n``-word shingles of ``tokens`` (a shorter sequence is one shingle)."""
    if n <= 1 or len(tokens) <= n:
        return set(tokens) if n <= 1 else ({" ".join(tokens)} if tokens else set())
    return {" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def token_hash(shingle: str) -> int:
    """A stable 32-bit hash (CRC-32: fast, in the standard library, same on every machine).

    datasketch's default scheme pre-mixes input hashes with the MurmurHash3
    finaliser, so CRC-32's weak avalanche does not bias the signatures.
    """
    return zlib.crc32(shingle.encode("utf-8"))


@functools.cache
def _template(num_perm: int) -> MinHash:
    # Building permutations costs more than hashing a sentence: build them once.
    return MinHash(num_perm=num_perm, seed=_SEED, hashfunc=token_hash)


def signature(shingle_set: Iterable[str], num_perm: int = 64) -> LeanMinHash:
    """The MinHash signature of a shingle set (datasketch, "affine32" scheme)."""
    template = _template(num_perm)
    minhash = MinHash(
        num_perm=num_perm,
        seed=_SEED,
        hashfunc=token_hash,
        permutations=template.permutations,
        scheme=template.scheme,
    )
    minhash.update_batch(list(shingle_set))
    return LeanMinHash(minhash)


def jaccard(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    """Exact Jaccard similarity of two shingle sets (1.0 for two empty sets).

    >>> jaccard({"a", "b", "c"}, {"b", "c", "d"})
    0.5
    """
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)
