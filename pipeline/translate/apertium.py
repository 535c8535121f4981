"""Offline French→English with Apertium, pivoting through Spanish (fr→es, then es→en).

Debian ships no direct French–English Apertium pair, but ``apertium-fr-es`` and
``apertium-eng-spa`` are packaged and fast.  Each call starts a pipeline of about
ten processes, which costs far more than translating a sentence, so sentences
are sent many per call:

* **Separator scheme: null flush.**  Each sentence (inner whitespace collapsed)
  is written in Apertium's stream format by :func:`to_stream`, exactly as the
  plain-text deformatter would write one paragraph (special characters escaped,
  the sentence-end marker ``.[][\n]`` appended), and terminated by a NUL byte;
  Apertium runs with ``-z -f none``, so every program of its pipeline processes
  and flushes each NUL-terminated block on its own and the output splits on NUL
  into exactly one block per sentence.  Empirically chosen over the alternatives:
  blank-line separated plain text (``-f txt``) leaks state between sentences
  (transfer variables: "Rendez-vous" became singular or plural depending on the
  previous sentence), ``-f line`` drops each line's final full stop, and ``-z``
  with the text deformatter glues the words on both sides of the NUL.  As a
  guard, a batch whose output does not split into as many well-formed blocks as
  went in is bisected and re-sent, down to single sentences.
* **Unknown-word marks.**  Apertium prefixes ``*`` to a word it could not
  analyse, ``@`` to one missing from the bilingual dictionary and ``#`` to one it
  could not generate.  The marks are stripped after each step (so the Spanish
  step does not see French marks), counted and recorded per sentence as
  ``"*word"`` etc.; a ``*``/``#``/``@`` that was already in the source text
  (hashtags, handles) is kept.
* Called as subprocesses with argument lists (never a shell) and a timeout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pipeline.fingerprints import APERTIUM_PACKAGES, debian_versions
from pipeline.nlp import ModelMissingError
from pipeline.translate.base import Rendered, TranslationError
from pipeline.translate.segment import normalise_space

DEBIAN_PACKAGES = APERTIUM_PACKAGES
PIVOT = ("fr-es", "spa-eng")
MAX_BATCH_CHARS = 100_000  # per call: ~15k words, about a second of Apertium time
MIN_BATCH_CHARS = 6_000  # a call costs ~0.3 s to start: smaller batches are not worth a worker

_MARK_RUN = re.compile(r"(?<![\w*#@])([*#@]+)(?=\w)")
_LITERAL_MARK = re.compile(r"(?<![\w*#@])([*#@])(\w[\w'’.-]*)")
_WORD = re.compile(r"\w[\w'’.-]*")
_STREAM_SPECIAL = re.compile(r"([\[\]\\^$/<>@{}])")
_BLOCK_END = ".[][\n]"  # what apertium-destxt writes at the end of a paragraph
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\S)\s+(?=[,.;:!?](?:\s|$))")
# Apertium's French dictionaries spell the ligatures out ("coeur", not "cœur").
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})


class ApertiumMissingError(ModelMissingError):
    """Apertium or one of the language pairs of the pivot is not installed."""


def missing_message(detail: str) -> str:
    return (
        f"the offline translation backend needs Apertium with the French–Spanish and "
        f"Spanish–English pairs ({detail}); on Debian/Ubuntu install them with "
        f"`sudo apt-get install {' '.join(DEBIAN_PACKAGES)}`"
    )


class ApertiumTranslator:
    """French→Spanish→English with Apertium, many sentences per subprocess call.

    >>> engine = ApertiumTranslator()  # doctest: +SKIP
    >>> engine.translate(["Le chat dort."])[0].text  # doctest: +SKIP
    'The cat sleeps.'
    """

    backend = "apertium"

    def __init__(
        self,
        *,
        timeout_s: float = 120.0,
        max_batch_chars: int = MAX_BATCH_CHARS,
        executable: str = "apertium",
        pairs: tuple[str, ...] = PIVOT,
        workers: int = 0,
    ):
        self.timeout_s = timeout_s
        self.max_batch_chars = max_batch_chars
        self.workers = workers if workers > 0 else _cores()
        self.pairs = pairs
        found = shutil.which(executable)
        if found is None:
            raise ApertiumMissingError(missing_message(f"no {executable!r} program on PATH"))
        self.executable = found
        listed = self._run([self.executable, "-l"], b"").decode("utf-8", "replace").split()
        absent = [pair for pair in pairs if pair not in listed]
        if absent:
            raise ApertiumMissingError(missing_message(f"direction(s) {', '.join(absent)} not installed"))
        self.model = "apertium " + " + ".join(pairs)
        self.revision = debian_versions(DEBIAN_PACKAGES)

    def params(self) -> dict[str, Any]:
        return {"pivot": list(self.pairs), "separator": "null-flush"}

    def translate(self, sentences: Sequence[str]) -> list[Rendered]:
        texts = [normalise_space(s).translate(_LIGATURES) for s in sentences]
        todo = [i for i, t in enumerate(texts) if t]
        batches = self._batches([texts[i] for i in todo])
        # One Apertium pipeline keeps about one core busy (its slowest program sets
        # the pace), so independent batches run side by side, one per core.
        with ThreadPoolExecutor(max_workers=min(self.workers, len(batches) or 1)) as pool:
            done = [item for batch in pool.map(self._pivot, batches) for item in batch]
        results = [Rendered("")] * len(texts)
        for index, rendered in zip(todo, done, strict=True):
            results[index] = rendered
        return results

    def _pivot(self, texts: list[str]) -> list[Rendered]:
        """French → Spanish → English for one batch, marks stripped after each step."""
        current = list(texts)
        unknown: list[list[str]] = [[] for _ in texts]
        for pair in self.pairs:
            for index, out in enumerate(self._translate_batch(pair, current)):
                clean, marked = strip_marks(out, current[index])
                current[index] = _SPACE_BEFORE_PUNCT.sub("", clean)  # transfer leaves "word ," behind
                unknown[index].extend(marked)
        return [
            Rendered(text, unknown=tuple(dict.fromkeys(words)))
            for text, words in zip(current, unknown, strict=True)
        ]

    # --- batching and the separator scheme ------------------------------

    def _batches(self, texts: list[str]) -> list[list[str]]:
        """Consecutive runs of ``texts``, one per worker at least, each worth a process start-up."""
        total = sum(len(t) for t in texts)
        target = min(self.max_batch_chars, max(MIN_BATCH_CHARS, -(-total // self.workers)))
        batches: list[list[str]] = []
        size = 0
        for text in texts:
            if not batches or size + len(text) > target:
                batches.append([])
                size = 0
            batches[-1].append(text)
            size += len(text) + 2
        return batches

    def _translate_batch(self, pair: str, segments: list[str]) -> list[str]:
        data = "".join(to_stream(segment) + "\0" for segment in segments).encode("utf-8")
        raw = self._run([self.executable, "-z", "-f", "none", pair], data).decode("utf-8", "replace")
        blocks = raw.split("\0")
        extra = blocks[len(segments) :]
        if len(blocks) >= len(segments) and not any(b.strip() for b in extra):
            parts = [from_stream(b) for b in blocks[: len(segments)]]
            if all(p is not None for p in parts):
                return [normalise_space(p) for p in parts if p is not None]
        if len(segments) == 1:
            raise TranslationError(
                f"apertium {pair} returned an unreadable block for {segments[0]!r}: {raw!r}"
            )
        middle = len(segments) // 2
        return self._translate_batch(pair, segments[:middle]) + self._translate_batch(pair, segments[middle:])

    def _run(self, argv: list[str], data: bytes) -> bytes:
        try:
            done = subprocess.run(argv, input=data, capture_output=True, timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TranslationError(f"{' '.join(argv)} timed out after {self.timeout_s:g} s") from exc
        except OSError as exc:
            raise ApertiumMissingError(missing_message(f"cannot run {argv[0]}: {exc}")) from exc
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip()[-500:]
            raise TranslationError(f"{' '.join(argv)} exited with status {done.returncode}: {detail}")
        return done.stdout


def to_stream(text: str) -> str:
    r"""One sentence in Apertium's stream format, as ``apertium-destxt`` writes a paragraph.

    >>> to_stream("a/b [c] ~d")
    'a\\/b \\[c\\] [~]d.[][\n]'
    """
    escaped = _STREAM_SPECIAL.sub(r"\\\1", text).replace("~", "[~]")  # "~" marks post-generation
    return escaped + _BLOCK_END


def from_stream(block: str) -> str | None:
    r"""Plain text of one output block (None if it does not end like an input block).

    The deformatter's convention is undone: the marker's full stop is dropped,
    escapes are resolved and superblanks become their content.

    >>> from_stream("a\\/b \\[c\\] [~]d.[][\n]")
    'a/b [c] ~d'
    """
    if not block.endswith("[][\n]"):
        return None
    body = block[: -len("[][\n]")]
    if body.endswith("."):
        body = body[:-1]
    out: list[str] = []
    position = 0
    while position < len(body):
        char = body[position]
        if char == "\\" and position + 1 < len(body):
            out.append(body[position + 1])
            position += 2
        elif char in "[]":  # superblank delimiters: keep what they wrap
            position += 1
        else:
            out.append(char)
            position += 1
    return "".join(out)


def strip_marks(output: str, source: str) -> tuple[str, list[str]]:
    """Remove Apertium's unknown-word marks from ``output``; return the text and the marked words.

    A mark character that starts a word in ``source`` (a hashtag, a handle) is
    literal text: it is kept where the output has the same word after it, and
    otherwise at most as many times as it occurs in the source.

    >>> strip_marks("The *cœur of #set and #Apertium", "Le cœur de #Apertium")
    ('The cœur of set and #Apertium', ['*cœur', '#set'])
    >>> strip_marks("Follow #*Xyz now", "Suivez #Xyz maintenant")
    ('Follow #Xyz now', ['*Xyz'])
    """
    literals = Counter((m.group(1), m.group(2).rstrip(".-").lower()) for m in _LITERAL_MARK.finditer(source))
    runs = [(m, _WORD.match(output, m.end())) for m in _MARK_RUN.finditer(output)]
    words = [w.group(0).rstrip(".-") if w else "" for _, w in runs]
    literal_runs = set()
    for index, ((match, _), word) in enumerate(zip(runs, words, strict=True)):
        key = (match.group(1), word.lower())
        if len(match.group(1)) == 1 and literals[key] > 0:  # the source's own "#word", unchanged
            literals[key] -= 1
            literal_runs.add(index)
    budget: Counter[str] = Counter()
    for (char, _), count in literals.items():
        budget[char] += count

    marked: list[str] = []
    pieces: list[str] = []
    position = 0
    for index, ((match, _), word) in enumerate(zip(runs, words, strict=True)):
        pieces.append(output[position : match.start()])
        position = match.end()
        if index in literal_runs:
            pieces.append(match.group(1))
            continue
        run, keep, engine_mark = match.group(1), [], ""
        for offset, char in enumerate(run):
            if offset == len(run) - 1 and (len(run) > 1 or budget[char] == 0):
                engine_mark = char  # Apertium puts its mark right before the word
            elif budget[char] > 0:
                budget[char] -= 1
                keep.append(char)
            else:
                engine_mark = engine_mark or char
        pieces.append("".join(keep))
        if engine_mark:
            marked.append(engine_mark + word)
    pieces.append(output[position:])
    return "".join(pieces), marked


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
