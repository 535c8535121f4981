"""Summary quality on OrangeSum (real French news, journalists' abstracts): the system against the lead.

    python bench/quality.py summaries --data ../shared/datasets/orangesum --split valid
    python bench/quality.py summaries --data ../shared/datasets/orangesum --split valid --limit 300 \\
        --set summarize.scorer=centrality      # the earlier unsupervised scorer
    python bench/quality.py summaries --data ../shared/datasets/orangesum --split valid \\
        --against summarize.headline=false     # and the system minus that variant, paired

Each article's body goes through the pipeline's real ingest (title as the document title;
cached, see :mod:`eval.orangesum`) and the real summarise stage code
(:func:`pipeline.summarize.summarize_articles`, offline backend, faithfulness guard
included), at ``--target-words`` (33 by default, the abstracts' mean length).  Rows:

* ``system``: the offline summariser with the settings given;
* ``against`` (with ``--against``): the same with those overrides as well, e.g. the headline off;
  the table then also gives system minus against with its paired bootstrap interval;
* ``lead-1``, ``lead-2``: the first one or two sentences as ingest segmented them;
* ``title``: the article's title alone, and ``title+lead-1``: its headline sentence
  (:func:`pipeline.summarize.sentences.headline`, where it makes one) before the first sentence;
  the system may open a summary with the headline, so these show what the title alone brings;
* ``oracle``: the best at most two ingest sentences (by ROUGE-1/2 F against the abstract).

ROUGE-1/2/L F-measure x 100 (rouge-score, no stemming) with rouge-score's default tokenizer
(the published convention: comparable with BARThez's table) and with the project's French
tokenizer; each row has n and the mean length in words; each system row has a paired
bootstrap 95 % interval (scipy.stats.bootstrap, percentile) of its difference with LEAD-2.
The table also counts the surface defects selection must avoid, and the time per article.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
TOKENIZERS = ("rouge-default", "french")
BASELINE = "lead-2"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/orangesum"))
    parser.add_argument("--split", default="valid", choices=("train", "valid"))
    parser.add_argument("--limit", type=int, default=None, help="the first N articles of the split")
    parser.add_argument("--target-words", type=int, default=33)
    parser.add_argument("--set", action="append", default=[], help="settings override section.key=value")
    parser.add_argument("--bootstrap-samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--json", type=Path, default=None, help="write the table here")
    parser.add_argument("--show", type=int, default=0, help="print this many summaries with their abstracts")
    parser.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="also run the system with these overrides (row 'against') and give system minus it, paired",
    )


def main(args: argparse.Namespace) -> int:
    from eval.orangesum import ingest_examples, read_split
    from pipeline.settings import Settings

    overrides = {"summarize.backend": "offline", "summarize.target_words": args.target_words}
    overrides.update(_overrides(args.set))
    settings = Settings.load(overrides=overrides)

    started = time.perf_counter()
    examples = read_split(args.data, args.split, args.limit)
    articles = ingest_examples(examples, settings)
    kept = [(e, a) for e, a in zip(examples, articles, strict=True) if a is not None]
    ingest_s = time.perf_counter() - started
    print(
        f"{len(kept)} of {len(examples)} {args.split} articles ingested ({ingest_s:.0f} s, cached)",
        file=sys.stderr,
    )

    systems, summarize_s, notes, defects = run_system(kept, settings)
    if args.against:
        variant = Settings.load(overrides={**overrides, **_overrides(args.against)})
        systems["against"] = run_system(kept, variant)[0]["system"]
    systems.update(baselines(kept))
    references = [e.abstract for e, _ in kept]
    per_item = {name: table_items(texts, references) for name, texts in systems.items()}
    table = score(systems, per_item, args.bootstrap_samples, args.seed)
    result = {
        "dataset": f"orangesum/{args.split}",
        "n_articles": len(kept),
        "rejected_by_ingest": len(examples) - len(kept),
        "target_words": args.target_words,
        "settings": {k: v for k, v in vars(settings.summarize).items()},
        "rouge": "rouge-score F-measure x100, no stemming",
        "bootstrap": f"scipy.stats.bootstrap, paired, percentile, {args.bootstrap_samples} resamples, "
        f"seed {args.seed}",
        "systems": table,
        "against": args.against,  # overrides of the 'against' row
        "defects": defects,
        "summarize_seconds_per_article": summarize_s / max(1, len(kept)),
        "notes": notes,
    }
    if args.against:
        table["system"]["minus_against"] = paired_deltas(
            per_item["system"], per_item["against"], args.bootstrap_samples, args.seed
        )
    print_table(result)
    for k, (e, a) in enumerate(kept[: args.show]):
        print(f"\n[{e.id}] {a.title}\n  SYSTEM: {systems['system'][k]}\n  ABSTRACT: {e.abstract}")
    if args.json:
        write_json(args.json, result)
    return 0


def _overrides(items: list[str]) -> dict[str, str]:
    """``section.key=value`` arguments as a settings overrides mapping."""
    return dict(item.split("=", 1) for item in items)


def run_system(kept, settings):  # type: ignore[no-untyped-def]
    """The stage's summaries, the time it took and the surface defects of its output."""
    from pipeline.cache import NullCache
    from pipeline.summarize import summarize_articles

    articles = [a for _, a in kept]
    started = time.perf_counter()
    summaries, result = summarize_articles(articles, settings.summarize, clusters=[], cache=NullCache())
    elapsed = time.perf_counter() - started
    by_target = {s.target: s for s in summaries}
    texts = [by_target[a.id].text for a in articles]
    defects = count_defects([by_target[a.id] for a in articles], articles, settings.summarize.target_words)
    return {"system": texts}, elapsed, [*result.notes, f"backend: {result.backend} {result.model}"], defects


