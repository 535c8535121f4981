"""The score stage: every metric against the references, with signatures, CIs, n and baselines.

``score_run(run, settings)`` returns the ``scores.json`` document;
``ScoreStage`` writes it.  Whatever the run lacks (no clusters, no
translations, ...) is skipped with a note, never an error.  Every scored item
keeps its hypothesis and reference texts, so the report can be regenerated
from the run directory alone.

Layout of ``scores.json`` (keys sorted; a section is ``null`` when it could not be scored):

``references``
    where the reference set came from, file hashes, counts, missing files
``bootstrap``, ``versions``, ``notes``
    the resampling settings, library versions, and what was skipped and why
``summaries.article`` / ``summaries.event`` (French), ``summaries_en.*`` (English versions), ``translations``
    ``metrics`` (key, label, short name), ``systems`` (each: name, role "system" or
    "baseline", provenance, n, ``metrics[key]`` = {score, ci, ci_note, n, signature, items
    (per-item scores), extra}, ``items`` (target, hypothesis, reference, ...)),
    ``comparisons`` (paired bootstrap of every system against every baseline),
    ``unmatched`` references; translations also have ``matching`` counts and
    ``baselines_unavailable``
``clustering``
    n, precision/recall/F1/ARI (0-1), predicted and gold labels, best gold match per cluster
``faithfulness``
    per summary system: share of checked facts found in the sources, and the unsupported ones
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eval.baselines import (
    APERTIUM,
    DESCRIPTIONS,
    LEAD,
    RANDOM,
    BaselineUnavailable,
    apertium_translate,
    lead_n,
    random_n,
)
from eval.bootstrap import BootstrapSettings
from eval.matching import match_cluster, match_paragraph, predicted_labels
from eval.metrics import (
    ROUGE_TYPES,
    Bleu,
    Chrf,
    Faithfulness,
    Metric,
    Rouge,
    clustering_metrics,
    rouge_metrics,
)
from eval.metrics.base import package_version
from eval.references import ReferenceSet, load_references
from eval.runfiles import RunRecords, load_run
from pipeline.progress import progress
from pipeline.records import Article, Provenance, Summary, Translation
from pipeline.rundir import ARTICLES, CLUSTERS, SCORES, SUMMARIES, TRANSLATIONS, RunDir
from pipeline.settings import ScoreSettings, Settings
from pipeline.stage import Stage, StageResult

FORMAT_VERSION = 1


@dataclass
class System:
    """One system's (or baseline's) outputs for the reference items it covers."""

    name: str
    role: str  # "system" | "baseline"
    description: str
    provenance: dict[str, Any] | None
    items: list[dict[str, Any]] = field(default_factory=list)  # target, hypothesis, reference, ...

    def pairs(self) -> list[tuple[str, str]]:
        return [(item["hypothesis"], item["reference"]) for item in self.items]


def system_name(provenance: Provenance) -> str:
    """``backend:model`` (or the backend alone), the label outputs are grouped by."""
    return f"{provenance.backend}:{provenance.model}" if provenance.model else provenance.backend


def _provenance_dict(provenance: Provenance) -> dict[str, Any]:
    data = provenance.to_dict()
    data.pop("input_sha256", None)  # differs per output, says nothing about the system
    return data


def _group(outputs: Sequence[Summary] | Sequence[Translation]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = defaultdict(list)
    for output in outputs:
        groups[system_name(output.provenance)].append(output)
    return dict(sorted(groups.items()))


def _finite(value: Any) -> Any:
    """JSON has no NaN: non-finite floats become null, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


# --- scoring helpers -----------------------------------------------------------------


