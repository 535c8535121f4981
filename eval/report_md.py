"""The Markdown report: the same content as the HTML one, minus the plots.

Article text is escaped for Markdown viewers that render inline HTML (GitHub,
IDE previews): ``<``, ``>`` and ``&`` become entities, and Markdown syntax
characters are backslash-escaped so a headline cannot turn into a link or table.

>>> md("<script>alert(1)</script> *gras* | [lien](x)")
'&lt;script&gt;alert(1)&lt;/script&gt; \\\\*gras\\\\* \\\\| \\\\[lien\\\\](x)'
"""

from __future__ import annotations

import html
import re
from typing import Any

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")
_SPACES = re.compile(r"\s+")


def md(text: Any) -> str:
    """Escape one piece of text for a Markdown paragraph or table cell (one line)."""
    escaped = html.escape(str(text), quote=False)
    return _SPACES.sub(" ", _MD_SPECIAL.sub(r"\\\1", escaped))


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(md(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))


def _quote(text: str) -> list[str]:
    return ["> " + md(paragraph) for paragraph in text.split("\n") if paragraph.strip()] + [""]


def _summary_lines(s: dict[str, Any]) -> list[str]:
    out = [f"*{md(s['kind'])} summary by {md(s['system'])}, {s['words']} words*", ""]
    text = "".join(f"**{md(t)}**" if marked else md(t) for t, marked in s["segments"])
    out += ["> " + text, ""]
    if s["unsupported"]:
        out += [
            f"**Unsupported facts** ({len(s['unsupported'])} of {s['checked']} checked): "
            + ", ".join(md(u) for u in s["unsupported"]),
            "",
        ]
    else:
        out += [f"All {s['checked']} checked facts found in the source.", ""]
    if s["english"]:
        out += [f"English version ({md(s['english_system'])}):", "", *_quote(s["english"])]
    if s["reference_fr"]:
        out += ["Reference summary:", "", *_quote(s["reference_fr"])]
    if s["reference_en"]:
        out += ["Reference, English:", "", *_quote(s["reference_en"])]
    return out


