"""ROUGE of the offline summariser against the lead-3 baseline, on reference summaries.

This is a developer check, not the score stage: it ingests articles, summarises
them offline, and prints ROUGE-1/2/L F1 (mean over references) of

* ``offline``: :class:`~pipeline.summarize.offline.OfflineSummarizer`;
* ``lead-3``: the first three sentences as segmented by ingest;
* ``lead-3-clean``: the first three sentences that pass the offline candidate
  filter (no headings or bylines), a stronger baseline;
* ``lead-words``: leading sentences up to the summariser's target length, the
  length-matched lead baseline (lead-3 is about twice as long as a summary).

ROUGE is the score stage's (:class:`eval.metrics.rouge.Rouge` with the French
tokenizer of :mod:`eval.tokenizers.french`), and lead-3 its baseline.

    python -m eval.compare_summaries --references corpus/references/summaries.jsonl corpus/articles/*.txt
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from eval.baselines import lead_n
from eval.metrics.rouge import ROUGE_TYPES, Rouge
from pipeline.records import Article
from pipeline.summarize.offline import count_words


def mean_rouge(pairs: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Mean F1 of each ROUGE type over (reference, system) pairs, French tokenizer.

    >>> round(mean_rouge([("la délégation marocaine", "la délégation")])["rouge1"], 3)
    0.8
    """
    items = [(system, reference) for reference, system in pairs]  # Metric items are (hypothesis, reference)
    return {kind: (Rouge(kind, "french").score(items).score or 0.0) / 100 for kind in ROUGE_TYPES}


def lead_words(article: Article, target_words: int) -> str:
    """Leading sentences, added while each brings the length closer to ``target_words``:
    the lead baseline at the offline summariser's own length."""
    picked: list[str] = []
    used = 0
    for sentence in article.sentence_texts():
        n = count_words(sentence)
        if picked and abs(used + n - target_words) >= abs(used - target_words):
            break
        picked.append(sentence)
        used += n
    return " ".join(picked)


def load_references(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def compare(
    articles: Sequence[Article],
    references: Sequence[Mapping],
    systems: Mapping[str, Mapping[str, str]],
) -> dict[str, dict[str, dict[str, float]]]:
    """ROUGE per system, for article references and event references.

    ``systems[name]`` maps a reference target (article name or cluster slug) to
    the system's summary; targets a system did not summarise are skipped for it.
    """
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, summaries in systems.items():
        out[name] = {}
        for kind in ("article", "event"):
            pairs: list[tuple[str, str]] = []
            for r in references:
                summary = summaries.get(r["target"]) if r["kind"] == kind else None
                if summary is not None:
                    pairs.append((r["fr"], summary))
            if pairs:
                words = sum(len(re.findall(r"\w+", s)) for _, s in pairs) / len(pairs)
                out[name][kind] = {**mean_rouge(pairs), "n": float(len(pairs)), "words": words}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from pipeline.ingest import ingest_paths
    from pipeline.settings import Settings
    from pipeline.summarize import build_offline

    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--references", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--set", action="append", default=[], help="section.key=value override")
    parser.add_argument("--show", action="store_true", help="print the offline summaries too")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.set)
    settings = Settings.load(args.config, overrides)
    articles, _ = ingest_paths(args.paths, settings)
    by_name = {a.name: a for a in articles}
    references = load_references(args.references)

    summarizer, notes = build_offline(settings.summarize)
    systems: dict[str, dict[str, str]] = {"offline": {}, "lead-3": {}, "lead-3-clean": {}, "lead-words": {}}
    target_words = settings.summarize.target_words
    for a in articles:
        systems["offline"][a.name] = " ".join(e.text for e in summarizer.summarize_article(a))
        systems["lead-3"][a.name] = lead_n(a)
        clean = [c.original for c in summarizer.candidates([a]) if c.rank < 3]
        systems["lead-3-clean"][a.name] = " ".join(clean)
        systems["lead-words"][a.name] = lead_words(a, target_words)
    for ref in references:
        if ref["kind"] != "event":
            continue
        members = [by_name[m] for m in ref["members"] if m in by_name]
        if not members:
            continue
        extracts = summarizer.summarize_many(members)
        systems["offline"][ref["target"]] = " ".join(e.text for e in extracts)
        systems["lead-3"][ref["target"]] = lead_n(members[0])
        systems["lead-words"][ref["target"]] = lead_words(members[0], target_words)
        systems["lead-3-clean"][ref["target"]] = " ".join(
            c.original for c in summarizer.candidates(members[:1]) if c.rank < 3
        )
    results = compare(articles, references, systems)
    for line in notes:
        print(f"NOTE: {line}", file=sys.stderr)
    print(f"{'system':14} {'kind':8} {'n':>3} {'words':>5} " + " ".join(f"{k:>7}" for k in ROUGE_TYPES))
    for name, kinds in results.items():
        for kind, scores in kinds.items():
            row = " ".join(f"{100 * scores[k]:7.2f}" for k in ROUGE_TYPES)
            print(f"{name:14} {kind:8} {int(scores['n']):3d} {scores['words']:5.0f} {row}")
    if args.show:
        for target, text in systems["offline"].items():
            print(f"\n[{target}] {text}  ({count_words(text)} words)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
