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

import contextlib
import functools
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pipeline.fingerprints import APERTIUM_PACKAGES, debian_versions
from pipeline.nlp import ModelMissingError
from pipeline.translate.base import Rendered, TranslationError
from pipeline.translate.english import clean_english
from pipeline.translate.lexicon import DEBIAN_PACKAGES as LEXICON_PACKAGES
from pipeline.translate.lexicon import PIVOT_GAPS, ROUTES, Router
from pipeline.translate.segment import normalise_space

DEBIAN_PACKAGES = APERTIUM_PACKAGES
PIVOT = ("fr-es", "spa-eng")
MAX_BATCH_CHARS = 1_000_000  # per call: ~150k words; every call costs ~0.3 s of CPU per mode to start
MIN_BATCH_CHARS = 6_000  # a call costs ~0.3 s to start: smaller batches are not worth a worker

# A mark starts a word: it follows no letter and no other mark, but may follow a digit
# ("4*h": Apertium marks the "h" of "4h").
_NOT_AFTER = r"(?<![^\W\d_])(?<![*#@])"
_MARK_RUN = re.compile(_NOT_AFTER + r"([*#@]+)(?=\w)")
_LITERAL_MARK = re.compile(_NOT_AFTER + r"([*#@])(\w[\w'’.-]*)")
_ENGINE_MARK = re.compile(_NOT_AFTER + r"([*@])([^\W\d_][\w'-]*)")
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

    By default the pivot's gaps are filled and its English cleaned up (see the
    module docstring); ``raw=True`` gives the bare pivot (marks stripped only),
    the baseline the project is measured against.

    >>> engine = ApertiumTranslator()  # doctest: +SKIP
    >>> engine.translate(["Le chat dort."])[0].text  # doctest: +SKIP
    'The cat sleeps.'
    """

    backend = "apertium"
    # Per call: a dozen process starts (~3 s of CPU with the routes), so calls are large;
    # 8,192 sentences are about 30 s of work, what a kill may lose (translate_cached commits per call).
    sentences_per_call = 8192

    def __init__(
        self,
        *,
        timeout_s: float = 120.0,
        max_batch_chars: int = MAX_BATCH_CHARS,
        executable: str = "apertium",
        pairs: tuple[str, ...] = PIVOT,
        workers: int = 0,
        raw: bool = False,
    ):
        self.timeout_s = timeout_s
        self.max_batch_chars = max_batch_chars
        self.workers = workers if workers > 0 else _cores()
        self.pairs = pairs
        self.raw = raw
        found = shutil.which(executable)
        if found is None:
            raise ApertiumMissingError(missing_message(f"no {executable!r} program on PATH"))
        self.executable = found
        listed = set(self._run([[self.executable, "-l"]], b"").decode("utf-8", "replace").split())
        absent = [pair for pair in pairs if pair not in listed]
        if absent:
            raise ApertiumMissingError(missing_message(f"direction(s) {', '.join(absent)} not installed"))
        # The second route for unknown words runs where its pairs are installed (Debian
        # apertium-fra-cat, -spa-cat, -eng-cat); without them the pivot runs alone.
        self.routes: dict[str, Router] = {}
        if not raw and pairs == PIVOT:
            for name, modes in ROUTES.items():
                if all(mode in listed for mode in modes):
                    self.routes[name] = Router(modes, self._run_modes)
        self.model = "apertium " + " + ".join(pairs)
        self.revision = debian_versions(DEBIAN_PACKAGES + (LEXICON_PACKAGES if self.routes else ()))

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"pivot": list(self.pairs), "separator": "null-flush"}
        if self.raw:
            params["raw"] = True
        else:
            params["routes"] = {name: list(router.modes) for name, router in sorted(self.routes.items())}
        return params

    def translate(self, sentences: Sequence[str]) -> list[Rendered]:
        texts = [prepare_french(s) for s in sentences]
        todo = [i for i, t in enumerate(texts) if t]
        unknown: list[list[str]] = [[] for _ in todo]
        french = [texts[i] for i in todo]
        if len(self.pairs) == 2 and not self.raw:
            spanish = self._step(self.pairs[0], french, unknown, self._french_lookup)
            english = self._step(self.pairs[1], spanish, unknown, self._spanish_lookup)
        else:  # the bare pivot
            spanish = english = french
            for number, pair in enumerate(self.pairs):
                english = self._step(pair, english, unknown, None)
                spanish = english if number == 0 else spanish
        if not self.raw:
            english = [clean_english(en, es, fr) for en, es, fr in zip(english, spanish, french, strict=True)]
        results = [Rendered("")] * len(texts)
        for index, text, words in zip(todo, english, unknown, strict=True):
            results[index] = Rendered(text, unknown=tuple(dict.fromkeys(words)))
        return results

    def _french_lookup(self, words: list[str]) -> dict[str, str]:
        """Spanish for French words unknown to fr→es (through Catalan)."""
        return self.routes["french"].lookup(words) if "french" in self.routes else {}

    def _spanish_lookup(self, words: list[str]) -> dict[str, str]:
        """English for Spanish words unknown to es→en: the known gaps, else through Catalan."""
        found = {word: PIVOT_GAPS[word] for word in words if word in PIVOT_GAPS}
        if "spanish" in self.routes:
            found.update(self.routes["spanish"].lookup([w for w in words if w not in found]))
        return found

    def _step(
        self,
        pair: str,
        sources: list[str],
        unknown: list[list[str]],
        lookup: Callable[[list[str]], dict[str, str]] | None,
    ) -> list[str]:
        """One pivot step over all sentences; the words it marks unknown go through ``lookup``.

        The sentences go in batches side by side: one Apertium pipeline keeps about
        one core busy (its slowest program sets the pace).  Every unknown word of
        the step is then looked up at once, one process start per mode.
        """
        batches = self._batches(sources)
        run = functools.partial(self._run_modes, (pair,))
        with ThreadPoolExecutor(max_workers=min(self.workers, len(batches) or 1)) as pool:
            outputs = [out for batch in pool.map(run, batches) for out in batch]
        if lookup is not None:
            marked = [w for out, src in zip(outputs, sources, strict=True) for w in engine_marked(out, src)]
            found = lookup(marked)
            if found:
                outputs = [replace_marked(out, src, found) for out, src in zip(outputs, sources, strict=True)]
        results = []
        for index, (out, src) in enumerate(zip(outputs, sources, strict=True)):
            clean, marked = strip_marks(out, src)
            results.append(_SPACE_BEFORE_PUNCT.sub("", clean))  # transfer leaves "word ," behind
            unknown[index].extend(marked)
        return results

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

    def _run_modes(self, modes: tuple[str, ...], segments: list[str]) -> list[str]:
        """``segments`` through a chain of Apertium modes (one process pipeline): one output each."""
        if not segments:
            return []
        data = "".join(to_stream(segment) + "\0" for segment in segments).encode("utf-8")
        argvs = [[self.executable, "-z", "-f", "none", mode] for mode in modes]
        raw = self._run(argvs, data).decode("utf-8", "replace")
        blocks = raw.split("\0")
        extra = blocks[len(segments) :]
        if len(blocks) >= len(segments) and not any(b.strip() for b in extra):
            parts = [from_stream(b) for b in blocks[: len(segments)]]
            if all(p is not None for p in parts):
                return [normalise_space(p) for p in parts if p is not None]
        if len(segments) == 1:
            raise TranslationError(
                f"apertium {'|'.join(modes)} returned an unreadable block for {segments[0]!r}: {raw!r}"
            )
        middle = len(segments) // 2
        return self._run_modes(modes, segments[:middle]) + self._run_modes(modes, segments[middle:])

    def _run(self, argvs: list[list[str]], data: bytes) -> bytes:
        """Run a pipeline of commands (``a | b | …``, no shell) on ``data``; the last one's output."""
        command = " | ".join(" ".join(argv) for argv in argvs)
        with contextlib.ExitStack() as stack:
            # stderr goes to files: a pipe nobody reads would block a chatty program.
            errors = [stack.enter_context(tempfile.TemporaryFile()) for _ in argvs]
            processes: list[subprocess.Popen[bytes]] = []
            try:
                for argv, error in zip(argvs, errors, strict=True):
                    stdin = processes[-1].stdout if processes else subprocess.PIPE
                    processes.append(
                        subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=error)
                    )
                    if len(processes) > 1 and processes[-2].stdout is not None:
                        processes[-2].stdout.close()  # the next process owns the pipe now
            except OSError as exc:
                for process in processes:
                    process.kill()
                raise ApertiumMissingError(missing_message(f"cannot run {argvs[0][0]}: {exc}")) from exc
            try:
                if len(processes) == 1:
                    out, _ = processes[0].communicate(data, timeout=self.timeout_s)
                else:
                    # Fed from a thread: Apertium streams, so writing everything before
                    # reading could fill the pipes and deadlock.
                    feeder = threading.Thread(target=_feed, args=(processes[0], data), daemon=True)
                    feeder.start()
                    out, _ = processes[-1].communicate(timeout=self.timeout_s)
                    for process in processes[:-1]:
                        process.wait(timeout=self.timeout_s)
                    feeder.join(timeout=self.timeout_s)
            except subprocess.TimeoutExpired as exc:
                for process in processes:
                    process.kill()
                raise TranslationError(f"{command} timed out after {self.timeout_s:g} s") from exc
            for process, error in zip(processes, errors, strict=True):
                if process.returncode != 0:
                    error.seek(0)
                    detail = error.read().decode("utf-8", "replace").strip()[-500:]
                    raise TranslationError(f"{command} exited with status {process.returncode}: {detail}")
        return out