def baselines(kept) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    from eval.extractive_oracle import oracle
    from eval.tokenizers import get_tokenizer
    from pipeline.summarize.sentences import headline

    tokenizer = get_tokenizer("rouge-default")
    out: dict[str, list[str]] = {"lead-1": [], "lead-2": [], "title": [], "title+lead-1": [], "oracle": []}
    for example, article in kept:
        sentences = [s.strip() for s in article.sentence_texts()]
        out["lead-1"].append(" ".join(sentences[:1]))
        out["lead-2"].append(" ".join(sentences[:2]))
        out["title"].append(article.title or "")
        out["title+lead-1"].append(" ".join([headline(article.title) or "", *sentences[:1]]).strip())
        out["oracle"].append(" ".join(sentences[i] for i in oracle(sentences, example.abstract, tokenizer)))
    return out


def table_items(texts: list[str], references: list[str]) -> dict[str, np.ndarray]:
    """Per ``rouge type/tokenizer``: each summary's F-measure x 100."""
    from eval.metrics.rouge import Rouge

    out = {}
    for tok in TOKENIZERS:
        for kind in ROUGE_TYPES:
            metric = Rouge(kind, tok)
            values = [metric.item_statistics((t, r)) for t, r in zip(texts, references, strict=True)]
            out[f"{kind}/{tok}"] = 100.0 * np.asarray(values)
    return out


def paired_deltas(
    items: dict[str, np.ndarray], base: dict[str, np.ndarray], samples: int, seed: int
) -> dict[str, dict]:
    """Per key: the mean of ``items - base`` and its paired bootstrap 95 % interval."""
    from scipy.stats import bootstrap

    out = {}
    for key, values in items.items():
        ci = bootstrap(
            (values, base[key]),
            lambda a, b, axis: np.mean(a - b, axis=axis),
            paired=True,
            vectorized=True,
            n_resamples=samples,
            confidence_level=0.95,
            method="percentile",
            random_state=seed,
        ).confidence_interval
        out[key] = {"delta": float((values - base[key]).mean()), "ci95": [float(ci.low), float(ci.high)]}
    return out


