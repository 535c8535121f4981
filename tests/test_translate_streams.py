"""Process pipelines that blocks stream through (pipeline.translate.streams), and how modes are started."""

from __future__ import annotations

import shutil
import stat
import sys
import threading
from collections.abc import Iterator

import pytest

from pipeline.translate.base import TranslationError
from pipeline.translate.streams import FLUSH_EVERY, ModeLauncher, Stream, _programs

CAT = [shutil.which("cat") or "cat"]  # copies what it reads at once: a block comes back as it went in
PY = sys.executable


def run(stream: Stream, blocks: list[str]) -> list[str]:
    stream.feed(blocks)
    try:
        return list(stream.outputs())
    finally:
        stream.close()


def test_blocks_come_back_in_order_through_a_pipeline():
    blocks = [f"phrase {i} é [x]" for i in range(500)]
    assert run(Stream([CAT, CAT, CAT]), blocks) == blocks


def test_outputs_are_read_while_later_blocks_are_still_being_written():
    stream = Stream([CAT])
    answered = threading.Event()

    def blocks() -> Iterator[str]:
        yield from (f"early {i}" for i in range(FLUSH_EVERY))  # one write
        # the last block waits until the first answer was read: only a stream can do that
        assert answered.wait(10)
        yield "late"

    stream.feed(blocks())
    outputs = stream.outputs()
    assert next(outputs) == "early 0"
    answered.set()
    assert list(outputs)[-2:] == [f"early {FLUSH_EVERY - 1}", "late"]
    stream.close()


def test_a_failing_program_is_an_error_with_its_status():
    failing = [PY, "-c", "import sys; sys.stdin.read(); sys.stderr.write('bad dictionary'); sys.exit(3)"]
    with pytest.raises(TranslationError, match="status 3: bad dictionary"):
        run(Stream([CAT, failing]), ["a", "b"])


def test_a_lost_block_is_an_error_not_a_shifted_output():
    drops_first = [
        PY,
        "-c",
        "import sys; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(d.split(b'\\0', 1)[1])",
    ]
    with pytest.raises(TranslationError, match="returned 2 blocks for 3"):
        run(Stream([drops_first]), ["a", "b", "c"])


def test_extra_text_is_an_error_but_trailing_empty_blocks_are_not():
    adds = [PY, "-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read() + b'extra\\0')"]
    with pytest.raises(TranslationError, match="more blocks"):
        run(Stream([adds]), ["a"])
    flushes = [PY, "-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read() + b'\\0\\0\\n\\0')"]
    assert run(Stream([flushes]), ["a", "b"]) == ["a", "b"]


def test_a_lazy_stream_with_nothing_to_do_starts_nothing():
    stream = Stream([["no-such-program-here"]], lazy=True)
    assert run(stream, []) == []
    with pytest.raises(TranslationError, match="cannot run"):
        run(Stream([["no-such-program-here"]], lazy=True), ["a"])


def test_an_error_of_the_feeding_step_reaches_the_reader():
    def blocks() -> Iterator[str]:
        yield "a"
        raise TranslationError("the previous step failed")

    with pytest.raises(TranslationError, match="previous step failed"):
        run(Stream([CAT]), blocks())  # type: ignore[arg-type]


def test_kill_ends_a_stuck_pipeline():
    stuck = [PY, "-c", "import time; time.sleep(60)"]
    stream = Stream([stuck])
    timer = threading.Timer(0.5, stream.kill)
    timer.start()
    with pytest.raises(TranslationError):
        run(stream, ["a"])
    timer.cancel()


def fake_wblank(tmp_path, line: str) -> str:
    """A stand-in for apertium-wblank-mode that prints ``line`` (the mode's command line)."""
    program = tmp_path / "wblank"
    program.write_text(f"#!{PY}\nprint({line!r})\n", encoding="utf-8")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return str(program)


def test_mode_command_lines_are_parsed_without_a_shell(tmp_path):
    line = (
        "lt-proc -z '/d/fr es.bin' | apertium-wblank-attach | apertium-tagger -z -g $2 '/d/x.prob' "
        "| apertium-wblank-detach | lt-proc -z $1 /d/gen.bin"
    )
    assert _programs(fake_wblank(tmp_path, line), str(tmp_path / "a.mode")) == [
        ["lt-proc", "-z", "/d/fr es.bin"],
        ["apertium-tagger", "-z", "-g", "/d/x.prob"],
        ["lt-proc", "-z", "-g", "/d/gen.bin"],
    ]


