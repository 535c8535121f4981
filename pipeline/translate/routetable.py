"""A route's answers compiled once at set-up: the French route without its processes.

The French route (:data:`pipeline.translate.lexicon.ROUTES`) looks up, through
French→Catalan→Spanish, the words fr→es does not know.  Started in a translation
call it costs about 1.1 s of CPU, most of it fra-cat's and cat-spa's programs
building their dictionaries in memory (some 450 MB to fault in), for a few hundred
words: on newstest2013 a quarter of everything the project adds to raw Apertium.
Each word goes through the route as a block of its own, so its answer does not
depend on the sentence: the answers can be looked up once, for every word the
route could be asked, and stored.

:func:`build` (``pipeline models route-tables``, run by ``make setup``):

1. ``lt-paradigm`` (Debian ``lttoolbox-dev``) lists every surface form the
   route's French analyser knows (1.3 million, 0.2 million without a hyphen);
2. kept: the words :func:`~pipeline.translate.lexicon.wants_lookup` accepts,
   without a hyphen (nearly all the hyphenated ones are verbs with clitics, which
   fr→es splits), that fr→es's analyser does not know (125,000);
3. each goes through the route exactly as in a translation call, and the usable
   answers (100,000) are written to a SQLite file named by a fingerprint of the
   installed packages and the route's programs (about 40 s of CPU, 4 MB).

A translator that finds the file asks it instead of starting the route, and a
word the table lacks counts as one the route does not know.  Measured against the
live route on every word newstest2012 and 2013 send it (1,245 in 2013): the same
answer for all but hyphenated words the live route returns unchanged or nearly
("extra-terrestres", "mi-" → "mí-") and one word whose answer the live route's
stream context changes ("plaidoyers": "defensas", the table's "defiendes").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from pipeline.fingerprints import debian_versions
from pipeline.translate.lexicon import LEAVE_OUT, ROUTES, answer_of, wants_lookup
from pipeline.translate.streams import ModeLauncher, Stream

FORMAT = 1
# The routes with a table -> (the mode whose output they are asked words of, the mode whose
# analyser does not know those words).  The French route is asked the French words fr→es
# cannot analyse; the Spanish route the Spanish words fr→es (or the French route, through
# cat-spa) writes and es→en cannot analyse.
TABLED = {"french": (None, "fr-es"), "spanish": ("fr-es", "spa-eng")}
ENV_VAR = "PIPELINE_ROUTE_TABLES"
DEFAULT_DIR = Path("~/.cache/french-news-pipeline/apertium-routes")
_LOOKUP_CHUNK = 500  # SQLite's default limit on host parameters is 999


class RouteTableError(RuntimeError):
    """The table cannot be built here (a program missing or failing)."""


def tables_dir() -> Path:
    """``$PIPELINE_ROUTE_TABLES``, else ``~/.cache/french-news-pipeline/apertium-routes``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIR).expanduser()


