"""Summarise stage: per-article and per-event French summaries, neural or offline.

Backends (``summarize.backend``):

* ``auto`` (default): the catalogue's seq2seq model when it loads, otherwise the
  offline extractive backend, and the stage's notes say so loudly;
* ``neural``: the seq2seq model or an error saying how to get it;
* ``offline``: extractive/compressive selection (:mod:`.offline`) with a learned sentence
  scorer (:mod:`.scorer`, trained on OrangeSum) or the unsupervised centrality scorer; an
  article's summary may open with its title made a sentence (``summarize.headline``).

Every article gets a summary; every cluster of two or more articles
(``clusters.jsonl`` from dedup) gets one multi-document summary, built after
dropping the passages dedup marked as repeated.  Each summary records its
provenance and the facts the faithfulness guard could not find in its sources.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline.cache import Cache, NullCache, memoize_batch, open_cache
from pipeline.catalogue import UnknownModelError, get_card
from pipeline.fingerprints import local_files, package_version, summarize_fingerprint
from pipeline.nlp import ModelMissingError, load_spacy
from pipeline.progress import progress
from pipeline.records import Article, Cluster, Passage, Provenance, Summary, SummarySentence
from pipeline.rundir import ARTICLES, CLUSTERS, PASSAGES, SUMMARIES, RunDir
from pipeline.settings import SummarizeSettings
from pipeline.stage import STAGES, Stage, StageResult
from pipeline.summarize.embeddings import embed, load_sentence_encoder
from pipeline.summarize.events import attribute, event_members, repeated_spans, skipper
from pipeline.summarize.faithfulness import FactChecker
from pipeline.summarize.neural import NeuralSummarizer, split_sentences
from pipeline.summarize.offline import CENTRALITY, OfflineSummarizer
from pipeline.summarize.rerank import NO_RERANKER, load_reranker
from pipeline.summarize.scorer import load_scorer

__all__ = [
    "BACKENDS",
    "NeuralBackend",
    "OfflineBackend",
    "SummarizeStage",
    "build_offline",
    "choose_backend",
    "make_summaries",
    "summarize_articles",
]

BACKENDS = ("auto", "neural", "offline")
# Groups per cache commit: a killed run loses at most this many summaries' work.
_COMMIT_EVERY = 8
Skip = Callable[[str, int, int], bool]


@dataclass
class Group:
    """What one summary is made from: one article, or the reports of one event."""

    kind: str  # "article" | "event"
    target: str  # article id or cluster id
    members: list[Article]
    skip: Skip | None = None

    def spans(self) -> list[tuple[Article, int, int]]:
        return [
            (a, s.start, s.end)
            for a in self.members
            for s in a.sentences
            if self.skip is None or not self.skip(a.id, s.start, s.end)
        ]

    def cache_input(self) -> str:
        """Everything the summary depends on besides the backend: the cache key's input.

        Whole articles (text, sentence spans, entities, metadata), the group's kind and
        target (they name the summary) and the sentences dedup said to skip.
        """
        return json.dumps(
            {
                "kind": self.kind,
                "target": self.target,
                # Not the file path: the same article read from elsewhere has the same summary.
                "members": [{**a.to_dict(), "source": None} for a in self.members],
                "spans": [(a.id, start, end) for a, start, end in self.spans()],
            },
            sort_keys=True,
            ensure_ascii=False,
        )

    def input_text(self) -> str:
        """The sentences the summariser reads, one a line; hashed into the provenance."""
        return "\n".join(a.text[start:end].strip() for a, start, end in self.spans())


class OfflineBackend:
    def __init__(self, summarizer: OfflineSummarizer, model: str | None, revision: str | None):
        self.summarizer = summarizer
        self.name = "offline-compressive" if summarizer.compress else "offline-extractive"
        self.model = model  # the learned scorer's catalogue key, or the centrality scorer's encoder
        self.revision = revision

    def params(self) -> dict[str, object]:
        return self.summarizer.params()

    def summarize(self, groups: Sequence[Group]) -> list[list[SummarySentence]]:
        batch = self.summarizer.summarize_batch([(g.members, g.skip) for g in groups])
        return [[SummarySentence(e.text, e.sources) for e in extracts] for extracts in batch]


class NeuralBackend:
    name = "neural"

    def __init__(self, summarizer: NeuralSummarizer):
        self.summarizer = summarizer
        card = summarizer.card
        self.model = card.model_id
        self.revision = None if card.is_local else card.revision
        self.last_stats: list[dict[str, object]] = []

    def params(self) -> dict[str, object]:
        return self.summarizer.params()

    def summarize(self, groups: Sequence[Group]) -> list[list[SummarySentence]]:
        documents = [[a.text[s:e].strip() for a, s, e in g.spans()] for g in groups]
        outputs = self.summarizer.summarize(documents)
        self.last_stats = [{"chunks": o.chunks, "levels": o.levels, "trimmed": o.trimmed} for o in outputs]
        return [
            [SummarySentence(s, attribute(s, g.spans())) for s in split_sentences(o.text)]
            for g, o in zip(groups, outputs, strict=True)
        ]


def build_offline(config: SummarizeSettings) -> tuple[OfflineSummarizer, list[str]]:
    """The offline summariser for ``config``, and notes on what it had to do without."""
    notes: list[str] = []
    scorer = None
    if config.scorer != CENTRALITY:
        try:
            scorer = load_scorer(config.scorer)
        except (ModelMissingError, UnknownModelError) as exc:
            notes.append(f"offline summariser falls back to the unsupervised centrality scorer: {exc}")
    reranker = None
    if scorer is not None and config.reranker != NO_RERANKER:
        try:
            reranker = load_reranker(config.reranker)
        except (ModelMissingError, UnknownModelError) as exc:
            notes.append(f"offline summariser picks sentences by MMR alone (no summary reranker): {exc}")
    encode = None
    if scorer is None:  # only the centrality scorer uses sentence embeddings
        try:
            encoder = load_sentence_encoder(config.embedding_model)
            encode = lambda texts: embed(encoder, texts)  # noqa: E731
        except (ModelMissingError, UnknownModelError) as exc:
            notes.append(
                f"offline summariser runs without sentence embeddings (TF-IDF similarity only): {exc}"
            )
    summarizer = OfflineSummarizer(
        scorer,
        encode,
        load_spacy(config.spacy_model) if config.compress else None,
        reranker=reranker,
        headline=config.headline,
        target_words=config.target_words,
        mmr_lambda=config.mmr_lambda,
        compress=config.compress,
    )
    return summarizer, notes


def choose_backend(config: SummarizeSettings, notes: list[str]) -> OfflineBackend | NeuralBackend:
    """The backend ``config.backend`` asks for; ``auto`` falls back to offline with a loud note."""
    if config.backend not in BACKENDS:
        raise ValueError(f"summarize.backend must be one of {', '.join(BACKENDS)}, not {config.backend!r}")
    if config.backend in ("auto", "neural"):
        try:
            card = get_card(config.model, task="summarize")
            # `auto` only uses weights already on this machine (no multi-minute download,
            # no network retries); `neural` may fetch them from the hub.
            return NeuralBackend(
                NeuralSummarizer.load(
                    card,
                    target_words=config.target_words,
                    batch_size=config.batch_size,
                    max_input_tokens=config.max_input_tokens,
                    device=config.device,
                    local_files_only=config.backend == "auto",
                )
            )
        except (ModelMissingError, UnknownModelError) as exc:
            if config.backend == "neural":
                raise
            notes.append(
                f"NEURAL SUMMARISER UNAVAILABLE: summaries were made by the OFFLINE extractive backend. {exc}"
            )
    summarizer, more = build_offline(config)
    notes.extend(more)
    if summarizer.scorer is not None:
        return OfflineBackend(summarizer, summarizer.scorer.key, f"sha256:{summarizer.scorer.sha256}")
    encoder = None
    with contextlib.suppress(UnknownModelError):
        encoder = get_card(config.embedding_model, task="embed")
    return OfflineBackend(
        summarizer,
        encoder.model_id if encoder and summarizer.encode else None,
        encoder.revision if encoder and summarizer.encode else None,
    )


def event_groups(
    articles: Sequence[Article], clusters: Sequence[Cluster], passages: Sequence[Passage]
) -> list[Group]:
    by_id = {a.id: a for a in articles}
    groups = []
    for cluster in clusters:
        members = event_members(cluster, by_id)
        if len(members) >= 2:
            skip = skipper(repeated_spans(passages, members))
            groups.append(Group("event", cluster.id, members, skip))
    return groups


def summarize_articles(
    articles: Sequence[Article],
    config: SummarizeSettings,
    clusters: Sequence[Cluster] | None = None,
    passages: Sequence[Passage] = (),
    backend: OfflineBackend | NeuralBackend | None = None,
    cache: Cache | None = None,
) -> tuple[list[Summary], StageResult]:
    """Library entry point: summaries of ``articles`` (and of the events in ``clusters``).

    Summaries go through ``cache`` (:mod:`pipeline.cache`), keyed by the settings
    and models (:func:`_summary_key`) and everything the summary is made from: an
    article or event summarised in an earlier run is not summarised again, and the
    backend is loaded only if something is new.  They are committed in small
    batches, so a killed run keeps what it had done.
    """
    notes: list[str] = []
    cache = cache or NullCache()
    groups = [Group("article", a.id, [a]) for a in articles]
    if clusters is None:
        notes.append("no clusters.jsonl (dedup has not run): article summaries only, no event summaries")
    else:
        groups += event_groups(articles, clusters, passages)
    # Made on first use (a cache miss), then kept: a run served from the cache loads no model.
    checker = functools.cache(lambda: FactChecker(load_spacy(config.spacy_model)))
    chosen = functools.cache(lambda: backend or choose_backend(config, notes))
    by_input: dict[str, Group] = {}  # the current chunk's groups, by cache input

    def compute(inputs: list[str]) -> list[dict]:
        todo = [by_input[text] for text in inputs]
        made = make_summaries(todo, chosen(), checker())
        return [summary.to_dict() for summary in made]

    key_model, key_revision, key_params = _summary_key(config, backend)
    summaries: list[Summary] = []
    hits = cache.hits
    # Commit at least every few groups (a kill loses little), in whole neural batches.
    every = max(_COMMIT_EVERY, config.batch_size)
    for start in progress(range(0, len(groups), every), "summarize", unit="chunk"):
        chunk = groups[start : start + every]
        inputs = [g.cache_input() for g in chunk]  # equal inputs are summarised once
        by_input = dict(zip(inputs, chunk, strict=True))
        rows = memoize_batch(cache, "summary", key_model, key_revision, key_params, inputs, compute)
        summaries.extend(Summary.from_dict(row) for row in rows)
    cached = cache.hits - hits
    made_by, model, revision = _made_by(summaries, backend)
    if summaries and cached == len(summaries) and config.backend == "auto" and made_by != "neural":
        # No backend was loaded, so choose_backend did not say it; say it here.
        notes.append(
            f"NEURAL SUMMARISER UNAVAILABLE: these summaries (all from the cache) were made by the "
            f"{made_by} backend"
        )

    unsupported = sum(len(s.unsupported) for s in summaries)
    checked = sum(s.checked_facts for s in summaries)
    empty = sum(1 for s in summaries if not s.text)
    if cached:
        notes.append(f"{cached} of {len(summaries)} summaries taken from the cache (inputs unchanged)")
    if empty:
        notes.append(f"{empty} summaries are empty (no usable sentence in their input)")
    if unsupported:
        notes.append(
            f"faithfulness: {unsupported} of {checked} facts in summaries not found in their sources"
        )
    result = StageResult(
        counts={
            "articles": len(articles),
            "events": sum(1 for g in groups if g.kind == "event"),
            "out": len(summaries),
            "cached": cached,
            "checked_facts": checked,
            "unsupported_facts": unsupported,
        },
        backend=made_by,
        model=model,
        revision=revision,
        notes=notes,
    )
    return summaries, result


def _summary_key(
    config: SummarizeSettings, backend: OfflineBackend | NeuralBackend | None
) -> tuple[str, str | None, dict[str, object]]:
    """(model, revision, params) of the summaries' cache keys, known without loading a model.

    With a backend chosen by the settings, the key is the settings and what they point at
    (:func:`pipeline.fingerprints.summarize_models`: the catalogue card, package versions,
    local files, whether the neural weights are present, which decides ``auto``); a run
    whose summaries are all cached then loads no model.  A backend given by the caller is
    keyed by its own identity.  Either way the code and spaCy model around it (sentence
    splitting, compression, the faithfulness guard) are part of the key.
    """
    around = {
        "code": STAGES["summarize"].code_version(),
        "spacy": f"{config.spacy_model}@{package_version(config.spacy_model)}",
    }
    if backend is None:
        settings = {"settings": dataclasses.asdict(config), "models": summarize_fingerprint(config)}
        return config.model, None, {**around, **settings}
    params = {
        **around,
        "backend": backend.name,
        "local_files": local_files(backend.model) if backend.model else None,  # a model retrained in place
        **backend.params(),
    }
    return backend.model or backend.name, backend.revision, params


def _made_by(
    summaries: Sequence[Summary], backend: OfflineBackend | NeuralBackend | None
) -> tuple[str | None, str | None, str | None]:
    """(backend, model, revision) that made the summaries, read from their provenance
    (they may all have come from the cache, with no backend loaded in this run)."""
    if summaries:
        made = summaries[0].provenance
        return made.backend, made.model, made.revision
    if backend is not None:
        return backend.name, backend.model, backend.revision
    return None, None, None


def make_summaries(
    groups: Sequence[Group], backend: OfflineBackend | NeuralBackend, checker: FactChecker
) -> list[Summary]:
    """Summarise ``groups`` with ``backend`` and check each summary's facts against its sources."""
    summaries = []
    params = backend.params()
    for group, picked in zip(groups, backend.summarize(groups), strict=True):
        text = " ".join(s.text for s in picked)
        sources = [a.text for a in group.members]
        if any(o.part == "title" for s in picked for o in s.sources):  # the summary opens with a headline
            sources += [a.title for a in group.members if a.title]
        facts = checker(text, sources)
        summaries.append(
            Summary(
                id=f"summary-{group.target}",
                kind=group.kind,  # type: ignore[arg-type]
                target=group.target,
                text=text,
                sentences=picked,
                provenance=Provenance(
                    backend=backend.name,
                    model=backend.model,
                    revision=backend.revision,
                    params=params,
                    input_sha256=hashlib.sha256(group.input_text().encode("utf-8")).hexdigest(),
                ),
                unsupported=facts.unsupported,
                checked_facts=facts.checked,
            )
        )
    return summaries


class SummarizeStage(Stage):
    name = "summarize"

    def run(self, run: RunDir) -> StageResult:
        articles = run.read_records(ARTICLES, Article)
        clusters = run.read_records(CLUSTERS, Cluster) if run.exists(CLUSTERS) else None
        passages = run.read_records(PASSAGES, Passage) if run.exists(PASSAGES) else []
        with open_cache(self.settings) as cache:
            summaries, result = summarize_articles(
                articles, self.settings.summarize, clusters, passages, cache=cache
            )
        run.write_records(SUMMARIES, summaries)
        return result
