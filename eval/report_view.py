"""What the report shows, gathered from the run's files into plain, sorted data.

Both renderers (Markdown and HTML) draw from this one structure, so they never
disagree.  Nothing here formats markup: text stays raw and each renderer
escapes it.  Nothing here reads a clock or the run's path, so the same files
give the same report.
"""

from __future__ import annotations

import base64
import re
from collections import Counter, defaultdict
from typing import Any

from eval.plots import strip_plot
from eval.runfiles import RunRecords
from pipeline.records import Article, Provenance
from pipeline.rundir import ARTICLES, CLUSTERS, PASSAGES, SCORES, SUMMARIES, TRANSLATIONS
from pipeline.runner import STAGE_ORDER

OFFLINE_PREFIXES = ("offline", "apertium", "extractive")
# Caps that keep the page readable and under ~2 MB at 1,000 articles; what is left out is
# counted on the page and stays in the run's files (``pipeline export`` for Parquet).
MAX_PASSAGES = 10
MAX_ARTICLE_ROWS = 200  # ingest table
MAX_REJECTIONS = 200
MAX_EVENT_CARDS = 50  # multi-article events
MAX_SINGLETONS = 100  # single-article clusters, listed by name
MAX_PAIRS = 30  # "why linked" rows per event
MAX_SUMMARY_CARDS = 30  # article summaries (those with a reference first)
MAX_TRANSLATIONS = 20  # side-by-side translations (those with reference paragraphs first)
NOTE_HEADLINE_CHARS = 140


def is_offline(backend: str) -> bool:
    return backend.lower().startswith(OFFLINE_PREFIXES)


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def score_cell(metric: dict[str, Any], digits: int = 1) -> str:
    """'55.3 [48.1, 62.0]' or '55.3 (n too small for a CI)'."""
    text = fmt(metric.get("score"), digits)
    if metric.get("ci"):
        low, high = metric["ci"]
        return f"{text} [{fmt(low, digits)}, {fmt(high, digits)}]"
    if metric.get("ci_note") and metric.get("score") is not None:
        return f"{text} ({metric['ci_note']})"
    return text


def highlight(text: str, facts: list[str]) -> list[tuple[str, bool]]:
    """Split ``text`` into ``(piece, is_unsupported_fact)`` segments, for the renderers to mark.

    >>> highlight("Il y avait 2000 personnes.", ["2000"])
    [('Il y avait ', False), ('2000', True), (' personnes.', False)]
    """
    facts = sorted({f for f in facts if f and f.strip()}, key=lambda f: (-len(f), f))
    if not facts:
        return [(text, False)] if text else []
    pattern = re.compile("|".join(re.escape(f) for f in facts), re.IGNORECASE)
    segments, last = [], 0
    for m in pattern.finditer(text):
        if m.start() > last:
            segments.append((text[last : m.start()], False))
        segments.append((m.group(), True))
        last = m.end()
    if last < len(text):
        segments.append((text[last:], False))
    return segments


