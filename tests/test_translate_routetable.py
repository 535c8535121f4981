"""Route tables: the unknown-word routes' answers compiled at set-up, used instead of the live route."""

from __future__ import annotations

import shutil

import pytest

from pipeline.fingerprints import debian_versions
from pipeline.translate import routetable
from pipeline.translate.apertium import ApertiumTranslator
from pipeline.translate.routetable import RouteTable, build, surface_forms, table_path, unknown_to
from pipeline.translate.streams import ModeLauncher, Stream

ROUTES_INSTALLED = shutil.which("apertium") is not None and ApertiumTranslator(
    tables=False
).routes.keys() == {
    "french",
    "spanish",
}
pytestmark = pytest.mark.skipif(
    not ROUTES_INSTALLED, reason="apertium and the Catalan pairs are not installed"
)

WORDS = ["gazoduc", "euthanasie", "zorglubophone"]
SENTENCE = "Le gazoduc traverse la région et l'euthanasie divise les députés."


@pytest.fixture(scope="module")
def french_table(tmp_path_factory: pytest.TempPathFactory) -> RouteTable:
    directory = tmp_path_factory.mktemp("route-tables")
    path = build("french", directory, packages=debian_versions(), words=WORDS)
    assert path == table_path("french", debian_versions(), directory)
    return RouteTable(path)


def test_the_table_holds_the_routes_answers_and_only_usable_ones(french_table):
    found = french_table.lookup([*WORDS, "maison"])
    assert set(found) == {"gazoduc", "euthanasie"}  # the route does not know the made-up word
    assert found["gazoduc"].startswith("gas") and "*" not in "".join(found.values())
    assert len(french_table) == 2 and french_table.fingerprint in french_table.path.name


def test_a_translator_with_the_table_starts_no_french_route_and_says_the_same(
    french_table, monkeypatch: pytest.MonkeyPatch
):
    started: list[str] = []
    real = Stream._start

    def start(self: Stream) -> None:
        started.append(self.command)
        real(self)

    monkeypatch.setattr(Stream, "_start", start)
    live = ApertiumTranslator(timeout_s=60, tables=False).translate([SENTENCE])[0]
    assert any("fra-cat" in command for command in started)
    started.clear()
    monkeypatch.setenv(routetable.ENV_VAR, str(french_table.path.parent))
    tabled = ApertiumTranslator(timeout_s=60)
    assert not tabled.routes["french"].live and tabled.routes["spanish"].live  # only French was built
    assert tabled.params()["route_tables"] == {"french": french_table.fingerprint}
    assert tabled.translate([SENTENCE])[0] == live
    assert not any("fra-cat" in command for command in started)


def test_no_table_or_a_damaged_one_leaves_the_route_live(tmp_path):
    assert RouteTable.find("french", debian_versions(), tmp_path) is None
    table_path("french", debian_versions(), tmp_path).write_bytes(b"not a database")
    assert RouteTable.find("french", debian_versions(), tmp_path) is None
    assert RouteTable.find("no-such-route", debian_versions(), tmp_path) is None


@pytest.mark.skipif(
    shutil.which("lt-paradigm") is None, reason="lttoolbox-dev (lt-paradigm) is not installed"
)
def test_word_lists_come_from_the_dictionaries():
    launcher = ModeLauncher(shutil.which("apertium") or "apertium")
    postgen = routetable._data_file(launcher, "fr-es", "autogen").replace("autogen", "autopgen")
    assert surface_forms(postgen, analyser=False)  # a small generator: a few forms, quickly
    analyser = launcher.argvs(("fr-es",))[0]
    assert unknown_to(analyser, ["maison", "zorglubophone", "parlait"]) == ["zorglubophone"]


def test_routes_whose_modes_are_missing_are_skipped(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(ModeLauncher, "installed", lambda self: {"fr-es", "spa-eng"})
    lines = list(routetable.build_all(tmp_path))
    assert len(lines) == 2 and all("skipped" in line and "cat" in line for line in lines)
    assert not list(tmp_path.iterdir())