def fingerprint(name: str, packages: str | None) -> str:
    """What a table's answers depend on: the installed packages and the route's programs.

    >>> fingerprint("french", "apertium-fr-es=0.9.4-1") == fingerprint("french", "apertium-fr-es=0.9.5-1")
    False
    """
    spec = {
        "format": FORMAT,
        "route": name,
        "modes": ROUTES[name],
        "leave_out": LEAVE_OUT.get(name, ()),
        "pivot": list(TABLED[name]),
        "packages": packages,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def table_path(name: str, packages: str | None, directory: Path | None = None) -> Path:
    return (directory or tables_dir()) / f"{name}-{fingerprint(name, packages)}.sqlite"


class RouteTable:
    """The stored answers of one route, read-only.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.sqlite"
    >>> write_table(path, {"gazoduc": "gasoducto"}, {"route": "french"})
    >>> RouteTable(path).lookup(["gazoduc", "zorglub"])
    {'gazoduc': 'gasoducto'}
    """

    def __init__(self, path: Path):
        self.path = path
        # read-only and shared by the translator's threads, which only read it
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        meta = dict(self._db.execute("SELECT key, value FROM meta"))
        self.fingerprint = meta.get("fingerprint", "")

    @classmethod
    def find(cls, name: str, packages: str | None, directory: Path | None = None) -> RouteTable | None:
        """The table built for route ``name`` with these packages, if there is one (and it opens)."""
        if name not in TABLED:
            return None
        path = table_path(name, packages, directory)
        if not path.is_file():
            return None
        try:
            return cls(path)
        except sqlite3.Error:
            return None  # damaged: the live route answers instead

    def answers(self) -> set[str]:
        """Every answer in the table, as single words (a multiword answer is left out)."""
        return {a for (a,) in self._db.execute("SELECT DISTINCT answer FROM answers") if " " not in a}

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM answers").fetchone()[0])

    def lookup(self, words: Sequence[str]) -> dict[str, str]:
        """The answers the table has for ``words`` (a word it lacks has none)."""
        found: dict[str, str] = {}
        for start in range(0, len(words), _LOOKUP_CHUNK):
            chunk = words[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(self._db.execute(f"SELECT word, answer FROM answers WHERE word IN ({marks})", chunk))
        return found


def write_table(path: Path, answers: dict[str, str], meta: dict[str, str]) -> None:
    """Write ``answers`` to ``path`` atomically (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(handle)
    os.chmod(temporary, 0o644)  # a shared asset, like the installed dictionaries it is made of
    try:
        with contextlib.closing(sqlite3.connect(temporary)) as db:
            db.execute("CREATE TABLE answers (word TEXT PRIMARY KEY, answer TEXT NOT NULL) WITHOUT ROWID")
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.executemany("INSERT INTO answers VALUES (?, ?)", sorted(answers.items()))
            db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
            db.commit()
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def surface_forms(transducer: str, *, analyser: bool, lt_paradigm: str = "lt-paradigm") -> set[str]:
    """Every surface form an ``.automorf.bin`` (``analyser``) or ``.autogen.bin`` knows."""
    argv = [lt_paradigm, "-a", transducer] if analyser else [lt_paradigm, transducer]
    try:
        done = subprocess.run(argv, input=b"*<*>\n", capture_output=True, timeout=600, check=False)
    except FileNotFoundError as exc:
        raise RouteTableError(f"{lt_paradigm} is missing (Debian package lttoolbox-dev): {exc}") from exc
    if done.returncode != 0:
        raise RouteTableError(f"{lt_paradigm} failed: {done.stderr.decode('utf-8', 'replace')[-300:]}")
    return {line.partition(":")[2] for line in done.stdout.decode("utf-8").splitlines()}


def unknown_to(analyser_argv: list[str], words: Sequence[str]) -> list[str]:
    """Those of ``words`` the analyser (a ``lt-proc`` command line) marks unknown."""
    argv = [a for a in analyser_argv if a != "-z"]  # one word a line, no null flush needed
    done = subprocess.run(
        argv, input="\n".join(words).encode() + b"\n", capture_output=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RouteTableError(f"{' '.join(argv)} failed: {done.stderr.decode('utf-8', 'replace')[-300:]}")
    lines = done.stdout.decode("utf-8").splitlines()
    if len(lines) != len(words):
        raise RouteTableError(f"{' '.join(argv)} answered {len(lines)} lines for {len(words)} words")
    return [word for word, line in zip(words, lines, strict=True) if "/*" in line]


def candidates(launcher: ModeLauncher, name: str, packages: str | None, directory: Path | None) -> list[str]:
    """The words route ``name`` can be asked (see :data:`TABLED`), sorted."""
    writer, reader = TABLED[name]
    if writer is None:  # words of the source text: the route's own analyser lists them
        forms = surface_forms(_data_file(launcher, ROUTES[name][0], "automorf"), analyser=True)
    else:
        forms = surface_forms(_data_file(launcher, writer, "autogen"), analyser=False)
        earlier = RouteTable.find("french", packages, directory)
        if earlier is not None:  # the French route's answers reach the Spanish text too
            forms.update(earlier.answers())
    kept = sorted(f for f in forms if wants_lookup(f) and "-" not in f)
    return unknown_to(launcher.argvs((reader,))[0], kept)


def _data_file(launcher: ModeLauncher, mode: str, kind: str) -> str:
    """The ``*.{kind}.bin`` file a mode's ``lt-proc`` reads (its analyser, its generator)."""
    for argv in launcher.argvs((mode,)):
        if Path(argv[0]).name == "lt-proc" and argv[-1].endswith(f".{kind}.bin"):
            return argv[-1]
    raise RouteTableError(f"cannot find the {kind} dictionary of {mode} in its mode")


def route_answers(launcher: ModeLauncher, name: str, words: Iterable[str]) -> dict[str, str]:
    """The usable answers of route ``name`` for ``words``, each streamed as in a translation call."""
    from pipeline.translate.apertium import from_stream, to_stream  # apertium imports this module

    asked = list(words)
    stream = Stream(launcher.argvs(ROUTES[name], LEAVE_OUT.get(name, ())), launcher.env)
    try:
        stream.feed(to_stream(word) for word in asked)
        found: dict[str, str] = {}
        for word, block in zip(asked, stream.outputs(), strict=True):
            answer = answer_of(from_stream(block) or "")
            if answer is not None:
                found[word] = answer
        return found
    finally:
        stream.close()


def build(
    name: str = "french",
    directory: Path | None = None,
    *,
    launcher: ModeLauncher | None = None,
    packages: str | None = None,
    words: Sequence[str] | None = None,
) -> Path:
    """Build route ``name``'s table for the installed packages (``words``: only these) and return its path."""
    launcher = launcher or ModeLauncher(_apertium())
    packages = packages if packages is not None else debian_versions()
    asked = list(words) if words is not None else candidates(launcher, name, packages, directory)
    found = route_answers(launcher, name, asked)
    path = table_path(name, packages, directory)
    meta = {"route": name, "fingerprint": fingerprint(name, packages), "asked": str(len(asked))}
    write_table(path, found, meta)
    return path


def _apertium() -> str:
    found = shutil.which("apertium")
    if found is None:
        raise RouteTableError("Apertium is not installed (Debian package apertium)")
    return found


def build_all(directory: Path | None = None, *, force: bool = False) -> Iterator[str]:
    """Build every route's table that is missing (all of them with ``force``); one line of news each."""
    packages = debian_versions()
    launcher = ModeLauncher(_apertium())
    listed = launcher.installed()
    for name in TABLED:  # in order: the Spanish route's words include the French route's answers
        needed = [*ROUTES[name], *(mode for mode in TABLED[name] if mode)]
        if absent := [mode for mode in needed if mode not in listed]:
            yield f"route table {name}: skipped, Apertium modes not installed: {', '.join(absent)}"
            continue
        path = table_path(name, packages, directory)
        if path.is_file() and not force:
            yield f"route table {name}: {path} (already built)"
            continue
        start = time.perf_counter()
        path = build(name, directory, launcher=launcher, packages=packages)
        took = time.perf_counter() - start
        yield f"route table {name}: {len(RouteTable(path)):,} answers in {path} ({took:.0f} s)"