@pytest.mark.parametrize(
    "line",
    ["lt-proc a.bin > out", "lt-proc $3 a.bin", "lt-proc a.bin; rm x", "lt-proc a.bin || b", "a | | b"],
)
def test_shell_syntax_makes_the_mode_run_through_the_script(tmp_path, line):
    assert _programs(fake_wblank(tmp_path, line), str(tmp_path / "b.mode")) is None


APERTIUM = shutil.which("apertium")


@pytest.mark.skipif(APERTIUM is None, reason="apertium is not installed")
@pytest.mark.parametrize("mode", ["fr-es", "spa-eng", "fra-cat", "spa-cat"])
def test_direct_programs_give_the_bytes_the_apertium_script_gives(mode):
    from pipeline.translate.apertium import to_stream

    assert APERTIUM is not None
    launcher = ModeLauncher(APERTIUM)
    if mode not in launcher.installed():
        pytest.skip(f"{mode} is not installed")
    direct = launcher.argvs((mode,))
    script = [[APERTIUM, "-z", "-f", "none", mode]]
    assert len(direct) > 5 and direct[0][0] != APERTIUM  # the mode's own programs
    sentences = [
        "Il a dit « je viens » à 15 h 30.",
        "[Crochets] {accolades} \\ barre oblique inverse / et ^circonflexe$.",
        "Le zorglubophone de Vromblax a été présenté hier.",
        "Suivez #Maroc et @ministere sur les réseaux.",
        "Ligne sans point final",
    ]
    blocks = [to_stream(s) for s in sentences]
    assert run(Stream(direct, launcher.env), blocks) == run(Stream(script), blocks)


def test_start_soon_starts_the_processes_before_the_first_block(tmp_path):
    started = tmp_path / "started"
    copy = "import shutil, sys; shutil.copyfileobj(sys.stdin.buffer, sys.stdout.buffer)"
    marks_start = [PY, "-c", f"open({str(started)!r}, 'w').close(); {copy}"]
    stream = Stream([marks_start], lazy=True)
    stream.start_soon()
    for _ in range(200):  # no block was written: only start_soon can have started it
        if started.exists():
            break
        threading.Event().wait(0.05)
    assert started.exists()
    assert run(stream, ["a", "b"]) == ["a", "b"]


def test_a_failed_early_start_is_raised_where_the_stream_is_used():
    stream = Stream([["no-such-program-here"]], lazy=True)
    stream.start_soon()
    with pytest.raises(TranslationError, match="cannot run"):
        run(stream, ["a"])


def test_an_early_started_stream_given_nothing_ends_cleanly():
    # start_soon's thread and a writer with no block race: whichever comes first, nothing hangs
    for _ in range(20):
        stream = Stream([CAT, CAT], lazy=True)
        stream.start_soon()
        assert run(stream, []) == []


@pytest.mark.skipif(APERTIUM is None, reason="apertium is not installed")
def test_the_spanish_route_without_its_idle_programs_answers_as_the_whole_route():
    from pipeline.translate.apertium import from_stream, to_stream
    from pipeline.translate.lexicon import LEAVE_OUT, ROUTES

    assert APERTIUM is not None
    launcher = ModeLauncher(APERTIUM)
    modes = ROUTES["spanish"]
    if not set(modes) <= launcher.installed():
        pytest.skip("apertium-spa-cat and apertium-eng-cat are not installed")
    whole, lean = launcher.argvs(modes), launcher.argvs(modes, LEAVE_OUT["spanish"])
    names = {a[0].rsplit("/", 1)[-1] for a in lean}
    assert len(lean) < len(whole) and not names & {"lsx-proc", "apertium-anaphora", "cg-proc"}
    assert not any("diacritics" in a[-1] for a in lean)
    # words es→en leaves: verbs, plurals, adjectives, a word no route knows
    words = ["cientos", "promulgaron", "combatientes", "sionista", "desenfrenada", "endeudarme", "zorglub"]
    blocks = [to_stream(w) for w in words]
    answers = [from_stream(b) for b in run(Stream(lean, launcher.env), blocks)]
    assert answers == [from_stream(b) for b in run(Stream(whole, launcher.env), blocks)]
    assert "hundreds" in (answers[0] or "") and "*zorglub" in (answers[-1] or "")
