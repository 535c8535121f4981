"""Running Apertium modes as process pipelines that sentences stream through.

* :class:`ModeLauncher` turns a mode name ("fr-es") into the programs of its
  pipeline, started directly: ``apertium -z -f none fr-es`` is a bash script
  that finds the mode file, lists the locales, and wraps the mode's programs in
  two ``gawk`` and three ``cat`` processes that copy every byte; with ``-f
  none`` and no translation memory those add nothing to the output (the same
  bytes: ``tests/test_translate_streams.py``), only about 5 % of the CPU.  The
  mode's programs come from ``apertium-wblank-mode -z`` (what the script runs)
  with the script's arguments filled in (``$1`` = ``-g``: unknown words marked,
  ``$2`` empty: no ambiguity shown), less the two that carry word-bound blanks,
  which the translator's input never has; a mode the parser does not fully understand
  (shell syntax beyond ``a | b``) runs through the script, as does everything
  when the script's data directory cannot be read from it.
* :class:`Stream` is one started pipeline through which NUL-terminated blocks
  flow: a thread of its own writes them (they may come from a generator that
  waits on an earlier step), the caller reads the answers while later blocks are
  still being written, so consecutive steps run side by side, as in
  ``apertium fr-es | apertium spa-eng``.  A lazy stream starts its processes at
  its first block: a route that gets no word costs nothing; :meth:`Stream.start_soon`
  starts them now from a thread, beside the caller's other work (a route that
  will surely get words loads its dictionaries while the pivot loads its own).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from pipeline.translate.base import TranslationError

FLUSH_EVERY = 8  # blocks per write: few system calls, and the next step never waits long
_READ_SIZE = 1 << 16
# The mode file's placeholders, as ``apertium -f none`` fills them: $1 marks unknown words,
# $2 (ambiguity display) is empty, so it disappears from the command line.
_PLACEHOLDERS = {"$1": ["-g"], "$2": []}
_SHELL_SYNTAX = re.compile(r"[;&<>()`$]")
# Programs the script adds to carry word-bound blanks ("[[...]]") past the tagger and transfer.
# The translator's blocks never hold one (apertium.to_stream escapes every "["), so these two
# would only copy bytes: 2 of ~12 processes per mode, ~5 % of the CPU, left out.
_BLANK_COPIERS = frozenset({"apertium-wblank-attach", "apertium-wblank-detach"})
_SCRIPT_DEFAULT = r'^{name}="\$\{{{name}:-([^}}"]*)\}}"$'


class ModeLauncher:
    """How to start an Apertium mode: its programs directly, or the ``apertium`` script.

    ``executable`` is the ``apertium`` script; its defaults (``APERTIUM_DATADIR``,
    ``APERTIUM_PATH``, overridable from the environment as in the script) say
    where the modes and programs are.
    """

    def __init__(self, executable: str):
        self.executable = executable
        datadir, bindir = (
            _script_default(executable, "APERTIUM_DATADIR"),
            _script_default(executable, "APERTIUM_PATH"),
        )
        self.modes_dir = Path(datadir) / "modes" if datadir else None
        # What the script exports before it runs a mode: its program directory first on
        # PATH, and a UTF-8 character type.
        path = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}" if bindir else os.environ.get("PATH", "")
        self.env = {**os.environ, "PATH": path, "LC_CTYPE": "C.UTF-8"}
        self.wblank = shutil.which("apertium-wblank-mode", path=path)

    def installed(self) -> set[str]:
        """The modes installed (``apertium -l``)."""
        if self.modes_dir is not None and self.modes_dir.is_dir():
            return {p.name.removesuffix(".mode") for p in self.modes_dir.glob("*.mode")}
        done = subprocess.run([self.executable, "-l"], capture_output=True, timeout=30, check=False)
        return set(done.stdout.decode("utf-8", "replace").split())

    def argvs(self, modes: tuple[str, ...], leave_out: tuple[str, ...] = ()) -> list[list[str]]:
        """The programs of ``modes`` one after the other, as one pipeline (``a | b | …``).

        ``leave_out``: programs to drop, named by program (``"cg-proc"``) or by part of
        the name of their data file (its last argument); a mode run through the script
        keeps everything.
        """
        return [argv for mode in modes for argv in self._mode_argvs(mode) if not _left_out(argv, leave_out)]

    def _mode_argvs(self, mode: str) -> list[list[str]]:
        script = [[self.executable, "-z", "-f", "none", mode]]
        if self.modes_dir is None or self.wblank is None:
            return script
        programs = _programs(self.wblank, str(self.modes_dir / f"{mode}.mode"))
        return programs or script


def _left_out(argv: list[str], leave_out: tuple[str, ...]) -> bool:
    program, data = Path(argv[0]).name, Path(argv[-1]).name
    return any(name == program or (len(argv) > 1 and name in data) for name in leave_out)


def _script_default(executable: str, name: str) -> str | None:
    """``NAME``'s value in the ``apertium`` script: the environment's, else the script's default."""
    if os.environ.get(name):
        return os.environ[name]
    try:
        head = Path(executable).read_bytes()[:4096].decode("utf-8", "replace")
    except OSError:
        return None
    found = re.search(_SCRIPT_DEFAULT.format(name=name), head, re.MULTILINE)
    return found.group(1) if found else None


