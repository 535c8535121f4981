"""Offline French→English with Apertium, pivoting through Spanish (fr→es, then es→en).

Debian ships no direct French–English Apertium pair, but ``apertium-fr-es`` and
``apertium-eng-spa`` are packaged and fast.  Each call starts a pipeline of about
ten processes, which costs far more than translating a sentence, so sentences
are sent many per call:

* **Separator scheme.**  Sentences go in as one line each (inner whitespace,
  newlines included, collapsed to one space) separated by a blank line, in
  Apertium's plain-text format.  Apertium's text deformatter turns a blank line
  into a sentence boundary that transfer rules never cross and that comes back
  verbatim, so the output splits on blank lines into exactly one translation per
  input.  ``-f line`` was rejected: it drops each line's final full stop.  Null
  flush (``-z``) was rejected: this Apertium's deformatter glues the words around
  the NUL.  As a guard, a batch whose output does not split into as many pieces
  as went in is bisected and re-sent, down to single sentences.
* **Unknown-word marks.**  Apertium prefixes ``*`` to a word it could not
  analyse, ``@`` to one missing from the bilingual dictionary and ``#`` to one it
  could not generate.  The marks are stripped after each step (so the Spanish
  step does not see French marks), counted and recorded per sentence as
  ``"*word"`` etc.; a ``*``/``#``/``@`` that was already in the source text
  (hashtags, handles) is kept.
* Called as subprocesses with argument lists (never a shell) and a timeout.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Sequence
from typing import Any

from pipeline.nlp import ModelMissingError
from pipeline.translate.base import Rendered, TranslationError
from pipeline.translate.segment import normalise_space

DEBIAN_PACKAGES = ("apertium", "apertium-fr-es", "apertium-eng-spa")
PIVOT = ("fr-es", "spa-eng")
MAX_BATCH_CHARS = 100_000  # per call: ~15k words, about a second of Apertium time

_MARK_RUN = re.compile(r"(?<![\w*#@])([*#@]+)(?=\w)")
_LITERAL_MARK = re.compile(r"(?<![\w*#@])([*#@])(\w[\w'’.-]*)")
_WORD = re.compile(r"\w[\w'’.-]*")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
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
    ):
        self.timeout_s = timeout_s
        self.max_batch_chars = max_batch_chars
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
        self.revision = _package_versions()

    def params(self) -> dict[str, Any]:
        return {"pivot": list(self.pairs), "format": "txt"}

    def translate(self, sentences: Sequence[str]) -> list[Rendered]:
        texts = [normalise_space(s).translate(_LIGATURES) for s in sentences]
        unknown: list[list[str]] = [[] for _ in texts]
        todo = [i for i, t in enumerate(texts) if t]
        current = {i: texts[i] for i in todo}
        for pair in self.pairs:
            outputs: list[str] = []
            for batch in self._batches([current[i] for i in todo]):
                outputs.extend(self._translate_batch(pair, batch))
            for i, out in zip(todo, outputs, strict=True):
                clean, marked = strip_marks(out, current[i])
                current[i] = _SPACE_BEFORE_PUNCT.sub("", clean)  # transfer leaves "word ," behind
                unknown[i].extend(marked)
        return [
            Rendered(current.get(i, ""), unknown=tuple(dict.fromkeys(unknown[i]))) for i in range(len(texts))
        ]

    # --- batching and the separator scheme ------------------------------

    def _batches(self, texts: list[str]) -> list[list[str]]:
        batches: list[list[str]] = []
        size = 0
        for text in texts:
            if not batches or size + len(text) > self.max_batch_chars:
                batches.append([])
                size = 0
            batches[-1].append(text)
            size += len(text) + 2
        return batches

    def _translate_batch(self, pair: str, segments: list[str]) -> list[str]:
        raw = self._run([self.executable, "-f", "txt", pair], ("\n\n".join(segments) + "\n").encode("utf-8"))
        text = raw.decode("utf-8", "replace").strip("\n")
        parts = _BLANK_LINE.split(text) if text else []
        if len(parts) == len(segments):
            return [normalise_space(p) for p in parts]
        if len(segments) == 1:  # one sentence: all of the output is its translation
            return [normalise_space(text)]
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


def _package_versions() -> str | None:
    """Installed versions of the Debian packages, e.g. "apertium-fr-es=0.9.4-1,…" (None off Debian)."""
    dpkg = shutil.which("dpkg-query")
    if dpkg is None:
        return None
    try:
        done = subprocess.run(
            [dpkg, "-W", "-f", "${Package}=${Version},", *DEBIAN_PACKAGES],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode("utf-8", "replace").strip(",") or None