def readable(value: Any) -> str:
    """A parameter value as a person writes it: ``0.6``, ``yes``, ``a, b``, not a Python repr.

    >>> readable(True), readable(0.60000), readable(["fr", "en"]), readable(None)
    ('yes', '0.6', 'fr, en', '–')
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(readable(v) for v in value) or "–"
    return str(value)


def readable_params(params: dict[str, Any], prefix: str = "") -> list[str]:
    """``key = value`` lines, nested dicts flattened to dotted keys, sorted.

    >>> readable_params({"beam_size": 4, "generation": {"num_beams": 2, "early": True}})
    ['beam_size = 4', 'generation.early = yes', 'generation.num_beams = 2']
    """
    lines = []
    for key in sorted(params):
        value = params[key]
        if isinstance(value, dict):
            lines += readable_params(value, f"{prefix}{key}.")
        else:
            lines.append(f"{prefix}{key} = {readable(value)}")
    return lines


def split_note(note: str) -> dict[str, str]:
    """A stage note as a short headline (its first sentence) and the rest, for a collapsed view.

    >>> split_note("Fell back to offline. Because the weights are missing.")["headline"]
    'Fell back to offline.'
    """
    first = re.split(r"(?<=[.!?:])\s", note.strip(), maxsplit=1)[0]
    if len(first) > NOTE_HEADLINE_CHARS:
        first = first[: NOTE_HEADLINE_CHARS - 1].rstrip() + "…"
    return {"headline": first, "detail": note if first != note.strip() else ""}


def _provenance_row(output: str, provenance: Provenance, count: int) -> dict[str, Any]:
    params = readable_params(provenance.params)
    return {
        "output": output,
        "backend": provenance.backend,
        "model": provenance.model or "–",
        "revision": provenance.revision or "–",
        "params": params,
        "count": count,
        "offline": is_offline(provenance.backend),
    }


def _producers(records: RunRecords) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per (output kind, backend, model, revision, params), and a loud line per offline one."""
    groups: dict[tuple[str, ...], list[Provenance]] = defaultdict(list)
    outputs = [(f"{s.kind} summaries", s.provenance) for s in records.summaries]
    outputs += [(f"{t.kind} translations", t.provenance) for t in records.translations]
    # Clusters carry the embedding model behind their semantic scores (when dedup records it).
    outputs += [("event clusters", p) for c in records.clusters if (p := getattr(c, "provenance", None))]
    for output, p in outputs:
        key = (output, p.backend, p.model or "", p.revision or "", repr(sorted(p.params.items())))
        groups[key].append(p)
    rows, warnings = [], []
    for group in sorted(groups):
        row = _provenance_row(group[0], groups[group][0], len(groups[group]))
        rows.append(row)
        if row["offline"]:
            model = f" ({row['model']})" if row["model"] != "–" else ""
            warnings.append(
                f"OFFLINE FALLBACK: {row['count']} {row['output']} were made by the offline backend "
                f"{row['backend']!r}{model}, not by a neural model. Their scores measure that fallback."
            )
    return rows, warnings


