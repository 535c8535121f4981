"""Language identification with lingua, paragraph by paragraph.

Why per paragraph: a French article quoting an English sentence is still French,
and a page with a French menu around an English article is not.  The share of
detected-French characters decides.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

# The languages a French news feed realistically mixes in; loading all 75 models
# costs ~1 GB and ~10 s for no gain in deciding "French or not".
_CANDIDATES = (
    Language.FRENCH, Language.ENGLISH, Language.SPANISH, Language.GERMAN, Language.ITALIAN,
    Language.PORTUGUESE, Language.DUTCH, Language.CATALAN, Language.ARABIC, Language.TURKISH,
    Language.RUSSIAN, Language.POLISH, Language.ROMANIAN, Language.CHINESE, Language.JAPANESE,
)  # fmt: skip

_MIN_CHARS = 20  # shorter paragraphs (headings, bylines) carry too little signal
# A paragraph's language is judged on its first characters (it still weighs by its whole
# length): a few thousand characters decide, and a one-line 4 MB file stays cheap.
_SAMPLE_CHARS = 5_000


@functools.cache
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_CANDIDATES).build()


def language_shares(paragraphs: Sequence[str]) -> dict[str, float]:
    """Share of characters per ISO 639-1 code, over paragraphs long enough to judge."""
    counts: Counter[str] = Counter()
    judged = [p for p in paragraphs if len(p) >= _MIN_CHARS] or list(paragraphs)
    samples = [p[:_SAMPLE_CHARS] for p in judged]
    for paragraph, language in zip(judged, _detector().detect_languages_in_parallel_of(samples), strict=True):
        code = language.iso_code_639_1.name.lower() if language else "und"
        counts[code] += len(paragraph)
    total = sum(counts.values()) or 1
    return {code: n / total for code, n in counts.most_common()}
