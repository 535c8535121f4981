"""The Apertium pivot, for real (CI installs apertium, apertium-fr-es, apertium-eng-spa)."""

from __future__ import annotations

import shutil

import pytest

from pipeline.nlp import ModelMissingError
from pipeline.translate.apertium import (
    DEBIAN_PACKAGES,
    EAGER_ROUTES,
    ApertiumMissingError,
    ApertiumTranslator,
    strip_marks,
)
from pipeline.translate.streams import Stream

pytestmark = pytest.mark.skipif(
    shutil.which("apertium") is None, reason="apertium is not installed (apt-get install apertium-fr-es ...)"
)

AWKWARD = [
    "Il a dit « je viens » à 15 h 30.",
    "«Le Maroc est engagé», a-t-il déclaré.",
    '"Guillemets droits" et l\'apostrophe, puis l’apostrophe courbe.',
    "<b>Ceci ressemble à du balisage</b>",
    '<p class="x">Un paragraphe HTML</p>',
    "[Crochets] {accolades} \\ barre oblique inverse / et ^circonflexe$.",
    "Le budget atteint 3,5 milliards de dirhams, soit 12 345,67 € ou 4 %.",
    "Une phrase\nsur deux lignes.\n\nEt un paragraphe vide au milieu.",
    "Ligne sans point final",
    "1.",
    "- Tiret en tête de ligne.",
    "* puce de liste",
    "2024-02-11",
    "...",
    "?",
    "—",
    "Rendez-vous sur https://example.com/a?b=c&d=e pour lire.",
    "&amp; &lt;b&gt; entités",
    "<!-- commentaire -->",
    "Suivez #Maroc et @ministere sur les réseaux.",
    "Le cœur du projet a été mis en œuvre.",
    "Fin.",
]


@pytest.fixture(scope="session")
def apertium() -> ApertiumTranslator:
    return ApertiumTranslator(timeout_s=60)


@pytest.fixture(scope="session")
def one_by_one(apertium) -> list[str]:
    return [apertium.translate([s])[0].text for s in AWKWARD]


def test_batched_output_matches_one_call_per_sentence(apertium, one_by_one):
    # The separator scheme is safe iff a batch gives, for each sentence, exactly what
    # translating that sentence alone gives: nothing merged, shifted or lost.
    batched = apertium.translate(AWKWARD)
    assert len(batched) == len(AWKWARD)
    assert [r.text for r in batched] == one_by_one


def test_order_and_count_survive_shuffling_and_blank_inputs(apertium, one_by_one):
    order = list(reversed(range(len(AWKWARD))))
    inputs = [AWKWARD[i] for i in order] + ["", "   \n  "]
    out = apertium.translate(inputs)
    assert [r.text for r in out[: len(order)]] == [one_by_one[i] for i in order]
    assert [r.text for r in out[len(order) :]] == ["", ""]


def test_shards_give_the_same_result(apertium, one_by_one):
    sharded = ApertiumTranslator(timeout_s=60, workers=3)  # three streams side by side
    assert [r.text for r in sharded.translate(AWKWARD)] == one_by_one


def test_translation_is_english_and_keeps_numbers(apertium):
    (r,) = apertium.translate(["La ville a construit une école neuve en 2023 pour 15 millions de dollars."])
    words = set(r.text.lower().replace(".", "").split())
    assert {"the", "city", "new", "school"} <= words
    assert "2023" in r.text and "15" in r.text and not r.unknown


def test_unknown_words_are_stripped_counted_and_recorded(apertium):
    (r,) = apertium.translate(["Le zorglubophone de Vromblax a été présenté hier."])
    assert "*" not in r.text and "@" not in r.text and "#" not in r.text
    assert "zorglubophone" in r.text and "Vromblax" in r.text
    recorded = {w.lstrip("*@#") for w in r.unknown}
    assert {"zorglubophone", "Vromblax"} <= recorded
    assert all(w[0] in "*@#" for w in r.unknown)