def score(
    systems: dict[str, list[str]], per_item: dict[str, dict[str, np.ndarray]], samples: int, seed: int
) -> dict:
    """Each system's row: n, mean words, mean ROUGE per key (from ``per_item``: :func:`table_items`),
    and, but for LEAD-2 itself, its paired difference with LEAD-2."""
    from pipeline.summarize.sentences import count_words

    table = {}
    for name, texts in systems.items():
        row: dict = {"n": len(texts), "mean_words": float(np.mean([count_words(t) for t in texts]))}
        for key, values in per_item[name].items():
            row[key] = float(values.mean())
        if name != BASELINE:
            row["minus_lead2"] = paired_deltas(per_item[name], per_item[BASELINE], samples, seed)
        table[name] = row
    return table


_QUOTES_OPEN = "«“"
_QUOTES_CLOSE = "»”"


def count_defects(summaries, articles, target_words: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Surface defects, read from the summaries and their source spans (independently of selection)."""
    counts = dict.fromkeys(
        (
            "empty",
            "starts_with_punctuation",
            "starts_with_closing_quote",
            "starts_lowercase",
            "starts_inside_quote",
            "unbalanced_quotes",
            "cut_sentence",
            "first_sentence_over_1_5x_target",
            "over_60_words",
        ),
        0,
    )
    by_id = {a.id: a for a in articles}
    for summary in summaries:
        text = summary.text.strip()
        if not text:
            counts["empty"] += 1
            continue
        first = text[0]
        counts["starts_with_closing_quote"] += first in _QUOTES_CLOSE
        counts["starts_with_punctuation"] += bool(re.match(r"[^\w«“\"(]", first))
        counts["starts_lowercase"] += first.islower()
        counts["unbalanced_quotes"] += text.count('"') % 2 == 1 or sum(map(text.count, _QUOTES_OPEN)) != sum(
            map(text.count, _QUOTES_CLOSE)
        )
        counts["cut_sentence"] += any(
            not s.text.rstrip().endswith(tuple('.!?»"”…)')) for s in summary.sentences
        )
        words = len(re.findall(r"\w+(?:['’-]\w+)*", summary.sentences[0].text))
        counts["first_sentence_over_1_5x_target"] += words > 1.5 * target_words
        counts["over_60_words"] += len(re.findall(r"\w+(?:['’-]\w+)*", text)) > 60
        source = summary.sentences[0].sources[0]
        if source.part == "title":  # a headline sentence: checked whole by sentences.headline
            continue
        article = by_id[source.article_id]
        paragraph_start = max((p.start for p in article.paragraphs if p.start <= source.start), default=0)
        before = article.text[paragraph_start : source.start]
        inside = before.count('"') % 2 == 1 or sum(map(before.count, _QUOTES_OPEN)) > sum(
            map(before.count, _QUOTES_CLOSE)
        )
        counts["starts_inside_quote"] += inside
    return counts


def print_table(result: dict) -> None:
    print(f"\n{result['dataset']}: {result['n_articles']} articles, target {result['target_words']} words")
    for tok in TOKENIZERS:
        print(f"\nROUGE F x100, tokenizer {tok}")
        width = max(len(name) for name in result["systems"])
        print(
            f"{'system':{width}} {'n':>5} {'words':>6} {'R-1':>6} {'R-2':>6} {'R-L':>6}"
            "   R-L minus LEAD-2 [95% CI]"
        )
        for name, row in result["systems"].items():
            scores = " ".join(f"{row[f'{k}/{tok}']:6.2f}" for k in ROUGE_TYPES)
            delta = ""
            if "minus_lead2" in row:
                d = row["minus_lead2"][f"rougeL/{tok}"]
                delta = f"   {d['delta']:+.2f} [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]"
            print(f"{name:{width}} {row['n']:5d} {row['mean_words']:6.1f} {scores}{delta}")
    against = result["systems"]["system"].get("minus_against")
    if against:
        print(f"\nsystem minus against ({', '.join(result['against'])}), paired [95% CI]:")
        for key, d in against.items():
            print(f"  {key:20} {d['delta']:+.2f} [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]")
    print("\ndefects:", ", ".join(f"{k} {v}" for k, v in result["defects"].items()))
    print(f"summarize: {result['summarize_seconds_per_article'] * 1000:.1f} ms per article")
    for note in result["notes"]:
        print(f"note: {note}")


def write_json(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, ensure_ascii=False)
    os.replace(tmp, path)