def _score_systems(
    systems: list[System], metrics: Sequence[Metric], bootstrap: BootstrapSettings
) -> list[dict[str, Any]]:
    out = []
    # Bootstrap resampling of every metric is what takes time here: one tick per system.
    for system in progress(systems, "score", unit="system"):
        pairs = system.pairs()
        out.append(
            {
                "name": system.name,
                "role": system.role,
                "description": system.description,
                "provenance": system.provenance,
                "n": len(pairs),
                "metrics": {m.key: m.score(pairs, bootstrap).to_dict() for m in metrics},
                "items": system.items,
            }
        )
    return out


def _comparisons(
    systems: list[System], metrics: Sequence[Metric], bootstrap: BootstrapSettings
) -> list[dict[str, Any]]:
    """Paired bootstrap of each system against each baseline, on the targets both cover."""
    out = []
    baselines = [s for s in systems if s.role == "baseline"]
    for system in (s for s in systems if s.role == "system"):
        mine = {item["target"]: item for item in system.items}
        for baseline in baselines:
            theirs = {item["target"]: item for item in baseline.items}
            common = [t for t in mine if t in theirs]
            a = [(mine[t]["hypothesis"], mine[t]["reference"]) for t in common]
            b = [(theirs[t]["hypothesis"], theirs[t]["reference"]) for t in common]
            for metric in metrics:
                result = metric.compare(a, b, bootstrap).to_dict()
                out.append({"system": system.name, "baseline": baseline.name, "metric": metric.key, **result})
    return out


def _section(
    systems: list[System], metrics: Sequence[Metric], bootstrap: BootstrapSettings, **extra: Any
) -> dict[str, Any]:
    return {
        **extra,
        "metrics": [{"key": m.key, "label": m.label, "short": m.short} for m in metrics],
        "systems": _score_systems(systems, metrics, bootstrap),
        "comparisons": _comparisons(systems, metrics, bootstrap),
    }


# --- summaries ----------------------------------------------------------------------