def test_literal_marks_in_the_source_are_kept(apertium):
    (r,) = apertium.translate(["Suivez #Maroc et @ministere sur les réseaux."])
    assert "#" in r.text and "@" in r.text


def test_ligatures_are_spelled_out_for_the_dictionaries(apertium):
    (r,) = apertium.translate(["Le cœur du projet."])
    assert "heart" in r.text.lower() and not r.unknown


def test_strip_marks_rules():
    assert strip_marks("The *cœur of #set and #Apertium", "Le cœur de #Apertium") == (
        "The cœur of set and #Apertium",
        ["*cœur", "#set"],
    )
    # a literal hashtag followed by a word Apertium does not know: keep "#", drop "*"
    assert strip_marks("Follow #*Xyz now", "Suivez #Xyz maintenant") == ("Follow #Xyz now", ["*Xyz"])
    assert strip_marks("an e-mail a@b.fr stays", "un courriel a@b.fr reste") == ("an e-mail a@b.fr stays", [])
    assert strip_marks("@Unknown word", "mot") == ("Unknown word", ["@Unknown"])
    # without a mark in the source (the fast path): every run goes, its last mark is Apertium's
    assert strip_marks("Peu 4*h, #*Xyz **mot- a@b.fr", "Peu avant 4h") == (
        "Peu 4h, Xyz mot- a@b.fr",
        ["*h", "*Xyz", "*mot"],
    )
    assert strip_marks("Peu 4*h, #*Xyz", "Suivez * et # seuls") == strip_marks("Peu 4*h, #*Xyz", "Peu")


@pytest.mark.parametrize("seed", [1, 2])
def test_strip_marks_fast_path_agrees_with_the_general_rules(seed):
    import random

    from pipeline.translate import apertium as module

    rng = random.Random(seed)
    letters = ["*", "#", "a", "é", "4", " ", ".", "-", "'"]  # no "@" in the outputs
    for _ in range(3000):
        output = "".join(rng.choice(letters) for _ in range(rng.randint(1, 12)))
        source = "".join(rng.choice(letters[2:]) for _ in range(rng.randint(0, 8)))  # no mark
        fast = strip_marks(output, source)
        # the general rules, reached through a literal "@zq" the output cannot hold
        assert fast == strip_marks(output, source + " @zq")
        assert module._MARK_RUN.search(fast[0]) is None


def test_missing_apertium_names_the_debian_packages():
    with pytest.raises(ApertiumMissingError) as err:
        ApertiumTranslator(executable="apertium-not-installed-here")
    assert isinstance(err.value, ModelMissingError)
    for package in DEBIAN_PACKAGES:
        assert package in str(err.value)
    with pytest.raises(ApertiumMissingError, match="xx-yy"):
        ApertiumTranslator(pairs=("fr-es", "xx-yy"))


def test_provenance_fields(apertium):
    assert apertium.backend == "apertium"
    assert "fr-es" in apertium.model and "spa-eng" in apertium.model
    assert apertium.revision is None or "apertium-fr-es=" in apertium.revision
    assert apertium.params()["pivot"] == ["fr-es", "spa-eng"]


ROUTES_INSTALLED = shutil.which("apertium") is not None and ApertiumTranslator().routes.keys() == {
    "french",
    "spanish",
}


@pytest.fixture(scope="session")
def raw_apertium() -> ApertiumTranslator:
    return ApertiumTranslator(timeout_s=60, raw=True)


