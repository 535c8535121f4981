"""Checks on the hand-written reference files in ``corpus/references/``.

Every score in the project is measured against these files, so a slip in them
(a French paragraph that no longer matches its article, a number that is not in
the source, a summary keyed to a renamed file) silently skews every metric.
These tests catch such slips; the format itself is documented in
``corpus/README.md``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
ARTICLES_DIR = CORPUS / "articles"
REFS_DIR = CORPUS / "references"
SUMMARIES = REFS_DIR / "summaries.jsonl"
TRANSLATIONS = REFS_DIR / "translations.jsonl"
CLUSTERS = REFS_DIR / "clusters.jsonl"

MIN_WORDS, MAX_WORDS = 40, 90
MIN_PARAGRAPHS = 3

# " date 2024-02 " at the start of a line is a scraper's date marker, not article text.
_DATE_MARKER = re.compile(r"^date \d{4}(?:-\d{2}){0,2}\s+")
# French groups thousands with a space, a no-break space, a narrow no-break space or a dot
# ("75 000", "75.000"); a comma is the decimal mark, so it never joins groups.
_FR_NUMBER = re.compile(r"\d+(?:[ \u00a0\u202f.]\d{3})*(?!\d)")
# English groups thousands with a comma ("75,000").
_EN_NUMBER = re.compile(r"\d+(?:,\d{3})*(?!\d)")


def _article_texts() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8-sig") for p in sorted(ARTICLES_DIR.iterdir()) if p.is_file()}


ARTICLE_TEXTS = _article_texts()


def _load_jsonl(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: must be UTF-8 without a BOM"
    text = raw.decode("utf-8")
    assert text.endswith("\n"), f"{path.name}: the last line must end with a newline"
    rows = []
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        assert line.strip(), f"{path.name}:{number}: blank line"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            pytest.fail(f"{path.name}:{number}: not valid JSON: {err}")
        assert isinstance(row, dict), f"{path.name}:{number}: each line must be a JSON object"
        rows.append(row)
    assert rows, f"{path.name} is empty"
    return rows


def _numbers(text: str, pattern: re.Pattern[str]) -> set[str]:
    """Digit strings in ``text`` with thousands separators removed: "75 000" -> "75000"."""
    return {re.sub(r"\D", "", m.group()) for m in pattern.finditer(text)}


def _paragraph_lines(text: str) -> list[str]:
    """Non-empty lines of an article file, stripped, with a leading date marker removed."""
    lines = (_DATE_MARKER.sub("", line.strip()) for line in text.splitlines())
    return [line for line in lines if line]


def _words(text: str) -> list[str]:
    # Punctuation-only tokens such as a detached "«" are not words.
    return [w for w in text.split() if any(ch.isalnum() for ch in w)]


@pytest.fixture(scope="module")
def summaries() -> list[dict]:
    return _load_jsonl(SUMMARIES)


@pytest.fixture(scope="module")
def translations() -> list[dict]:
    return _load_jsonl(TRANSLATIONS)


def _sources(row: dict) -> list[str]:
    return row["members"] if row["kind"] == "event" else [row["target"]]


# --- summaries.jsonl -------------------------------------------------------


def test_summary_fields(summaries):
    for row in summaries:
        where = f"summary for {row.get('target')!r}"
        assert row.get("kind") in ("article", "event"), f"{where}: kind must be 'article' or 'event'"
        for key in ("target", "fr", "en"):
            assert isinstance(row.get(key), str) and row[key].strip(), (
                f"{where}: '{key}' must be a non-empty string"
            )
            assert row[key] == row[key].strip(), f"{where}: '{key}' has leading or trailing whitespace"
        if row["kind"] == "article":
            assert row["target"] in ARTICLE_TEXTS, f"{where}: no file with that stem in corpus/articles/"
            assert "members" not in row, f"{where}: only event summaries have members"
        else:
            members = row.get("members")
            assert isinstance(members, list) and len(members) >= 2, f"{where}: an event needs 2+ members"
            assert len(set(members)) == len(members), f"{where}: duplicate members"
            for name in members:
                assert name in ARTICLE_TEXTS, (
                    f"{where}: member {name!r} is not a file stem in corpus/articles/"
                )
            assert row["target"] not in ARTICLE_TEXTS, f"{where}: an event target is a cluster slug"


def test_every_article_has_exactly_one_summary(summaries):
    keyed = [row["target"] for row in summaries if row["kind"] == "article"]
    assert sorted(keyed) == sorted(ARTICLE_TEXTS), "one article summary per file in corpus/articles/"
    events = [row["target"] for row in summaries if row["kind"] == "event"]
    assert len(events) == len(set(events)), "duplicate event targets"


def test_event_summaries_match_gold_clusters(summaries):
    if not CLUSTERS.exists():
        pytest.skip("corpus/references/clusters.jsonl is not there yet")
    clusters = {row["cluster"]: set(row["members"]) for row in _load_jsonl(CLUSTERS)}
    for row in summaries:
        if row["kind"] == "event":
            assert row["target"] in clusters, f"event {row['target']!r} is not a cluster in clusters.jsonl"
            assert set(row["members"]) == clusters[row["target"]], f"event {row['target']!r}: members differ"


def test_summary_lengths(summaries):
    for row in summaries:
        for lang in ("fr", "en"):
            n = len(_words(row[lang]))
            assert MIN_WORDS <= n <= MAX_WORDS, (
                f"{row['target']} ({lang}): {n} words, want {MIN_WORDS}-{MAX_WORDS}"
            )


def test_summary_numbers_come_from_the_sources(summaries):
    for row in summaries:
        source = "\n".join(ARTICLE_TEXTS[name] for name in _sources(row))
        in_source = _numbers(source, _FR_NUMBER)
        fr_numbers = _numbers(row["fr"], _FR_NUMBER)
        missing = fr_numbers - in_source
        assert not missing, f"{row['target']}: numbers not in the source article(s): {sorted(missing)}"
        # The English version states the same numbers, no more, no fewer.
        assert _numbers(row["en"], _EN_NUMBER) == fr_numbers, f"{row['target']}: en and fr numbers differ"


def test_summary_proper_names_come_from_the_sources(summaries):
    """Capitalised words inside a sentence (names, acronyms) are spelled as the source spells them."""
    for row in summaries:
        source = "\n".join(ARTICLE_TEXTS[name] for name in _sources(row))
        for sentence in re.split(r"(?<=[.!?])\s+", row["fr"]):
            tokens = re.findall(r"[\w’'-]+", sentence)
            for token in tokens[1:]:
                # "l’USTDA" -> "USTDA": the elided article is lower case, the name after it is checked.
                for part in re.split(r"[’']", token):
                    if part[:1].isupper():
                        assert re.search(rf"(?<!\w){re.escape(part)}(?!\w)", source), (
                            f"{row['target']}: {part!r} does not occur in the source article(s)"
                        )


def test_summaries_end_as_sentences(summaries):
    for row in summaries:
        for lang in ("fr", "en"):
            assert row[lang].rstrip('»"” ')[-1:] in ".!?", f"{row['target']} ({lang}) does not end a sentence"


# --- translations.jsonl ----------------------------------------------------


def test_translation_fields(translations):
    for row in translations:
        where = f"translation {row.get('article')!r} #{row.get('paragraph')!r}"
        assert row.get("article") in ARTICLE_TEXTS, f"{where}: not a file stem in corpus/articles/"
        paragraph = row.get("paragraph")
        assert isinstance(paragraph, int) and not isinstance(paragraph, bool) and paragraph >= 0, (
            f"{where}: paragraph must be a 0-based integer"
        )
        for key in ("fr", "en"):
            assert isinstance(row.get(key), str) and row[key].strip(), (
                f"{where}: '{key}' must be a non-empty string"
            )
            assert row[key] == row[key].strip(), f"{where}: '{key}' has leading or trailing whitespace"
        assert row["fr"] != row["en"], f"{where}: en is a copy of fr"


def test_translation_french_is_a_whole_paragraph_of_its_article(translations):
    for row in translations:
        text = ARTICLE_TEXTS[row["article"]]
        where = f"{row['article']} #{row['paragraph']}"
        assert row["fr"] in text, f"{where}: 'fr' does not occur verbatim in the article file"
        assert row["fr"] in _paragraph_lines(text), f"{where}: 'fr' is a fragment, not a whole paragraph"


def test_translation_indices_follow_the_article_order(translations):
    by_article: dict[str, list[dict]] = {}
    for row in translations:
        by_article.setdefault(row["article"], []).append(row)
    for name, rows in by_article.items():
        indices = [row["paragraph"] for row in rows]
        assert len(set(indices)) == len(indices), f"{name}: a paragraph index is used twice"
        texts = [row["fr"] for row in rows]
        assert len(set(texts)) == len(texts), f"{name}: a paragraph is translated twice"
        lines = _paragraph_lines(ARTICLE_TEXTS[name])
        ordered = sorted(rows, key=lambda row: row["paragraph"])
        # A 'fr' that is not a paragraph of the file is reported by the test above.
        positions = [lines.index(row["fr"]) for row in ordered if row["fr"] in lines]
        assert positions == sorted(positions), (
            f"{name}: paragraph indices disagree with the order in the file"
        )


def test_first_paragraphs_of_every_article_are_translated(translations):
    for name in ARTICLE_TEXTS:
        indices = {row["paragraph"] for row in translations if row["article"] == name}
        assert set(range(MIN_PARAGRAPHS)) <= indices, (
            f"{name}: paragraphs 0-{MIN_PARAGRAPHS - 1} need references"
        )


def test_translations_keep_numbers_and_length(translations):
    for row in translations:
        where = f"{row['article']} #{row['paragraph']}"
        assert _numbers(row["en"], _EN_NUMBER) == _numbers(row["fr"], _FR_NUMBER), f"{where}: numbers differ"
        # A faithful English rendering of French prose runs at 0.7-1.1x its word count; far outside
        # that range means a dropped or duplicated sentence.
        ratio = len(_words(row["en"])) / len(_words(row["fr"]))
        assert 0.6 <= ratio <= 1.3, f"{where}: en/fr word ratio {ratio:.2f}"


# --- the checks themselves --------------------------------------------------


def test_number_extraction_treats_thousands_separators_alike():
    assert _numbers("plus de 75.000 étudiants", _FR_NUMBER) == {"75000"}
    assert _numbers("plus de 75 000 étudiants", _FR_NUMBER) == {"75000"}
    assert _numbers("plus de 75\u202f000 étudiants", _FR_NUMBER) == {"75000"}
    assert _numbers("du 11 au 21 février 2024, 15 participants", _FR_NUMBER) == {"11", "21", "2024", "15"}
    assert _numbers("1,5 million", _FR_NUMBER) == {"1", "5"}
    assert _numbers("more than 75,000 students in 2024", _EN_NUMBER) == {"75000", "2024"}


def test_paragraph_lines_drop_the_date_marker():
    assert _paragraph_lines(" date 2024-02 Washington — Une délégation\n\n|\n") == [
        "Washington — Une délégation",
        "|",
    ]


def test_every_reference_paragraph_is_found_in_the_ingested_article(translations, seed_articles):
    """Scorers pair a reference with system output by normalised French text: check that pairing works.

    The ingest stage normalises apostrophes, quotes and spaces with the same function the scorers
    apply to references, so each reference must equal one ingested paragraph after normalisation.
    """
    from pipeline.ingest.decoding import normalize_text

    paragraphs = {article.name: article.paragraph_texts() for article in seed_articles}
    for row in translations:
        found = paragraphs[row["article"]].count(normalize_text(row["fr"]))
        assert found == 1, f"{row['article']} #{row['paragraph']}: matches {found} ingested paragraphs"
