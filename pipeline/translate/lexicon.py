"""A second route for the words the main pivot does not know.

The pivot French→Spanish→English leaves a French word it cannot analyse as it
is ("désavantageux"), and the Spanish→English step leaves some Spanish words the
first step produced ("aprisionada").  Other Apertium pairs in Debian know many of
them, so each such word is looked up on its own through a *route*, a chain of
Apertium modes:

* French words unknown to fr→es go French→Catalan→Spanish (``fra-cat`` then
  ``cat-spa``), and the Spanish word replaces the French one *before* the
  Spanish→English step, which then inflects and places it like any other word;
* Spanish words unknown to es→en go Spanish→Catalan→English (``spa-cat`` then
  ``cat-eng``) and replace the word in the English; a few that no route knows
  are in :data:`PIVOT_GAPS`.

Measured on newstest2012 and left out: a French→Catalan→English route for the
Spanish words es→en does not know either (no change in BLEU or chrF, +0.5 s of
CPU), and FreeDict's French–English and Spanish–English dictionaries (Debian
``dict-freedict-*``: 8,505 and 4,508 headwords, which held none of a sample of
the words left unknown).

Only lowercase words of three letters or more are looked up: a capitalised
unknown word is nearly always a name, which must stay as it is.  A route's
modes are started once per translation call (one process pipeline, not one per
word) and every word streams through it as its own null-flushed block;
answers are remembered for the life of the :class:`Router`, or come from the
route's table compiled at set-up (:mod:`pipeline.translate.routetable`).  A route
whose modes are not installed is simply not used (the translator records which
routes ran in its parameters).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.translate.routetable import RouteTable

# name -> chain of modes (one process pipeline, started once per call)
ROUTES = {
    "french": ("fra-cat", "cat-spa"),  # into the Spanish text, before es→en
    "spanish": ("spa-cat", "cat-eng"),  # into the English text
}
# Programs of a route's modes that change nothing for a lookup of one word (measured: the same
# answer for each of the 1,857 words newstest2012 and 2013 send the Spanish route) and cost
# ~0.1 s of CPU to start: separable multiwords and anaphora need two words or more; the
# constraint grammars left the tagger's choice unchanged; the old-diacritics spelling of
# Catalan is read the same by cat-eng.  Matched by program name or data file (streams.ModeLauncher).
LEAVE_OUT = {"spanish": ("lsx-proc", "apertium-anaphora", "cg-proc", "diacritics")}
# Spanish words fr→es produces and es→en does not know, which no route finds either.
PIVOT_GAPS = {"millardo": "billion", "millardos": "billion"}

_LOOKUP_WORD = re.compile(r"[a-zàâäçéèêëîïôöùûüÿñáíóú][\w'-]{2,}")
_MARKED = re.compile(r"[*#@]")


def wants_lookup(word: str) -> bool:
    """Whether an unknown word is worth a lookup (a lowercase word, not a name or a number).

    >>> [wants_lookup(w) for w in ["désavantageux", "Tymosenko", "4h", "de"]]
    [True, False, False, False]
    """
    return bool(_LOOKUP_WORD.fullmatch(word))


class Router:
    """What one route answered for each unknown word, remembered for the life of the object.

    The caller runs the route's ``modes`` (the translator streams the words
    through them, one null-flushed block each) and records the answers.

    >>> router = Router(("fra-cat", "cat-spa"))
    >>> router.unanswered(["gazoduc", "Tymosenko", "gazoduc", "euthanasie"], asked={"euthanasie"})
    ['gazoduc']
    >>> router.record("gazoduc", "gasoducto."); router.record("zorglub", "*zorglub")
    >>> router.found(["gazoduc", "zorglub"]), router.unanswered(["gazoduc", "zorglub"])
    ({'gazoduc': 'gasoducto'}, [])
    >>> router.failed("zorglub"), router.failed("gazoduc"), router.failed("euthanasie")
    (True, False, False)
    """

    def __init__(
        self, modes: tuple[str, ...], leave_out: tuple[str, ...] = (), table: RouteTable | None = None
    ):
        self.modes = modes
        self.leave_out = leave_out
        self.table = table
        self._known: dict[str, str | None] = {}
        self._lock = threading.Lock()

    @property
    def live(self) -> bool:
        """Whether the route's processes answer (no compiled table: :mod:`pipeline.translate.routetable`)."""
        return self.table is None

    def unanswered(self, words: Iterable[str], asked: Iterable[str] = ()) -> list[str]:
        """Those of ``words`` worth a lookup that the route has not answered and that are not in ``asked``.

        With a table, the table answers them at once (a word it lacks, the route does not know).
        """
        skip = set(asked)
        with self._lock:
            known = self._known
            todo = [w for w in dict.fromkeys(words) if wants_lookup(w) and w not in known and w not in skip]
            if self.table is not None and todo:
                found = self.table.lookup(todo)
                for word in todo:
                    known[word] = found.get(word)
                return []
            return todo

    def record(self, word: str, answer: str) -> None:
        """The route's output for ``word`` (kept only if every step knew the word)."""
        with self._lock:
            self._known[word] = answer_of(answer)

    def failed(self, word: str) -> bool:
        """Whether the route was asked ``word`` and had no usable answer."""
        with self._lock:
            return word in self._known and self._known[word] is None

    def found(self, words: Iterable[str]) -> dict[str, str]:
        """The translations of those of ``words`` the route knows."""
        with self._lock:
            return {w: t for w in words if (t := self._known.get(w))}


def answer_of(answer: str) -> str | None:
    """The route's answer if every step knew the word (no mark left), else None.

    >>> answer_of("gasoducto."), answer_of("*zorglub.")
    ('gasoducto', None)
    """
    answer = " ".join(answer.split()).rstrip(".")
    if not answer or _MARKED.search(answer):
        return None
    return answer