@pytest.mark.skipif(not ROUTES_INSTALLED, reason="apertium-fra-cat, -spa-cat, -eng-cat are not installed")
def test_words_unknown_to_the_pivot_go_through_catalan(apertium, raw_apertium):
    sentence = "Le gazoduc traverse la région et l'euthanasie divise les députés."
    (raw,) = raw_apertium.translate([sentence])
    (ours,) = apertium.translate([sentence])
    assert "gazoduc" in raw.text and "euthanasie" in raw.text  # the bare pivot leaves them French
    assert "gazoduc" not in ours.text and "euthanasie" not in ours.text
    assert "pipeline" in ours.text.lower() and "euthanasia" in ours.text.lower()
    assert not {w.lstrip("*@#") for w in ours.unknown} & {"gazoduc", "euthanasie"}
    assert apertium.params()["routes"]["french"] == ["fra-cat", "cat-spa"]
    assert raw_apertium.params()["raw"] is True and "routes" not in raw_apertium.params()


def test_a_large_call_starts_the_french_route_with_the_pivot(apertium, monkeypatch):
    if "french" not in apertium.routes:
        pytest.skip("the Catalan pairs are not installed")
    early: list[str] = []
    real = Stream.start_soon

    def start_soon(self: Stream) -> None:
        early.append(self.argvs[0][-1])  # the first program's data file names the mode
        real(self)

    monkeypatch.setattr(Stream, "start_soon", start_soon)
    fresh = ApertiumTranslator(timeout_s=60, tables=False)  # nothing remembered: the route has work
    sentences = ["Le gazoduc traverse la région."] * EAGER_ROUTES
    assert fresh.translate(sentences[:1]) and early == []  # one sentence: the route stays lazy
    large = fresh.translate(sentences)
    assert len(early) == 1 and "fra-cat" in early[0]  # the Spanish route (last step) stays lazy
    assert {r.text for r in large} == {apertium.translate(sentences[:1])[0].text}
    assert "pipeline" in large[0].text.lower()


@pytest.mark.skipif(not ROUTES_INSTALLED, reason="apertium-fra-cat, -spa-cat, -eng-cat are not installed")
@pytest.mark.parametrize("tables", [False, True])
def test_a_french_word_no_route_knows_is_not_asked_again_in_spanish(tables):
    fresh = ApertiumTranslator(timeout_s=60, tables=tables)
    (r,) = fresh.translate(["Le zorglubophone et le gazoduc traversent la région."])
    french, spanish = fresh.routes["french"], fresh.routes["spanish"]
    assert french.failed("zorglubophone") and not french.failed("gazoduc")
    assert "zorglubophone" in r.text and "pipeline" in r.text.lower()
    # es→en marks it again; the Spanish route is not asked (nor remembered as failed)
    assert "*zorglubophone" in r.unknown and not spanish.failed("zorglubophone")
    if spanish.live:  # a table answers at once (it has no answer: the route does not know it)
        assert spanish.unanswered(["zorglubophone"]) == ["zorglubophone"]


def test_names_are_not_looked_up_and_stay(apertium):
    (r,) = apertium.translate(["Tymosenko a été condamnée en octobre."])
    assert r.text.startswith("Tymosenko ") and r.text.split()[1].islower()  # no "Tymosenko Has"
    assert "*Tymosenko" in r.unknown


def test_no_mark_survives_after_a_digit(apertium):
    (r,) = apertium.translate(["Peu avant 4h, le train est parti."])
    assert "*" not in r.text and "4h" in r.text


def test_english_surface_is_cleaned(apertium, raw_apertium):
    sentence = "Les députés ont refusé une « idée » et leur projet a coûté 3,5 millions."
    (raw,) = raw_apertium.translate([sentence])
    (ours,) = apertium.translate([sentence])
    assert "have refused" in raw.text and "refused" in ours.text and "have refused" not in ours.text
    assert "has cost" in raw.text and "has cost" not in ours.text
    assert '"idea"' in ours.text and "3.5" in ours.text and "their project" in ours.text


def test_a_call_past_its_timeout_is_stopped():
    from pipeline.translate.base import TranslationError

    hasty = ApertiumTranslator(timeout_s=0.01)  # less than it takes to start the processes
    with pytest.raises(TranslationError, match="timed out"):
        hasty.translate(["Le chat dort."] * 50)