@functools.cache
def _programs(wblank: str, mode_file: str) -> list[list[str]] | None:
    """The argument lists of a mode's pipeline with null flush, or None if it is not a plain ``a | b``."""
    try:
        done = subprocess.run([wblank, "-z", mode_file], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    line = done.stdout.decode("utf-8", "replace").strip()
    if done.returncode != 0 or not line or "\n" in line:
        return None
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars="|")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return None
    programs: list[list[str]] = [[]]
    for token in tokens:
        if token == "|":
            programs.append([])
        elif token in _PLACEHOLDERS:
            programs[-1].extend(_PLACEHOLDERS[token])
        elif _SHELL_SYNTAX.search(token) or token.startswith("|"):
            return None  # redirections, variables, sub-shells: let the script run it
        else:
            programs[-1].append(token)
    if not all(programs):
        return None
    return [argv for argv in programs if Path(argv[0]).name not in _BLANK_COPIERS]


class Stream:
    """A pipeline of processes ``a | b | …`` (no shell) that NUL-terminated blocks stream through.

    :meth:`feed` writes the blocks from a thread of its own; :meth:`outputs`
    yields each output block (without its NUL) as it comes, and at the end
    checks that the pipeline ended well and answered every block.  Errors of
    the feeding thread (an earlier step failing) are raised there too.
    :meth:`kill` ends it at once (timeout, error elsewhere).  stderr goes to
    files: a pipe nobody reads would block a chatty program.
    """

    def __init__(self, argvs: list[list[str]], env: dict[str, str] | None = None, *, lazy: bool = False):
        self.argvs = argvs
        self.env = env
        self.command = " | ".join(" ".join(argv) for argv in argvs)
        self.written = 0
        self._processes: list[subprocess.Popen[bytes]] = []
        self._stack = contextlib.ExitStack()
        self._errors: list[tuple[str, IO[bytes]]] = []
        self._lock = threading.Lock()
        self._killed = False
        self._ready = threading.Event()  # set once started, or once feeding ended without a block
        self._writer: threading.Thread | None = None
        self._feed_error: BaseException | None = None
        self._start_error: TranslationError | None = None
        self._input_done = False  # the writer has ended: nothing starts after that
        if not lazy:
            self._start()

    def start_soon(self) -> None:
        """Start the processes from a new thread now rather than at the first block.

        A failure to start is raised where the stream is next used (feeding or reading).
        """
        threading.Thread(target=self._start_quietly, daemon=True).start()

    def _start_quietly(self) -> None:
        with contextlib.suppress(TranslationError):  # kept in _start_error, raised by the next _start
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._start_error is not None:
                raise self._start_error
            if self._killed or self._processes or self._input_done:
                return
            try:
                for argv in self.argvs:
                    error = self._stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (closed with the stack)
                    stdin = self._processes[-1].stdout if self._processes else subprocess.PIPE
                    process = subprocess.Popen(
                        argv, stdin=stdin, stdout=subprocess.PIPE, stderr=error, env=self.env
                    )
                    self._errors.append((argv[0], error))
                    if self._processes and self._processes[-1].stdout is not None:
                        self._processes[-1].stdout.close()  # the next process owns the pipe now
                    self._processes.append(process)
            except OSError as exc:
                self._end_processes()
                self._start_error = TranslationError(f"cannot run {self.command}: {exc}")
                raise self._start_error from exc
            finally:
                self._ready.set()

    def feed(self, blocks: Iterable[str]) -> None:
        """Write ``blocks`` (NUL added), flushing every few, from a new thread; then close the input."""
        self._writer = threading.Thread(target=self._write, args=(blocks,), daemon=True)
        self._writer.start()

    def _write(self, blocks: Iterable[str]) -> None:
        stdin = None
        try:
            pending: list[str] = []
            for block in blocks:
                if stdin is None:
                    self._start()
                    if not self._processes:
                        return  # killed
                    stdin = self._processes[0].stdin
                pending.append(block + "\0")
                self.written += 1
                if len(pending) >= FLUSH_EVERY:
                    _write_flush(stdin, pending)
            _write_flush(stdin, pending)
        except BrokenPipeError:
            pass  # a process died: its status says why
        except BaseException as exc:  # an earlier step failed: said by outputs()
            self._feed_error = exc
        finally:
            with self._lock:  # waits for a start in progress (start_soon); none begins after
                self._input_done = True
                first = self._processes[0].stdin if self._processes else None
            self._ready.set()
            if stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    stdin.close()
            elif first is not None:  # started early, given nothing
                with contextlib.suppress(BrokenPipeError):
                    first.close()

    def outputs(self) -> Iterator[str]:
        """Each output block as text, in order; raises if the pipeline failed or lost a block."""
        self._ready.wait()
        count = 0
        if self._processes:
            stdout = self._processes[-1].stdout
            assert stdout is not None
            rest = b""
            while chunk := stdout.read1(_READ_SIZE):  # type: ignore[attr-defined]
                *blocks, rest = (rest + chunk).split(b"\0")
                for block in blocks:
                    if count < self.written:
                        count += 1
                        yield block.decode("utf-8", "replace")
                    elif block.strip():  # once its input ends, each program flushes: empty blocks
                        self._finish()
                        raise TranslationError(f"{self.command} returned more blocks than it was given")
            if rest.strip():
                self._finish()
                raise TranslationError(f"{self.command} ended with an unterminated block: {rest[-200:]!r}")
        self._finish()
        if count != self.written:
            raise TranslationError(f"{self.command} returned {count} blocks for {self.written}")

    def _finish(self) -> None:
        if self._writer is not None:
            self._writer.join()
        for process in self._processes:
            process.wait()
        if self._feed_error is not None:
            raise self._feed_error
        if self._killed:
            raise TranslationError(f"{self.command} was stopped")
        try:
            for process, (program, error) in zip(self._processes, self._errors, strict=True):
                if process.returncode != 0:
                    error.seek(0)
                    detail = error.read().decode("utf-8", "replace").strip()[-500:]
                    raise TranslationError(
                        f"{program} ({self.command}) exited with status {process.returncode}: {detail}"
                    )
        finally:
            self._stack.close()

    def kill(self) -> None:
        """End the pipeline now (its readers then see the end of the output and raise)."""
        with self._lock:
            self._killed = True
            self._end_processes()
        self._ready.set()

    def _end_processes(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()

    def close(self) -> None:
        """Kill what still runs and reap it; release the error files."""
        self.kill()
        for process in self._processes:
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        self._stack.close()


def _write_flush(stdin: IO[bytes] | None, pending: list[str]) -> None:
    if pending and stdin is not None:
        stdin.write("".join(pending).encode("utf-8"))
        stdin.flush()
        pending.clear()