def _feed(process: subprocess.Popen[bytes], data: bytes) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(data)
    except BrokenPipeError:  # the process died; its status says why
        pass
    finally:
        process.stdin.close()


def prepare_french(text: str) -> str:
    """What the French analyser reads best: one line, ligatures spelled out.

    >>> prepare_french("Le  cœur\\n du projet")
    'Le coeur du projet'
    """
    return normalise_space(text).translate(_LIGATURES)


def engine_marked(output: str, source: str) -> list[str]:
    """Words Apertium marked unknown (``*``) or missing from its bilingual dictionary (``@``).

    >>> engine_marked("un *désavantageux @priori de #Maroc", "… #Maroc")
    ['désavantageux', 'priori']
    """
    return [m.group(2) for m in _ENGINE_MARK.finditer(output) if m.group(0) not in source]


def replace_marked(output: str, source: str, translations: dict[str, str]) -> str:
    """Put each marked word's translation in its place (the mark goes with it).

    >>> replace_marked("un acuerdo *désavantageux con *Rusia", "", {"désavantageux": "desventajoso"})
    'un acuerdo desventajoso con *Rusia'
    """

    def replace(match: re.Match[str]) -> str:
        word = match.group(2)
        if word in translations and match.group(0) not in source:
            return translations[word]
        return match.group(0)

    return _ENGINE_MARK.sub(replace, output)


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