def _stage_log(manifest: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What the runner recorded per stage: backend, model, counts and notes (fallbacks are said there).

    The report's own entry is left out (it is rewritten after every report), and
    so are wall times, so regenerating the report does not change it.
    """
    if not isinstance(manifest, dict) or not isinstance(manifest.get("stages"), dict):
        return []
    order = {name: i for i, name in enumerate(STAGE_ORDER)}
    rows = []
    for name in sorted(manifest["stages"], key=lambda n: (order.get(n, len(order)), n)):
        entry = manifest["stages"][name]
        if name == "report" or not isinstance(entry, dict):
            continue
        # The score stage's notes are shown in full under "Scoring notes".
        notes = [] if name == "score" else [n for n in entry.get("notes") or [] if isinstance(n, str)]
        counts: dict[str, Any] = entry["counts"] if isinstance(entry.get("counts"), dict) else {}
        rows.append(
            {
                "stage": name,
                "backend": entry.get("backend") or "–",
                "model": entry.get("model") or "–",
                "counts": " ".join(f"{k}={counts[k]}" for k in sorted(counts)),
                "notes": [split_note(n) for n in notes],
            }
        )
    return rows


def _article_label(article: Article | None, fallback: str) -> str:
    if article is None:
        return fallback
    return f"{article.name} — {article.title}" if article.title else article.name


def _ingest(records: RunRecords) -> dict[str, Any]:
    removal_rules: Counter[str] = Counter()
    articles = []
    for i, a in enumerate(sorted(records.articles, key=lambda a: a.name)):
        removal_rules.update(r.rule for r in a.removals)
        if i >= MAX_ARTICLE_ROWS:
            continue
        articles.append(
            {
                "name": a.name,
                "title": a.title or "",
                "date": a.date.iso if a.date else "",
                "outlet": a.outlet or "",
                "paragraphs": len(a.paragraphs),
                "sentences": len(a.sentences),
                "words": len(a.text.split()),
                "removed": len(a.removals),
            }
        )
    rejections = sorted(
        (
            {"source": r.source, "stage": r.stage, "reason": r.reason, "detail": r.detail}
            for r in records.rejections
        ),
        key=lambda r: (r["source"], r["reason"]),
    )
    return {
        "articles": articles,
        "articles_total": len(records.articles),
        "rejections": rejections[:MAX_REJECTIONS],
        "rejections_total": len(rejections),
        "removals": sorted(removal_rules.items(), key=lambda kv: (-kv[1], kv[0])),
        "removals_total": sum(removal_rules.values()),
    }


def _passages(records: RunRecords) -> dict[str, Any]:
    by_id = records.article_by_id()
    ranked = sorted(records.passages, key=lambda p: (-len(p.occurrences), p.id))
    top = [
        {
            "kind": p.kind,
            "text": p.text,
            "jaccard": fmt(p.jaccard, 2),
            "where": sorted(
                {by_id[o.article_id].name if o.article_id in by_id else o.article_id for o in p.occurrences}
            ),
        }
        for p in ranked[:MAX_PASSAGES]
    ]
    return {"count": len(records.passages), "top": top, "shown": len(top)}


def _clusters(
    records: RunRecords, scores: dict[str, Any] | None, event_summaries: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """One card per multi-article event (members, why linked, its summary in French and English);
    single-article clusters only by name."""
    by_id = records.article_by_id()
    gold_of: dict[str, dict[str, Any]] = {}
    clustering = (scores or {}).get("clustering")
    if clustering:
        for m in clustering.get("matches", []):
            if m.get("cluster_id"):
                gold_of[m["cluster_id"]] = m
    ordered = sorted(records.clusters, key=lambda c: (-len(c.members), c.id))
    events = [c for c in ordered if len(c.members) > 1]
    singles = sorted(records.name_of(c.members[0]) for c in ordered if len(c.members) == 1)
    clusters = []
    for c in events[:MAX_EVENT_CARDS]:
        pairs = sorted(c.pairs, key=lambda p: (-p.combined, p.a, p.b))
        clusters.append(
            {
                "id": c.id,
                "members": [
                    {
                        "name": by_id[m].name if m in by_id else m,
                        "title": (by_id[m].title or "") if m in by_id else "",
                    }
                    for m in c.members
                ],
                "representative": records.name_of(c.representative),
                "dates": " – ".join(d for d in (c.date_start, c.date_end) if d) or "–",
                "shared_entities": list(c.shared_entities),
                "pairs": [
                    {
                        "a": records.name_of(p.a),
                        "b": records.name_of(p.b),
                        "semantic": fmt(p.semantic, 2),
                        "entities": fmt(p.entities, 2),
                        "dates": fmt(p.dates, 2),
                        "combined": fmt(p.combined, 2),
                        "linked": p.linked,
                        "reason": p.reason,  # vetoes and what the event signatures agree on
                    }
                    for p in pairs[:MAX_PAIRS]
                ],
                "pairs_total": len(pairs),
                "linked_pairs": sum(p.linked for p in pairs),
                "gold": gold_of.get(c.id),
                "summaries": event_summaries.get(c.id, []),
            }
        )
    scores_table = None
    if clustering:
        scores_table = {
            "n": clustering["n"],
            "rows": [
                {
                    "label": m["label"],
                    "value": fmt(m["score"], 3),
                    "signature": m["signature"],
                    "note": m["ci_note"],
                }
                for key in ("cluster-precision", "cluster-recall", "cluster-f1", "cluster-ari")
                if (m := clustering["metrics"].get(key))
            ],
            "not_in_gold": clustering.get("not_in_gold", []),
        }
    return {
        "clusters": clusters,
        "events_total": len(events),
        "singles": singles[:MAX_SINGLETONS],
        "singles_total": len(singles),
        "scores": scores_table,
    }


def _reference_index(scores: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """summary id -> the scored item (references, baselines' source article)."""
    index: dict[str, dict[str, Any]] = {}
    for kind in ("article", "event"):
        section = ((scores or {}).get("summaries") or {}).get(kind) or {}
        for system in section.get("systems", []):
            for item in system.get("items", []):
                if "summary_id" in item:
                    index[item["summary_id"]] = item
    return index


def _summaries(records: RunRecords, scores: dict[str, Any] | None) -> list[dict[str, Any]]:
    by_id = records.article_by_id()
    clusters = {c.id: c for c in records.clusters}
    english = {t.target: t for t in records.translations if t.kind == "summary"}
    refs = _reference_index(scores)
    out = []
    for s in records.summaries:
        if s.kind == "article":
            target = _article_label(by_id.get(s.target), s.target)
        else:
            members = clusters[s.target].members if s.target in clusters else []
            target = f"event {s.target}: " + ", ".join(records.name_of(m) for m in members)
        ref = refs.get(s.id, {})
        en = english.get(s.id)
        out.append(
            {
                "id": s.id,
                "kind": s.kind,
                "cluster": s.target if s.kind == "event" else None,
                "target": target,
                "system": f"{s.provenance.backend}"
                + (f" · {s.provenance.model}" if s.provenance.model else ""),
                "segments": highlight(s.text, s.unsupported),
                "text": s.text,
                "words": len(s.text.split()),
                "unsupported": list(s.unsupported),
                "checked": s.checked_facts,
                "english": en.text if en else None,
                "english_system": (
                    f"{en.provenance.backend}" + (f" · {en.provenance.model}" if en.provenance.model else "")
                    if en
                    else None
                ),
                "reference_fr": ref.get("reference"),
                "reference_en": ref.get("reference_en"),
                "reference_target": ref.get("target"),
            }
        )
    return sorted(out, key=lambda r: (r["kind"], r["target"], r["system"], r["id"]))


def _item_key(item: dict[str, Any]) -> Any:
    """What a scored item is about: a reference paragraph of an article, or a summary target."""
    if "matched_paragraph" in item:
        return (item.get("article_id"), item["matched_paragraph"])
    return item.get("target")


def identical_baselines(section: dict[str, Any] | None) -> dict[str, str]:
    """Baseline name -> the system whose output it repeats word for word on every item.

    Such a "baseline" is the system itself (raw Apertium next to an Apertium run): comparing
    them says nothing, so the report leaves it out and says why.
    """
    systems = (section or {}).get("systems") or []
    outputs = {s["name"]: {_item_key(i): i.get("hypothesis") for i in s.get("items", [])} for s in systems}
    same = {}
    for base in (s for s in systems if s.get("role") == "baseline"):
        for system in (s for s in systems if s.get("role", "system") == "system"):
            if outputs[base["name"]] and outputs[base["name"]] == outputs[system["name"]]:
                same[base["name"]] = system["name"]
                break
    return same


def _translations(records: RunRecords, scores: dict[str, Any] | None) -> list[dict[str, Any]]:
    by_id = records.article_by_id()
    references: dict[tuple[str, int], str] = {}
    baselines: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    section = (scores or {}).get("translations") or {}
    same = identical_baselines(section)
    for system in section.get("systems", []):
        if system["name"] in same:
            continue
        for item in system.get("items", []):
            key = (item["article_id"], item["matched_paragraph"])
            references[key] = item["reference"]
            if system["role"] == "baseline":
                baselines[key][system["name"]] = item["hypothesis"]
    baseline_names = sorted({name for b in baselines.values() for name in b})
    out = []
    for t in records.translations:
        if t.kind != "article":
            continue
        article = by_id.get(t.target)
        sources = article.paragraph_texts() if article else [t.source_text]
        rows = []
        for i, span in enumerate(t.paragraphs):
            rows.append(
                {
                    "index": i,
                    "source": sources[i] if i < len(sources) else "",
                    "target": t.text[span.start : span.end],
                    "reference": references.get((t.target, i)),
                    "baselines": [baselines.get((t.target, i), {}).get(name) for name in baseline_names],
                }
            )
        if not t.paragraphs:
            rows.append(
                {"index": 0, "source": t.source_text, "target": t.text, "reference": None, "baselines": []}
            )
        out.append(
            {
                "article": _article_label(article, t.target),
                "system": t.provenance.backend + (f" · {t.provenance.model}" if t.provenance.model else ""),
                "baseline_names": baseline_names,
                "rows": rows,
                "references": sum(1 for r in rows if r["reference"]),
            }
        )
    # Those with reference paragraphs first: they are what the scores are about.
    return sorted(out, key=lambda r: (-bool(r["references"]), r["article"], r["system"]))


def _metric_table(title: str, section: dict[str, Any] | None, digits: int = 1) -> dict[str, Any] | None:
    if not section or not section.get("systems"):
        return None
    metrics = section["metrics"]
    rows, ci_notes = [], set()
    signatures: dict[str, list[str]] = defaultdict(list)  # signature -> systems
    same = identical_baselines(section)
    for system in section["systems"]:
        if system["name"] in same:
            continue
        cells = []
        for m in metrics:
            result = system["metrics"][m["key"]]
            cells.append(score_cell(result, digits) if result.get("ci") else fmt(result.get("score"), digits))
            if result.get("ci_note") and result.get("score") is not None:
                ci_notes.add(f"{result['ci_note']} (n = {result['n']})")
            signatures[result["signature"]].append(system["name"])
            if result.get("extra", {}).get("sacrebleu_signature"):
                signatures[f"sacrebleu {m['key']}: {result['extra']['sacrebleu_signature']}"].append(
                    system["name"]
                )
        rows.append(
            {"system": system["name"], "role": system.get("role", "system"), "n": system["n"], "cells": cells}
        )
    comparisons = [
        {
            "system": c["system"],
            "baseline": c["baseline"],
            "metric": c["metric"],
            "delta": fmt(c["delta"], digits),
            "ci": f"[{fmt(c['ci'][0], digits)}, {fmt(c['ci'][1], digits)}]"
            if c.get("ci")
            else (c.get("note") or ""),
            "p": fmt(c["p_value"], 3) if c.get("p_value") is not None else "–",
            "n": c["n"],
        }
        # The default-tokenizer ROUGE comparisons are in scores.json; the report shows the French ones.
        for c in section.get("comparisons", [])
        if not c["metric"].endswith("-default") and c["baseline"] not in same
    ]
    return {
        "title": title,
        "metrics": [m.get("short", m["label"]) for m in metrics],
        "legend": [(m.get("short", m["label"]), m["label"]) for m in metrics],
        "rows": rows,
        "ci_notes": sorted(ci_notes),
        "comparisons": comparisons,
        "signatures": [(sig, ", ".join(systems)) for sig, systems in signatures.items()],
        "unmatched": section.get("unmatched", []),
        "matching": section.get("matching"),
        "unavailable": section.get("baselines_unavailable", {}),
        "identical": [
            f"{base}: word for word the output of {system} on every item, so it is not a baseline (not shown)"
            for base, system in sorted(same.items())
        ],
        "n_references": section.get("n_references"),
    }


def _score_tables(scores: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not scores:
        return []
    tables = []
    summaries, english = scores.get("summaries") or {}, scores.get("summaries_en") or {}
    for kind, name in (("article", "Article summaries"), ("event", "Event summaries")):
        tables.append(_metric_table(f"{name} (French, vs French references)", summaries.get(kind)))
        tables.append(_metric_table(f"{name}, English versions (vs English references)", english.get(kind)))
    tables.append(
        _metric_table("Translations (English, vs reference translations)", scores.get("translations"))
    )
    tables.append(_metric_table("Faithfulness of summaries", scores.get("faithfulness")))
    return [t for t in tables if t]


HOW_TO_READ = (
    "Scores are 0–100 (clustering 0–1), higher is better. Every score is shown with n, the number of "
    "reference items it is computed on, and a 95% bootstrap interval when n ≥ 5; with so few items, "
    "differences inside the intervals are not evidence. Baselines (lead-3, random-3, raw Apertium) "
    "are scored on the same items: a system should beat them."
)


def _headlines(scores: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One line per task and system: the number to look at first, next to its baseline."""
    if not scores:
        return []
    rows = []

    def add(task: str, section: dict[str, Any] | None, key: str, metric: str, baseline: str | None) -> None:
        if not section:
            return
        systems = section.get("systems", [])
        base = next((s for s in systems if s["name"] == baseline), None)
        base_text = f"{baseline}: {score_cell(base['metrics'][key])}" if base else "–"
        if base and baseline in identical_baselines(section):
            base_text, base = "– (the baseline's output is the system's own)", None
        for s in systems:
            if s.get("role", "system") == "system" and s["n"]:
                value = (
                    score_cell(s["metrics"][key])
                    if s["metrics"][key].get("ci")
                    else fmt(s["metrics"][key]["score"])
                )
                rows.append(
                    {
                        "task": task,
                        "system": s["name"],
                        "metric": metric,
                        "value": value,
                        "n": s["n"],
                        "baseline": base_text,
                    }
                )
        if base and not any(r["task"] == task for r in rows):
            rows.append(
                {
                    "task": task,
                    "system": "(no system output)",
                    "metric": metric,
                    "value": "–",
                    "n": 0,
                    "baseline": base_text,
                }
            )

    summaries = scores.get("summaries") or {}
    add("article summaries", summaries.get("article"), "rougeL-fr", "ROUGE-L fr-tok", "lead-3")
    add("event summaries", summaries.get("event"), "rougeL-fr", "ROUGE-L fr-tok", "lead-3")
    add("translations", scores.get("translations"), "chrf", "chrF", "apertium-raw")
    add("faithfulness", scores.get("faithfulness"), "faithfulness", "faithful %", None)
    clustering = scores.get("clustering")
    if clustering:
        for key, label in (("cluster-f1", "pairwise F1"), ("cluster-ari", "ARI")):
            rows.append(
                {
                    "task": "event clusters",
                    "system": "dedup",
                    "metric": label,
                    "value": fmt(clustering["metrics"][key]["score"], 3),
                    "n": clustering["n"],
                    "baseline": "–",
                }
            )
    return rows


def _interval(metric: dict[str, Any]) -> tuple[float, float, float] | None:
    if metric.get("score") is None or not metric.get("ci"):
        return None
    low, high = metric["ci"]
    return (metric["score"], low, high)


def _score_series(
    section: dict[str, Any], key: str
) -> tuple[list[tuple[str, list[float]]], dict[str, tuple[float, float, float]]]:
    """Per-item scores and the (score, low, high) interval of each system, identical baselines left out."""
    same = identical_baselines(section)
    systems = [s for s in section.get("systems", []) if s["name"] not in same]
    series = [(s["name"], s["metrics"][key]["items"]) for s in systems]
    intervals = {s["name"]: ci for s in systems if (ci := _interval(s["metrics"][key]))}
    return series, intervals


INTERVAL_NOTE = "black diamond and bar: the reported score and its 95% bootstrap interval"


def _plots(records: RunRecords, scores: dict[str, Any] | None) -> list[dict[str, str]]:
    plots = []

    def add(title: str, png: bytes | None, alt: str) -> None:
        if png is not None:
            plots.append({"title": title, "alt": alt, "png_base64": base64.b64encode(png).decode("ascii")})

    article = ((scores or {}).get("summaries") or {}).get("article") or {}
    series, intervals = _score_series(article, "rougeL-fr")
    add(
        "ROUGE-L F per article summary (French tokenizer)",
        strip_plot(
            "ROUGE-L F per article summary (French tokenizer)", "ROUGE-L F", series, (0, 100), intervals
        ),
        f"dot per summary, red bar at the mean, {INTERVAL_NOTE}; one row per system and baseline",
    )
    translations = (scores or {}).get("translations") or {}
    series, intervals = _score_series(translations, "chrf")
    add(
        "chrF per reference paragraph",
        strip_plot("chrF per reference paragraph", "chrF", series, (0, 100), intervals),
        f"dot per paragraph, red bar at the mean; {INTERVAL_NOTE} (corpus-level chrF); "
        "one row per translation system and baseline",
    )
    lengths: dict[str, list[float]] = defaultdict(list)
    for s in records.summaries:
        lengths[f"{s.kind} · {s.provenance.backend}"].append(float(len(s.text.split())))
    for kind in ("article", "event"):
        section = ((scores or {}).get("summaries") or {}).get(kind) or {}
        seen: set[str] = set()
        for system in section.get("systems", []):
            for item in system.get("items", []):
                if item["target"] not in seen:
                    seen.add(item["target"])
                    lengths[f"{kind} · reference"].append(float(len(item["reference"].split())))
    series = sorted(lengths.items())
    add(
        "Summary length in words",
        strip_plot("Summary length in words", "words", series),
        "dot per summary, red bar at the mean; one row per kind and backend, references included",
    )
    return plots


def build_view(records: RunRecords) -> dict[str, Any]:
    """Everything the report shows, as plain sorted data."""
    scores = records.scores if records.has(SCORES) else None
    try:
        return _build_view(records, scores, [])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        # A scores.json from another version, or edited by hand: report the rest, say why.
        why = f"scores.json has an unexpected layout ({type(exc).__name__}: {exc}); rerun the score stage"
        return _build_view(records, None, [why])


def _build_view(records: RunRecords, scores: dict[str, Any] | None, problems: list[str]) -> dict[str, Any]:
    producers, fallbacks = _producers(records)
    expected = (ARTICLES, PASSAGES, CLUSTERS, SUMMARIES, TRANSLATIONS, SCORES)
    counts = [
        ("articles", len(records.articles)),
        ("rejected inputs", len(records.rejections)),
        ("near-duplicate passages", len(records.passages)),
        ("event clusters", len(records.clusters)),
        ("summaries", len(records.summaries)),
        ("translations", len(records.translations)),
    ]
    summaries = _summaries(records, scores)
    event_summaries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for summary in summaries:
        if summary["kind"] == "event":
            event_summaries[summary["cluster"]].append(summary)
    # Article summaries with a reference first: they are what the scores are about.
    article_summaries = sorted(
        (s for s in summaries if s["kind"] == "article"),
        key=lambda s: (not s["reference_fr"], s["target"], s["system"], s["id"]),
    )
    translations = _translations(records, scores)
    return {
        "title": "French news pipeline — run report",
        "missing": records.missing_notes(expected) + problems,
        "fallbacks": fallbacks,
        "score_notes": list((scores or {}).get("notes", [])),
        "headlines": _headlines(scores),
        "how_to_read": HOW_TO_READ,
        "stages": _stage_log(records.manifest),
        "counts": counts,
        "producers": producers,
        "references": (scores or {}).get("references"),
        "bootstrap": (scores or {}).get("bootstrap"),
        "versions": sorted(((scores or {}).get("versions") or {}).items()),
        "ingest": _ingest(records),
        "passages": _passages(records),
        "clusters": _clusters(records, scores, event_summaries),
        "summaries": article_summaries[:MAX_SUMMARY_CARDS],
        "summaries_total": len(article_summaries),
        "event_summaries_total": sum(len(v) for v in event_summaries.values()),
        "translations": translations[:MAX_TRANSLATIONS],
        "translations_total": len(translations),
        "score_tables": _score_tables(scores),
        "plots": _plots(records, scores),
        "has": {name: records.has(name) for name in expected},
    }