def render_markdown(view: dict[str, Any]) -> str:
    out: list[str] = [f"# {md(view['title'])}", ""]
    out += ["Plots are in `report.html` (a single file; open it in a browser).", ""]

    if view["missing"]:
        out += ["## What is missing", ""] + [f"- {md(n)}" for n in view["missing"]] + [""]
    if view["fallbacks"]:
        out += ["## ⚠ Offline fallbacks", ""] + [f"- **{md(w)}**" for w in view["fallbacks"]] + [""]

    if view["headlines"]:
        out += ["## Headline results", ""]
        out += _table(
            ["what", "system", "metric", "score", "n", "baseline for comparison"],
            [
                [h["task"], h["system"], h["metric"], h["value"], h["n"], h["baseline"]]
                for h in view["headlines"]
            ],
        )
        out += [md(view["how_to_read"]), ""]

    out += ["## Overview", ""]
    out += _table(["output", "count"], [list(c) for c in view["counts"]])
    if view["producers"]:
        out += ["Which backend and model made each output:", ""]
        out += _table(
            ["output", "count", "backend", "model", "revision", "parameters"],
            [
                [
                    p["output"],
                    p["count"],
                    p["backend"],
                    p["model"],
                    p["revision"],
                    "; ".join(p["params"]) or "–",
                ]
                for p in view["producers"]
            ],
        )
    if view["stages"]:
        out += ["What each stage did (from the run manifest):", ""]
        out += _table(
            ["stage", "backend", "model", "counts", "notes"],
            [
                [
                    r["stage"],
                    r["backend"],
                    r["model"],
                    r["counts"],
                    " / ".join(n["headline"] for n in r["notes"]) or "–",
                ]
                for r in view["stages"]
            ],
        )
    if view["score_notes"]:
        out += ["**Scoring notes:**", ""] + [f"- {md(n)}" for n in view["score_notes"]] + [""]

    ingest = view["ingest"]
    out += ["## Ingest", ""]
    if ingest["articles_total"] > len(ingest["articles"]):
        out += [f"First {len(ingest['articles'])} of {ingest['articles_total']} articles by name:", ""]
    if ingest["articles"]:
        out += _table(
            ["article", "title", "date", "outlet", "paragraphs", "sentences", "words", "lines removed"],
            [
                [
                    a["name"],
                    a["title"],
                    a["date"],
                    a["outlet"],
                    a["paragraphs"],
                    a["sentences"],
                    a["words"],
                    a["removed"],
                ]
                for a in ingest["articles"]
            ],
        )
    out += [f"Removed page furniture: {ingest['removals_total']} lines.", ""]
    if ingest["removals"]:
        out += _table(["rule", "lines removed"], [list(r) for r in ingest["removals"]])
    if ingest["rejections"]:
        out += ["Rejected inputs:", ""]
        out += _table(
            ["source", "stage", "reason", "detail"],
            [[r["source"], r["stage"], r["reason"], r["detail"]] for r in ingest["rejections"]],
        )
    else:
        out += ["No input was rejected.", ""]

    passages = view["passages"]
    out += ["## Near-duplicate passages", "", f"{passages['count']} groups of near-identical passages.", ""]
    if passages["top"]:
        out += _table(
            ["kind", "found in", "lowest Jaccard", "text"],
            [[p["kind"], ", ".join(p["where"]), p["jaccard"], p["text"]] for p in passages["top"]],
        )

    clusters = view["clusters"]
    out += ["## Events", ""]
    if not clusters["clusters"]:
        out += ["No multi-article events in this run.", ""]
    elif clusters["events_total"] > len(clusters["clusters"]):
        out += [f"The {len(clusters['clusters'])} largest of {clusters['events_total']} events:", ""]
    for c in clusters["clusters"]:
        out += [f"### Event {md(c['id'])}", ""]
        out += [
            f"- dates: {md(c['dates'])}",
            f"- shared entities: {md(', '.join(c['shared_entities']) or '–')}",
        ]
        if c["gold"]:
            out += [
                f"- best matching gold cluster: {md(c['gold']['gold'])} (overlap {c['gold']['overlap']:.2f})"
            ]
        out += [""] + [
            f"- {md(m['name'])}" + (f" — {md(m['title'])}" if m["title"] else "") for m in c["members"]
        ]
        out += [""]
        for s in c["summaries"]:
            out += _summary_lines(s)
        if c["pairs"]:
            out += ["Why they were (not) linked:", ""]
            out += _table(
                ["a", "b", "semantic", "entities", "dates", "combined", "linked", "why"],
                [
                    [
                        p["a"],
                        p["b"],
                        p["semantic"],
                        p["entities"],
                        p["dates"],
                        p["combined"],
                        "yes" if p["linked"] else "no",
                        md(p["reason"]),
                    ]
                    for p in c["pairs"]
                ],
            )
    if clusters["singles_total"]:
        names = ", ".join(md(n) for n in clusters["singles"])
        more = clusters["singles_total"] - len(clusters["singles"])
        out += [
            f"{clusters['singles_total']} single-article clusters: {names}"
            + (f" … and {more} more" if more else ""),
            "",
        ]
    if clusters["scores"]:
        out += [f"Clustering against the gold clusters (n = {clusters['scores']['n']} articles):", ""]
        out += _table(
            ["score", "value", "signature"],
            [[r["label"], r["value"], r["signature"]] for r in clusters["scores"]["rows"]],
        )

    out += ["## Article summaries", ""]
    if not view["summaries"]:
        out += ["No summaries in this run.", ""]
    elif view["summaries_total"] > len(view["summaries"]):
        out += [
            f"{len(view['summaries'])} of {view['summaries_total']} shown (those with a reference first).",
            "",
        ]
    for s in view["summaries"]:
        out += [f"### {md(s['target'])}", "", *_summary_lines(s)]

    out += ["## Translations", ""]
    if not view["translations"]:
        out += ["No translations in this run.", ""]
    elif view["translations_total"] > len(view["translations"]):
        out += [f"{len(view['translations'])} of {view['translations_total']} articles shown.", ""]
    for t in view["translations"]:
        out += [f"### {md(t['article'])}", "", f"*translated by {md(t['system'])}*", ""]
        header = ["#", "French source", "English (system)", "reference"] + t["baseline_names"]
        rows = [
            [r["index"], r["source"], r["target"], r["reference"] or "–", *[b or "–" for b in r["baselines"]]]
            for r in t["rows"]
        ]
        out += _table(header, rows)

    out += ["## Scores", ""]
    if not view["score_tables"]:
        out += [
            "No scores: `scores.json` is missing or the run had nothing to score (`pipeline score RUN`).",
            "",
        ]
    if view["references"]:
        ref = view["references"]
        out += [
            f"References: {md(ref['source'])} ({md(_counts(ref['counts']))}).",
            "",
        ]
    if view["bootstrap"]:
        b = view["bootstrap"]
        out += [
            f"95% percentile bootstrap intervals in brackets ({b['samples']} resamples, seed {b['seed']}); "
            f"none when n < {b['min_n']}. ROUGE in two settings: French tokenizer (read this one) and "
            "rouge-score's default tokenizer (comparable with published tables).",
            "",
        ]
    for table in view["score_tables"]:
        out += [f"### {md(table['title'])}", ""]
        out += _table(
            ["system", "role", "n", *table["metrics"]],
            [[r["system"], r["role"], r["n"], *r["cells"]] for r in table["rows"]],
        )
        out += [f"- {md(short)}: {md(label)}" for short, label in table["legend"]]
        out += [f"- no interval: {md(note)}" for note in table["ci_notes"]]
        if table["matching"]:
            out += [f"- references matched by: {md(_counts(table['matching']))}"]
        out += [f"- {md(note)}" for note in table["identical"]]
        out += [f"- {md(name)}: {md(why)}" for name, why in sorted(table["unavailable"].items())]
        out += [f"- not scored: {md(u['target'])} ({md(u['why'])})" for u in table["unmatched"][:20]]
        if len(table["unmatched"]) > 20:
            out += [f"- … and {len(table['unmatched']) - 20} more references not scored"]
        out += [""]
        if table["comparisons"]:
            out += ["Paired bootstrap, system minus baseline:", ""]
            out += _table(
                ["system", "baseline", "metric", "difference", "95% CI", "p (system not better)", "n"],
                [
                    [c["system"], c["baseline"], c["metric"], c["delta"], c["ci"], c["p"], c["n"]]
                    for c in table["comparisons"]
                ],
            )
        out += ["Signatures:", "", "```"]
        out += [f"{signature}  ({systems})".replace("`", "'") for signature, systems in table["signatures"]]
        out += ["```", ""]
    if view["versions"]:
        out += ["Library versions: " + md(", ".join(f"{k} {v}" for k, v in view["versions"])), ""]
    return "\n".join(out).rstrip() + "\n"
