"""Offline French→English with Apertium, pivoting through Spanish (fr→es, then es→en).

Debian ships no direct French–English Apertium pair, but ``apertium-fr-es`` and
``apertium-eng-spa`` are packaged and fast.  Each mode is a pipeline of about
ten processes whose start costs far more than translating a sentence, so every
mode is started once per call and all the sentences stream through it:

* **Separator scheme: null flush.**  Each sentence (inner whitespace collapsed)
  is written in Apertium's stream format by :func:`to_stream`, exactly as the
  plain-text deformatter would write one paragraph (special characters escaped,
  the sentence-end marker ``.[][\n]`` appended), and terminated by a NUL byte;
  the mode runs with null flush (``apertium -z -f none``), so every program of
  its pipeline processes and flushes each NUL-terminated block on its own and
  the output splits on NUL into exactly one block per sentence.  Empirically
  chosen over the alternatives: blank-line separated plain text (``-f txt``)
  leaks state between sentences (transfer variables: "Rendez-vous" became
  singular or plural depending on the previous sentence), ``-f line`` drops each
  line's final full stop, and ``-z`` with the text deformatter glues the words
  on both sides of the NUL.  A block that comes back malformed, or a count of
  blocks that differs from what went in, is an error (never a shifted output).
* **Streaming, as ``apertium fr-es | apertium spa-eng`` does.**  Each Spanish
  sentence goes on to es→en as soon as fr→es has answered it and its unknown
  words have been looked up, so both steps (and the lookups) run side by side
  on the cores (:mod:`pipeline.translate.streams`: the modes' programs are
  started directly, without the ``apertium`` script's extra processes).  In a
  call of :data:`EAGER_ROUTES` sentences or more, the French route (whose first
  answer es→en waits for) loads its dictionaries beside the pivot's rather than
  after fr→es's first marked word.  A large input on a machine with more cores
  is cut into ``workers`` shards, each with its own streams.
* **Unknown-word marks.**  Apertium prefixes ``*`` to a word it could not
  analyse, ``@`` to one missing from the bilingual dictionary and ``#`` to one it
  could not generate.  The marks are stripped after each step (so the Spanish
  step does not see French marks), also after a digit ("4*h"), counted and
  recorded per sentence as ``"*word"`` etc.; a ``*``/``#``/``@`` that was
  already in the source text (hashtags, handles) is kept.
* **A second route for unknown words** (:mod:`pipeline.translate.lexicon`):
  the words a step marks go through other Apertium pairs (French→Catalan→Spanish
  into the Spanish text, Spanish→Catalan→English into the English), each word
  once, streamed alongside the step; a route's processes start at its first word.
  Where ``make setup`` compiled a route into a table (:mod:`pipeline.translate.routetable`),
  the table answers instead and the route's processes never start.
* **English clean-up** (:mod:`pipeline.translate.english`): capitals, tense,
  a/an, quotes, possessives, a few systematic word choices.  ``raw=True`` turns
  the route and the clean-up off: the bare pivot, the baseline to beat.
* Called as subprocesses with argument lists (never a shell), all ended after
  ``timeout_s``.

Measured with ``python bench/quality.py translation`` (newstest2012, the dev set):
raw ``apertium fr-es | apertium spa-eng`` 13.71 BLEU / 47.01 chrF; this
translator through ``pipeline translate --stdin`` 18.38 / 49.32, in 1.14× raw's
wall time (2 cores, route tables built; newstest2013: 1.19×, median of 5 rounds).
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pipeline.fingerprints import APERTIUM_PACKAGES, debian_versions
from pipeline.nlp import ModelMissingError
from pipeline.translate.base import Rendered, TranslationError
from pipeline.translate.english import clean_english
from pipeline.translate.lexicon import LEAVE_OUT, PIVOT_GAPS, ROUTES, Router
from pipeline.translate.routetable import RouteTable
from pipeline.translate.segment import normalise_space
from pipeline.translate.streams import ModeLauncher, Stream

DEBIAN_PACKAGES = APERTIUM_PACKAGES
PIVOT = ("fr-es", "spa-eng")
# A shard keeps about two cores busy (its two steps side by side) and costs ~1.5 s of CPU to
# start (pivot and routes): one more per 200,000 characters (~1,500 sentences, ~4 s of CPU).
SHARD_CHARS = 200_000
# The next pivot step waits for a route's first answer, so in a call of this many sentences a
# route before the last step starts with the pivot (its ~1 s of dictionary loading then runs
# beside the pivot's own) rather than at its first word: 40 % of newstest2012's sentences send
# a word to the French route, so 16 sentences send none with probability 0.6**16 < 0.1 %.
# The last step's route stays lazy: only the final clean-up waits for it, with time to spare.
EAGER_ROUTES = 16

# A mark starts a word: it follows no letter and no other mark, but may follow a digit
# ("4*h": Apertium marks the "h" of "4h").
_NOT_AFTER = r"(?<![^\W\d_])(?<![*#@])"
_MARK_RUN = re.compile(_NOT_AFTER + r"([*#@]+)(?=\w)")
_LITERAL_MARK = re.compile(_NOT_AFTER + r"([*#@])(\w[\w'’.-]*)")
_ENGINE_MARK = re.compile(_NOT_AFTER + r"([*@])([^\W\d_][\w'-]*)")
_WORD = re.compile(r"\w[\w'’.-]*")
_STREAM_SPECIAL = re.compile(r"([\[\]\\^$/<>@{}])")
_BLOCK_END = ".[][\n]"  # what apertium-destxt writes at the end of a paragraph
_UNESCAPE = re.compile(r"\\(.)|[\[\]]", re.DOTALL)
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\S)\s+(?=[,.;:!?](?:\s|$))")
# Apertium's French dictionaries spell the ligatures out ("coeur", not "cœur").
_CELA = re.compile(r"\b([Cc])ela\b")
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "\0": " "})  # NUL ends a block


class ApertiumMissingError(ModelMissingError):
    """Apertium or one of the language pairs of the pivot is not installed."""


def missing_message(detail: str) -> str:
    return (
        f"the offline translation backend needs Apertium with the French–Spanish and "
        f"Spanish–English pairs ({detail}); on Debian/Ubuntu install them with "
        f"`sudo apt-get install {' '.join(DEBIAN_PACKAGES)}`"
    )


class ApertiumTranslator:
    """French→Spanish→English with Apertium, all sentences of a call streamed through one pipeline.

    By default the pivot's gaps are filled and its English cleaned up (see the
    module docstring); ``raw=True`` gives the bare pivot (marks stripped only),
    the baseline the project is measured against.  ``workers`` shards (0: one
    per two cores, for inputs above ``SHARD_CHARS``) run side by side.

    >>> engine = ApertiumTranslator()  # doctest: +SKIP
    >>> engine.translate(["Le chat dort."])[0].text  # doctest: +SKIP
    'The cat sleeps.'
    """

    backend = "apertium"
    # Per call: a dozen process starts (~1 s of CPU with the routes), so calls are large;
    # 8,192 sentences are about 15 s of work, what a kill may lose (translate_cached commits per call).
    sentences_per_call = 8192

    def __init__(
        self,
        *,
        timeout_s: float = 120.0,
        executable: str = "apertium",
        pairs: tuple[str, ...] = PIVOT,
        workers: int = 0,
        raw: bool = False,
        tables: bool = True,
    ):
        self.timeout_s = timeout_s
        self.workers = workers if workers > 0 else max(1, _cores() // 2)
        self.shard_chars = 0 if workers > 0 else SHARD_CHARS  # explicit workers: always that many shards
        self.pairs = pairs
        self.raw = raw
        found = shutil.which(executable)
        if found is None:
            raise ApertiumMissingError(missing_message(f"no {executable!r} program on PATH"))
        self.executable = found
        self.launcher = ModeLauncher(found)
        listed = self.launcher.installed()
        absent = [pair for pair in pairs if pair not in listed]
        if absent:
            raise ApertiumMissingError(missing_message(f"direction(s) {', '.join(absent)} not installed"))
        # The second route for unknown words runs where its pairs are installed (Debian
        # apertium-fra-cat, -spa-cat, -eng-cat); without them the pivot runs alone.
        # A route compiled at set-up (:mod:`pipeline.translate.routetable`) answers from its table.
        self.model = "apertium " + " + ".join(pairs)
        self.revision = debian_versions(DEBIAN_PACKAGES)  # the pivot's and the routes' packages
        self.routes: dict[str, Router] = {}
        if not raw and pairs == PIVOT:
            for name, modes in ROUTES.items():
                if all(mode in listed for mode in modes):
                    table = RouteTable.find(name, self.revision) if tables else None
                    self.routes[name] = Router(modes, LEAVE_OUT.get(name, ()), table)

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"pivot": list(self.pairs), "separator": "null-flush"}
        if self.raw:
            params["raw"] = True
        else:
            params["routes"] = {name: list(router.modes) for name, router in sorted(self.routes.items())}
            tables = {name: router.table.fingerprint for name, router in self.routes.items() if router.table}
            if tables:
                params["route_tables"] = dict(sorted(tables.items()))
        return params

    def translate(self, sentences: Sequence[str]) -> list[Rendered]:
        texts = [prepare_french(s) for s in sentences]
        todo = [i for i, t in enumerate(texts) if t]
        results = [Rendered("")] * len(texts)
        if not todo:
            return results
        french = [texts[i] for i in todo]
        shards = self._shards(french)
        if len(shards) == 1:
            done = [self._translate_shard(french)]
        else:
            with ThreadPoolExecutor(max_workers=len(shards)) as pool:
                done = list(pool.map(lambda s: self._translate_shard(french[s.start : s.stop]), shards))
        steps = [t for shard in done for t in shard]
        for index, (english, words) in zip(todo, steps, strict=True):
            results[index] = Rendered(english, unknown=tuple(dict.fromkeys(words)))
        return results

    def _translate_shard(self, french: list[str]) -> list[tuple[str, list[str]]]:
        """(English, marked words) of each sentence, every step streaming into the next.

        Each step's stream is fed by a thread of its own from the previous step's
        answers (after their lookups), so all steps run at once; this thread
        reads the last one.  Every process is ended after ``timeout_s``.
        """
        watch = _Watch(self.timeout_s)
        unknown: list[list[str]] = [[] for _ in french]
        spanish: list[str] = []
        try:
            texts: Iterable[str] = french
            early: list[Stream] = []
            for number, pair in enumerate(self.pairs):
                stream = watch.add(Stream(self.launcher.argvs((pair,)), self.launcher.env))
                pairs = self._through(stream, texts)
                router, known = self._gaps(number)
                if router is not None or known:
                    route = None
                    if router is not None and router.live:
                        route = watch.add(
                            Stream(
                                self.launcher.argvs(router.modes, router.leave_out),
                                self.launcher.env,
                                lazy=True,
                            )
                        )
                        if number < len(self.pairs) - 1 and len(french) >= EAGER_ROUTES:
                            early.append(route)
                    pairs = _filled(pairs, router, route, known, self._hopeless(number))
                texts = _stripped(pairs, unknown, spanish if number == 0 else None)
            for waiting in early:  # once the pivot's processes are all started
                waiting.start_soon()
            if self.raw:
                english = list(texts)
            else:  # cleaned as each sentence arrives, while the steps go on
                english = [clean_english(en, spanish[i], french[i]) for i, en in enumerate(texts)]
        except TranslationError as exc:
            if watch.expired.is_set():
                raise TranslationError(f"apertium timed out after {self.timeout_s:g} s ({exc})") from exc
            raise
        finally:
            watch.close()
        return list(zip(english, unknown, strict=True))

    def _gaps(self, number: int) -> tuple[Router | None, dict[str, str]]:
        """Step ``number``'s route for the words it marks, and the translations known beforehand."""
        if self.raw:
            return None, {}
        if number == 0:
            return self.routes.get("french"), {}
        if number == len(self.pairs) - 1:
            return self.routes.get("spanish"), PIVOT_GAPS
        return None, {}

    def _hopeless(self, number: int) -> Router | None:
        """The route whose failures step ``number``'s route need not be asked again, if any.

        A French word neither fr→es nor the French route knows reaches es→en as it was,
        marked again; the Spanish route is a Spanish dictionary (of 1,857 such words in
        newstest2012 and 2013 it knew 2, as themselves: "quorum", "pubis"), so it is not asked.
        """
        if self.raw or number != len(self.pairs) - 1 or number == 0:
            return None
        return self.routes.get("french")

    @staticmethod
    def _through(stream: Stream, texts: Iterable[str]) -> Iterator[tuple[str, str]]:
        """(source, output) of each of ``texts`` streamed through ``stream``; the feeding starts now."""
        sources: list[str] = []

        def blocks() -> Iterator[str]:
            for text in texts:
                sources.append(text)
                yield to_stream(text)

        def outputs() -> Iterator[tuple[str, str]]:
            for index, block in enumerate(stream.outputs()):
                text = from_stream(block)
                if text is None:
                    raise TranslationError(
                        f"{stream.command} returned an unreadable block for {sources[index]!r}: {block!r}"
                    )
                yield sources[index], normalise_space(text)

        stream.feed(blocks())  # so the first step runs while the next ones start
        return outputs()

    def _shards(self, texts: list[str]) -> list[range]:
        """Consecutive index ranges of ``texts`` of about equal size, one per worker at most."""
        sizes = [len(t) + 1 for t in texts]
        total = sum(sizes)
        count = min(self.workers, total // self.shard_chars if self.shard_chars else len(texts), len(texts))
        count = max(1, count)
        shards: list[range] = []
        start, running = 0, 0
        for index, size in enumerate(sizes):
            running += size
            if len(shards) < count - 1 and running >= total * (len(shards) + 1) / count:
                shards.append(range(start, index + 1))
                start = index + 1
        shards.append(range(start, len(texts)))
        return [s for s in shards if len(s)]


def _filled(
    pairs: Iterator[tuple[str, str]],
    router: Router | None,
    route: Stream | None,
    known: dict[str, str],
    hopeless: Router | None = None,
) -> Iterator[tuple[str, str]]:
    """``pairs`` with the words each output marks unknown replaced where ``known`` or the route has them.

    Words ``hopeless`` (an earlier step's route) failed on are not asked.

    Each word the route has not answered yet is sent through it once, as soon as
    the output that marks it arrives (a thread reads the step and feeds the
    route); the outputs wait here, in order, for their words' answers.
    """
    waiting: queue.SimpleQueue[tuple[str, str, list[str], list[str]] | None] = queue.SimpleQueue()

    def marked_words() -> Iterator[tuple[str, str, list[str], list[str]]]:
        asked: set[str] = set()
        for source, output in pairs:
            marked = engine_marked(output, source)
            new = (
                router.unanswered(
                    [w for w in marked if w not in known and not (hopeless and hopeless.failed(w))], asked
                )
                if router
                else []
            )
            asked.update(new)
            yield source, output, marked, new

    def words() -> Iterator[str]:
        try:
            for item in marked_words():
                waiting.put(item)
                yield from (to_stream(word) for word in item[3])
        finally:
            waiting.put(None)

    items: Iterator[tuple[str, str, list[str], list[str]] | None]
    if route is not None and router is not None:
        route.feed(words())
        answers = route.outputs()
        items = iter(waiting.get, None)
    else:
        answers, items = iter(()), marked_words()
    for item in items:
        assert item is not None
        source, output, marked, new = item
        for word in new:
            block = next(answers, None)  # a failed route raises here
            answer = from_stream(block) if block is not None else None
            if answer is None:
                raise TranslationError(
                    f"{route.command if route else ''} gave no answer for {word!r}: {block!r}"
                )
            router.record(word, answer)  # type: ignore[union-attr]
        found = {w: known[w] for w in marked if w in known}
        if router is not None:
            found.update(router.found([w for w in marked if w not in found]))
        yield source, replace_marked(output, source, found) if found else output
    for _ in answers:  # the end of the route: raises if it failed
        raise TranslationError(f"{route.command if route else ''} returned more blocks than it was given")


class _Watch:
    """The streams of one call, all killed once ``timeout_s`` has passed (also those started later)."""

    def __init__(self, timeout_s: float):
        self.streams: list[Stream] = []
        self.expired = threading.Event()
        self._timer = threading.Timer(timeout_s, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def add(self, stream: Stream) -> Stream:
        self.streams.append(stream)
        if self.expired.is_set():  # checked after the append: _expire sees it or it sees _expire
            stream.kill()
        return stream

    def _expire(self) -> None:
        self.expired.set()
        for stream in list(self.streams):
            stream.kill()

    def close(self) -> None:
        self._timer.cancel()
        for stream in self.streams:
            stream.close()


def _stripped(
    pairs: Iterator[tuple[str, str]], unknown: list[list[str]], keep: list[str] | None
) -> Iterator[str]:
    """Each output without Apertium's marks (the marked words go to ``unknown``, the text to ``keep``)."""
    for index, (source, output) in enumerate(pairs):
        clean, marked = strip_marks(output, source)
        text = _SPACE_BEFORE_PUNCT.sub("", clean)  # transfer leaves "word ," behind
        unknown[index].extend(marked)
        if keep is not None:
            keep.append(text)
        yield text


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
    # an escaped character stands for itself; superblank delimiters go, what they wrap stays
    return (
        _UNESCAPE.sub(lambda m: m.group(1) or "", body)
        if "\\" in body or "[" in body or "]" in body
        else body
    )


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
    if "*" not in output and "#" not in output and "@" not in output:
        return output, []
    if ("*" not in source and "#" not in source and "@" not in source) or not _LITERAL_MARK.search(source):
        return _strip_engine_marks(output)
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


def _strip_engine_marks(output: str) -> tuple[str, list[str]]:
    """:func:`strip_marks` for a source without literal marks (most sentences): each run of
    marks goes, the last one is Apertium's (``"**word"`` is recorded as ``"*word"``)."""
    marked: list[str] = []

    def drop(match: re.Match[str]) -> str:
        word = _WORD.match(output, match.end())  # never None: a run is followed by a word character
        marked.append(match.group(1)[-1] + (word.group(0).rstrip(".-") if word else ""))
        return ""

    return _MARK_RUN.sub(drop, output), marked


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