def _summary_section(
    kind: str,
    records: RunRecords,
    references: ReferenceSet,
    settings: Settings,
    bootstrap: BootstrapSettings,
    notes: list[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The French summary scores and the English-version scores for ``kind`` (article | event)."""
    by_name = records.article_by_name()
    by_id = records.article_by_id()
    gold = {c.slug: c.members for c in references.clusters}
    refs = [r for r in references.summaries if r.kind == kind]

    # Each reference -> the run's target (article id or predicted cluster id) and a baseline article.
    targets: list[tuple[Any, str | None, Article | None, dict[str, Any]]] = []
    unmatched: list[dict[str, str]] = []
    for ref in refs:
        if kind == "article":
            article = by_name.get(ref.target)
            if article is None:
                unmatched.append({"target": ref.target, "why": "article not in this run"})
                continue
            targets.append((ref, article.id, article, {}))
        else:
            members = list(ref.members or gold.get(ref.target, ()))
            present = [by_name[m] for m in members if m in by_name]
            if not present:
                unmatched.append({"target": ref.target, "why": "none of its member articles is in this run"})
                continue
            match = match_cluster(ref.target, members, records.clusters, by_id)
            info = {
                "cluster_id": match.cluster_id,
                "overlap": match.overlap,
                "cluster_members": list(match.members),
            }
            if match.cluster_id is None:
                why = "no predicted cluster shares a member" if records.clusters else "no clusters in the run"
                unmatched.append({"target": ref.target, "why": why})
            targets.append((ref, match.cluster_id, present[0], info))

    translations_of = {t.target: t for t in records.translations if t.kind == "summary"}
    systems: list[System] = []
    english: list[System] = []
    for name, summaries in _group([s for s in records.summaries if s.kind == kind]).items():
        by_target = {s.target: s for s in summaries}
        system = System(name, "system", "summaries in the run", _provenance_dict(summaries[0].provenance))
        english_groups: dict[str, System] = {}
        for ref, target, _, info in targets:
            summary = by_target.get(target) if target else None
            if summary is None:
                continue
            item = {
                "target": ref.target,
                "summary_id": summary.id,
                "hypothesis": summary.text,
                "reference": ref.fr,
                "reference_en": ref.en,
                "unsupported": list(summary.unsupported),
                "checked_facts": summary.checked_facts,
                **info,
            }
            system.items.append(item)
            translation = translations_of.get(summary.id)
            if translation is not None and ref.en:
                tname = f"{name} → {system_name(translation.provenance)}"
                english_groups.setdefault(
                    tname,
                    System(
                        tname,
                        "system",
                        "English version of the summary (translate stage)",
                        _provenance_dict(translation.provenance),
                    ),
                ).items.append({**item, "hypothesis": translation.text, "reference": ref.en})
        systems.append(system)
        english.extend(english_groups.values())

    if targets:
        for baseline, make in ((LEAD, lead_n), (RANDOM, None)):
            system = System(baseline, "baseline", DESCRIPTIONS[baseline], None)
            for ref, _, article, _ in targets:
                assert article is not None
                text = make(article) if make else random_n(article, seed=settings.score.seed)
                base_info = {"source_article": article.name}
                system.items.append(
                    {"target": ref.target, "hypothesis": text, "reference": ref.fr, **base_info}
                )
            systems.append(system)
    if unmatched:
        notes.append(f"{len(unmatched)} {kind} reference summaries could not be matched to this run")
    french = _section(
        systems,
        rouge_metrics(),
        bootstrap,
        n_references=len(refs),
        unmatched=unmatched,
    )
    english_metrics = [Rouge(t, "rouge-default") for t in ROUGE_TYPES]
    return french, _section(english, english_metrics, bootstrap, n_references=sum(bool(r.en) for r in refs))


# --- translations -------------------------------------------------------------------


def _translation_section(
    records: RunRecords,
    references: ReferenceSet,
    settings: Settings,
    bootstrap: BootstrapSettings,
    notes: list[str],
) -> dict[str, Any]:
    by_name = records.article_by_name()
    matched: list[dict[str, Any]] = []  # one per reference found in this run
    unmatched: list[dict[str, Any]] = []
    methods: dict[str, int] = defaultdict(int)
    for ref in references.translations:
        article = by_name.get(ref.article)
        if article is None:
            unmatched.append({"target": f"{ref.article}#{ref.paragraph}", "why": "article not in this run"})
            methods["unmatched"] += 1
            continue
        paragraphs = article.paragraph_texts()
        match = match_paragraph(ref.fr, ref.paragraph, paragraphs)
        methods[match.method] += 1
        if match.index is None:
            unmatched.append({"target": f"{ref.article}#{ref.paragraph}", "why": "paragraph not found"})
            continue
        matched.append(
            {
                "target": f"{ref.article}#{ref.paragraph}",
                "article": ref.article,
                "article_id": article.id,
                "paragraph": ref.paragraph,
                "matched_paragraph": match.index,
                "match": match.method,
                "similarity": match.similarity,
                "source": paragraphs[match.index],
                "reference": ref.en,
            }
        )
    if methods.get("index"):
        notes.append(
            f"{methods['index']} reference translations were matched by paragraph index only "
            "(their French text differs from the article's): check them in the report"
        )

    systems: list[System] = []
    for name, translations in _group([t for t in records.translations if t.kind == "article"]).items():
        by_target = {t.target: t for t in translations}
        system = System(
            name, "system", "article translations in the run", _provenance_dict(translations[0].provenance)
        )
        for item in matched:
            translation = by_target.get(item["article_id"])
            if translation is None or item["matched_paragraph"] >= len(translation.paragraphs):
                continue
            span = translation.paragraphs[item["matched_paragraph"]]
            system.items.append({**item, "hypothesis": translation.text[span.start : span.end]})
        systems.append(system)

    unavailable: dict[str, str] = {}
    if matched and not settings.score.apertium_baseline:
        unavailable[APERTIUM] = "baseline not computed: score.apertium_baseline = false"
    elif matched:
        try:
            outputs, provenance = apertium_translate([ref["source"] for ref in matched], settings)
        except BaselineUnavailable as exc:
            unavailable[APERTIUM] = f"baseline unavailable: {exc}"
            notes.append(f"{APERTIUM}: {unavailable[APERTIUM]}")
        else:
            baseline = System(APERTIUM, "baseline", DESCRIPTIONS[APERTIUM], _provenance_dict(provenance))
            baseline.items = [{**ref, "hypothesis": out} for ref, out in zip(matched, outputs, strict=True)]
            raw = {item["target"]: item["hypothesis"] for item in baseline.items}
            for system in systems:
                if system.items and all(raw.get(i["target"]) == i["hypothesis"] for i in system.items):
                    notes.append(f"{system.name}: its translations are the raw Apertium output ({APERTIUM})")
            systems.append(baseline)
    return _section(
        systems,
        [Bleu(), Chrf()],
        bootstrap,
        n_references=len(references.translations),
        matching=dict(sorted(methods.items())),
        unmatched=unmatched,
        baselines_unavailable=unavailable,
    )


# --- clustering, faithfulness ------------------------------------------------------------


def _clustering_section(
    records: RunRecords, references: ReferenceSet, notes: list[str]
) -> dict[str, Any] | None:
    gold = references.gold_labels()
    pred = predicted_labels(records.articles, records.clusters)
    names = sorted(n for n in pred if n in gold)
    if not names:
        notes.append("clustering not scored: no article of the run is in the gold clusters")
        return None
    triples = [(n, pred[n], gold[n]) for n in names]
    try:
        metrics = {m.key: m.score(triples).to_dict() for m in clustering_metrics()}
    except ImportError as exc:
        notes.append(f"clustering metrics unavailable: {exc}")
        return None
    by_id = records.article_by_id()
    matches = [
        {"gold": c.slug, **vars(match_cluster(c.slug, c.members, records.clusters, by_id))}
        for c in references.clusters
    ]
    for m in matches:
        m["members"] = list(m["members"])
    return {
        "n": len(names),
        "metrics": metrics,
        "predicted": {n: pred[n] for n in names},
        "gold": {n: gold[n] for n in names},
        "not_in_gold": sorted(n for n in pred if n not in gold),
        "matches": matches,
    }


def _faithfulness_section(records: RunRecords, bootstrap: BootstrapSettings) -> dict[str, Any]:
    metric = Faithfulness()
    systems = []
    for name, summaries in _group(records.summaries).items():
        checked = [s for s in summaries if s.checked_facts > 0]
        items = [
            {
                "summary_id": s.id,
                "kind": s.kind,
                "target": records.name_of(s.target) if s.kind == "article" else s.target,
                "checked": s.checked_facts,
                "unsupported": list(s.unsupported),
            }
            for s in checked
        ]
        score = metric.score([(s.checked_facts, s.unsupported) for s in checked], bootstrap)
        systems.append(
            {
                "name": name,
                "provenance": _provenance_dict(summaries[0].provenance),
                "n": score.n,
                "n_nothing_to_check": len(summaries) - len(checked),
                "metrics": {metric.key: score.to_dict()},
                "items": items,
            }
        )
    return {
        "metrics": [{"key": metric.key, "label": metric.label, "short": metric.short}],
        "systems": systems,
    }


# --- the stage ------------------------------------------------------------------------


def _as_settings(settings: Settings | ScoreSettings | None) -> Settings:
    if settings is None:
        return Settings()
    if isinstance(settings, ScoreSettings):
        return Settings(score=settings)
    return settings


def score_run(run: RunDir, settings: Settings | ScoreSettings | None = None) -> dict[str, Any]:
    """Score everything ``run`` holds against the references; returns the ``scores.json`` document."""
    settings = _as_settings(settings)
    bootstrap = BootstrapSettings(samples=settings.score.bootstrap_samples, seed=settings.score.seed)
    references = load_references(settings.score.references or None)
    records = load_run(run)
    notes = records.missing_notes((ARTICLES, CLUSTERS, SUMMARIES, TRANSLATIONS))
    notes += [f"references: {name} missing in {references.path}" for name in references.missing]

    doc: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "references": references.describe(),
        "bootstrap": {
            "samples": bootstrap.samples,
            "seed": bootstrap.seed,
            "confidence": bootstrap.confidence,
            "min_n": bootstrap.min_n,
        },
        "versions": {
            name: package_version(name)
            for name in ("french-news-pipeline", "sacrebleu", "rouge-score", "numpy", "matplotlib")
        },
        "summaries": None,
        "summaries_en": None,
        "translations": None,
        "clustering": None,
        "faithfulness": None,
    }
    if records.has(ARTICLES) and records.articles:
        if references.summaries:
            french, english = {}, {}
            for kind in ("article", "event"):
                french[kind], english[kind] = _summary_section(
                    kind, records, references, settings, bootstrap, notes
                )
            doc["summaries"], doc["summaries_en"] = french, english
        if references.translations:
            doc["translations"] = _translation_section(records, references, settings, bootstrap, notes)
        if references.clusters and records.has(CLUSTERS):
            doc["clustering"] = _clustering_section(records, references, notes)
    else:
        notes.append("nothing to score: the run has no articles")
    if records.summaries:
        doc["faithfulness"] = _faithfulness_section(records, bootstrap)
    doc["notes"] = notes
    return _finite(doc)


def _cell(metric: dict[str, Any]) -> str:
    if metric.get("score") is None:
        return "–"
    ci = metric.get("ci")
    return f"{metric['score']:.1f}" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else "")


def headline_lines(doc: dict[str, Any]) -> list[str]:
    """A few lines for the terminal: the main score of each system, and sacrebleu's signatures."""
    lines = []
    sections = [
        ("article summaries", (doc.get("summaries") or {}).get("article"), "rougeL-fr"),
        ("event summaries", (doc.get("summaries") or {}).get("event"), "rougeL-fr"),
        ("translations", doc.get("translations"), "chrf"),
        ("translations", doc.get("translations"), "bleu"),
        ("faithfulness", doc.get("faithfulness"), "faithfulness"),
    ]
    for task, section, key in sections:
        for system in (section or {}).get("systems", []):
            metric = system["metrics"][key]
            lines.append(f"{task}: {system['name']}: {metric['short']} {_cell(metric)} (n={metric['n']})")
    translations = doc.get("translations") or {}
    signatures = {
        f"sacrebleu {m['key']}: {s['metrics'][m['key']]['extra']['sacrebleu_signature']}"
        for s in translations.get("systems", [])
        for m in translations.get("metrics", [])
        if "sacrebleu_signature" in s["metrics"][m["key"]].get("extra", {})
    }
    lines += sorted(signatures)
    clustering = doc.get("clustering")
    if clustering:
        f1, ari = clustering["metrics"]["cluster-f1"]["score"], clustering["metrics"]["cluster-ari"]["score"]
        lines.append(f"event clusters: pairwise F1 {f1:.3f}, ARI {ari:.3f} (n={clustering['n']})")
    return lines


class ScoreStage(Stage):
    """Writes ``scores.json``: metrics, signatures, CIs, n and baselines for whatever the run holds."""

    name = "score"

    def run(self, run: RunDir) -> StageResult:
        doc = score_run(run, self.settings)
        run.write_json(SCORES, doc)
        counts = {
            "summary_systems": sum(
                len(doc["summaries"][k]["systems"]) for k in ("article", "event") if doc["summaries"]
            ),
            "translation_systems": len(doc["translations"]["systems"]) if doc["translations"] else 0,
            "clustered_articles": doc["clustering"]["n"] if doc["clustering"] else 0,
        }
        return StageResult(counts=counts, notes=list(doc["notes"]) + headline_lines(doc))
