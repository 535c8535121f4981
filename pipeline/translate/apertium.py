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
  step does not see French marks), also after a digit ("4*h"), counted and
  recorded per sentence as ``"*word"`` etc.; a ``*``/``#``/``@`` that was
  already in the source text (hashtags, handles) is kept.
* **A second route for unknown words** (:mod:`pipeline.translate.lexicon`):
  after each step, the words it marked go through other Apertium pairs
  (French→Catalan→Spanish into the Spanish text, Spanish→Catalan→English into
  the English), all of a step's words in one call.
* **English clean-up** (:mod:`pipeline.translate.english`): capitals, tense,
  a/an, quotes, possessives, a few systematic word choices.  ``raw=True`` turns
  the route and the clean-up off: the bare pivot, the baseline to beat.
* **Few processes.**  One call of :meth:`ApertiumTranslator.translate` starts
  each step's pipeline once per worker (batches side by side, one per core) and
  each route once; all start together, so the later ones load their
  dictionaries while the first step runs.
* Called as subprocesses with argument lists (never a shell) and a timeout.

Measured with ``python bench/quality.py translation`` (newstest2012, the dev set):
raw ``apertium fr-es | apertium spa-eng`` 13.71 BLEU / 47.01 chrF; this
translator through ``pipeline translate --stdin`` 17.88 / 49.17.
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
PRESTART_ROUTES_CHARS = 20_000  # ~3,000 words: the first step then outlasts the routes' start-up
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
_CELA = re.compile(r"\b([Cc])ela\b")
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
        results = [Rendered("")] * len(texts)
        if not todo:
            return results
        french = [texts[i] for i in todo]
        unknown: list[list[str]] = [[] for _ in todo]
        batches = self._batches(french)  # the same cut for every step: one Spanish text per French one
        # Every process pipeline starts now and loads its dictionaries while the first step
        # runs (the lookups' and the second step's start-up is off the critical path).  The
        # routes only for a large input: a short text may have no unknown word to look up.
        chains = [[self._spawn((pair,)) for _ in batches] for pair in self.pairs]
        early = sum(len(t) for t in french) >= PRESTART_ROUTES_CHARS
        routes = {
            name: (router, self._spawn(router.modes) if early else None)
            for name, router in self.routes.items()
        }
        try:
            spanish = english = french
            for number, pair in enumerate(self.pairs):
                lookup = None
                if not self.raw and number == 0 and "french" in routes:
                    lookup = functools.partial(self._lookup, *routes.pop("french"), {})
                elif not self.raw and number == len(self.pairs) - 1:
                    router, chain = routes.pop("spanish", (None, None))
                    lookup = functools.partial(self._lookup, router, chain, PIVOT_GAPS)
                english = self._step(pair, english, batches, chains[number], unknown, lookup)
                if number == 0:
                    spanish = english
        finally:
            for chain in [c for step in chains for c in step] + [c for _, c in routes.values() if c]:
                chain.close()  # unused ones (after an error, or a route never needed)
        if not self.raw:
            english = [clean_english(en, es, fr) for en, es, fr in zip(english, spanish, french, strict=True)]
        for index, text, words in zip(todo, english, unknown, strict=True):
            results[index] = Rendered(text, unknown=tuple(dict.fromkeys(words)))
        return results

    @staticmethod
    def _lookup(
        router: Router | None, chain: Chain | None, known: dict[str, str], words: list[str]
    ) -> dict[str, str]:
        """Translations of unknown ``words``: ``known`` ones first, the others through ``router``."""
        found = {word: known[word] for word in words if word in known}
        if router is not None:
            found.update(router.lookup([w for w in words if w not in found], chain))
        elif chain is not None:
            chain.close()
        return found

    def _step(
        self,
        pair: str,
        sources: list[str],
        batches: list[range],
        chains: list[Chain],
        unknown: list[list[str]],
        lookup: Callable[[list[str]], dict[str, str]] | None,
    ) -> list[str]:
        """One pivot step over all sentences; the words it marks unknown go through ``lookup``.

        The batches run side by side: one Apertium pipeline keeps about one core
        busy (its slowest program sets the pace).  Every unknown word of the step
        is then looked up at once.
        """

        def run(batch: range, chain: Chain) -> list[str]:
            return self._run_modes((pair,), sources[batch.start : batch.stop], chain)

        with ThreadPoolExecutor(max_workers=len(batches)) as pool:
            outputs = [out for batch in pool.map(run, batches, chains) for out in batch]
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

    def _batches(self, texts: list[str]) -> list[range]:
        """Consecutive index ranges of ``texts`` of about equal size, one per worker at most.

        A batch is worth a process start-up (~0.3 s of CPU per mode) only above
        ``MIN_BATCH_CHARS``; none exceeds ``max_batch_chars``.
        """
        sizes = [len(t) + 1 for t in texts]
        total = sum(sizes)
        count = max(1, min(self.workers, total // MIN_BATCH_CHARS), -(-total // self.max_batch_chars))
        count = min(count, len(texts))
        batches: list[range] = []
        start, running = 0, 0
        for index, size in enumerate(sizes):
            running += size
            if len(batches) < count - 1 and running >= total * (len(batches) + 1) / count:
                batches.append(range(start, index + 1))
                start = index + 1
        batches.append(range(start, len(texts)))
        return [b for b in batches if len(b)]

    def _run_modes(
        self, modes: tuple[str, ...], segments: list[str], chain: Chain | None = None
    ) -> list[str]:
        """``segments`` through a chain of Apertium modes (one process pipeline): one output each.

        ``chain``, if given, is those modes already started (:meth:`_spawn`).
        """
        if not segments:
            if chain is not None:
                chain.close()
            return []
        data = "".join(to_stream(segment) + "\0" for segment in segments).encode("utf-8")
        if chain is None:
            chain = self._spawn(modes)
        raw = chain.finish(data).decode("utf-8", "replace")
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

    def _argvs(self, modes: tuple[str, ...]) -> list[list[str]]:
        return [[self.executable, "-z", "-f", "none", mode] for mode in modes]

    def _spawn(self, modes: tuple[str, ...]) -> Chain:
        """Start ``modes`` now, to be fed later: loading a pair costs ~0.3–1 s, done while other work runs."""
        return Chain(self._argvs(modes), self.timeout_s)

    def _run(self, argvs: list[list[str]], data: bytes) -> bytes:
        """Run a pipeline of commands (``a | b | …``, no shell) on ``data``; the last one's output."""
        return Chain(argvs, self.timeout_s).finish(data)


class Chain:
    """A started pipeline of processes ``a | b | …`` (no shell) waiting for its input.

    :meth:`finish` feeds it, waits and returns the last process's output;
    :meth:`close` ends it unused.  stderr goes to files: a pipe nobody reads
    would block a chatty program.
    """

    def __init__(self, argvs: list[list[str]], timeout_s: float):
        self.command = " | ".join(" ".join(argv) for argv in argvs)
        self.timeout_s = timeout_s
        self._stack = contextlib.ExitStack()
        self._errors = [self._stack.enter_context(tempfile.TemporaryFile()) for _ in argvs]  # noqa: SIM115 (closed by finish or close)
        self._processes: list[subprocess.Popen[bytes]] = []
        try:
            for argv, error in zip(argvs, self._errors, strict=True):
                stdin = self._processes[-1].stdout if self._processes else subprocess.PIPE
                self._processes.append(
                    subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=error)
                )
                if len(self._processes) > 1 and self._processes[-2].stdout is not None:
                    self._processes[-2].stdout.close()  # the next process owns the pipe now
        except OSError as exc:
            self.close()
            raise ApertiumMissingError(missing_message(f"cannot run {argvs[0][0]}: {exc}")) from exc

    def finish(self, data: bytes) -> bytes:
        processes = self._processes
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
            self.close()
            raise TranslationError(f"{self.command} timed out after {self.timeout_s:g} s") from exc
        try:
            for process, error in zip(processes, self._errors, strict=True):
                if process.returncode != 0:
                    error.seek(0)
                    detail = error.read().decode("utf-8", "replace").strip()[-500:]
                    raise TranslationError(
                        f"{self.command} exited with status {process.returncode}: {detail}"
                    )
        finally:
            self._stack.close()
        return out

    def close(self) -> None:
        """End the pipeline without using it."""
        for process in self._processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
        self._stack.close()


def _feed(process: subprocess.Popen[bytes], data: bytes) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(data)
    except BrokenPipeError:  # the process died; its status says why
        pass
    finally:
        process.stdin.close()


def prepare_french(text: str) -> str:
    """What the French analyser reads best: one line, ligatures spelled out, "cela" as "ça".

    fr→es analyses "cela" as a form of the verb "celer" ("to conceal": "sans que
    cela serve" came out "without that concealed serve"); "ça" is the same pronoun.

    >>> prepare_french("Le  cœur\\n du projet ? Cela dépend.")
    'Le coeur du projet ? Ça dépend.'
    """
    return _CELA.sub(
        lambda m: "Ça" if m.group(1) == "C" else "ça", normalise_space(text).translate(_LIGATURES)
    )


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
