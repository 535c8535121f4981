"""Bytes → Unicode text (BOM, encoding detection, binary refusal); text → normalised text.

Decoding does not normalise: a JSONL line or an HTML attribute whose typographic
quotes became ASCII ones would no longer parse.  Each reader normalises the text it
extracts with :func:`normalize_text`.

>>> decode_bytes("“Déjà” vu".encode("utf-8")).text
'“Déjà” vu'
>>> decode_bytes("Déjà vu".encode("cp1252")).encoding
'cp1252'
>>> normalize_text("l’État  a dit «\\u202fbonjour\\u202f»")
"l'État a dit « bonjour »"
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import charset_normalizer


class DecodeError(ValueError):
    """Raised with a short reason code (``binary``, ``undecodable``) and a message."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_bytes(data: bytes) -> Decoded:
    """Decode ``data``: a BOM wins, then strict UTF-8, then charset detection (text kept as is)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return Decoded(data.decode(encoding), encoding)
    if _looks_binary(data):
        raise DecodeError("binary", "file looks binary (NUL bytes or control characters), not text")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    # Mostly valid UTF-8 with a few stray bytes (a truncated or patched file): keep UTF-8
    # and mark the damage rather than re-reading every accent as mojibake.
    replaced = data.decode("utf-8", errors="replace")
    damaged = replaced.count("\ufffd")
    if any(ord(ch) > 127 and ch != "\ufffd" for ch in replaced) and damaged <= max(1, len(replaced) // 1000):
        return Decoded(replaced, f"utf-8 ({damaged} invalid byte(s) replaced)")
    best = charset_normalizer.from_bytes(data, cp_isolation=list(_WESTERN_ENCODINGS)).best()
    if best is None or _implausible(str(best)):
        raise DecodeError("undecodable", "not valid UTF-8 and no text encoding gives readable text")
    return Decoded(str(best), best.encoding)


def _implausible(text: str) -> bool:
    """Decoding random bytes 'succeeds' in Latin-1; real text has almost no C1 controls."""
    odd = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Co", "Cn") and ch not in "\n\r\t\f")
    return odd > max(2, len(text) // 200)


# French text is written in these; letting the detector roam over every code page makes
# it pick e.g. cp1250 for short French texts and turn "à" into "ŕ".
_WESTERN_ENCODINGS = ("cp1252", "iso8859_15", "latin_1", "mac_roman", "cp850", "utf_16", "utf_32")


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return bool(head) and controls / len(head) > 0.05


# Spaces that French typography uses (no-break, narrow no-break, thin) become plain
# spaces; zero-width characters and soft hyphens disappear.
_SPACES = dict.fromkeys(map(ord, "\u00a0\u202f\u2007\u2009\u200a\u2002\u2003\u2004\u2005\u2006\u3000"), " ")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# One apostrophe (ASCII), one pair of English-style double quotes; French « » are kept.
_QUOTES = {
    ord("’"): "'",
    ord("‘"): "'",
    ord("ʼ"): "'",
    ord("‛"): "'",
    ord("“"): '"',
    ord("”"): '"',
    ord("„"): '"',
}
_TABLE = {**_SPACES, **_INVISIBLE, **_QUOTES}
# Unicode category Cc (C0 and C1 controls, DEL) but tab and newline: one regex pass, not a
# Python test per character (which cost as much as a third of spaCy's time).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def normalize_text(text: str) -> str:
    """NFC, unified spaces/apostrophes/quotes, ``« x »`` spacing, no control characters.

    The same function normalises references, so system output and references compare equal.
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_TABLE)
    text = _CONTROLS.sub("", text)
    text = re.sub(r"«\s*", "« ", text)
    text = re.sub(r"\s*»", " »", text)
    text = re.sub(r"[ \t]+", " ", text)
    return "\n".join(line.strip() for line in text.split("\n"))
