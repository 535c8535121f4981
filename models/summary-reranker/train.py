"""Train the offline summariser's summary reranker on OrangeSum's train split; write its weights.

    PYTHONPATH=. python models/summary-reranker/train.py --data ../shared/datasets/orangesum

For a seeded sample of train articles (``--articles``, default 6000; the same seeded order as the
sentence scorer's), each article goes through the pipeline's real ingest (cached:
:mod:`eval.orangesum`) and the summariser's candidate sentences.  The sentence scorer's scores
are *cross-fitted*: the articles are split into ``--folds`` folds by their index in the sample,
and each fold is scored by the sentence scorer's recipe (``models/sentence-scorer/train.py``)
fitted on the other folds, so the reranker learns from scores as imperfect as on unseen news.
For each article, the candidate summaries (:func:`pipeline.summarize.rerank.candidate_sets`,
at ``--target-words``) get their features (:func:`~pipeline.summarize.rerank.set_features`)
and their target: ROUGE-L F-measure against the abstract (rouge-score's default tokenizer),
minus the article's mean over its candidates (only the order within an article matters).
The reranker's word prior (:class:`~pipeline.summarize.rerank.WordPrior`: how often an article's
word is in its abstract) is counted on every train article (title and body as in the dataset);
it is cross-fitted too: the features of a sample article read a prior counted without the
articles of its fold, and the shipped prior counts them all.
Gradient-boosted trees (scikit-learn, fixed seed) regress it.  The report: the same folds again,
each article summarised by trees fitted on the other folds, against what MMR picks from the
same scores, with a paired bootstrap 95 % interval.  The trees are written as JSON node arrays
(never pickle) to ``pipeline/summarize/weights/summary-reranker-orangesum.json``;
``--update-catalogue`` pins their SHA-256 in ``models/catalogue.toml``.  Nothing of the
validation split or the seed articles is read.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ENTRY = "summary-reranker-orangesum"
WEIGHTS = ROOT / "pipeline" / "summarize" / "weights" / f"{ENTRY}.json"


def _sentence_scorer_training():  # type: ignore[no-untyped-def]
    """``models/sentence-scorer/train.py`` as a module (its folder name is not a package name)."""
    spec = importlib.util.spec_from_file_location(
        "sentence_scorer_train", ROOT / "models" / "sentence-scorer" / "train.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare(examples, articles, target: int):  # type: ignore[no-untyped-def]
    """Per article: what the reranker's features need, the sentence targets and the reference tokens."""
    from eval.extractive_oracle import sentence_scores
    from eval.tokenizers import get_tokenizer
    from pipeline.summarize.features import article_features
    from pipeline.summarize.offline import OfflineSummarizer
    from pipeline.summarize.sentences import headline

    french, default = get_tokenizer("french"), get_tokenizer("rouge-default")
    summarizer = OfflineSummarizer(None, target_words=target)
    out = []
    for k, (example, article) in enumerate(zip(examples, articles, strict=True)):
        if article is None:
            continue
        pool = summarizer._pool([article], None)
        _, all_units, picked = pool.per_article[0]
        if len(picked) < 2:
            continue
        opening = headline(article.title)
        out.append(
            {
                "k": k,
                "article": article,
                "lede": all_units[0].text,
                "candidates": pool.candidates,
                "features": article_features(article, all_units, picked),
                "y": np.asarray(sentence_scores([u.text for u in picked], example.abstract, french)),
                "similarity": summarizer.similarity(pool.candidates),
                "reference": default.tokenize(example.abstract),
                "tokens": [default.tokenize(u.text) for u in picked],
                "headline_tokens": default.tokenize(opening) if opening else [],
                "lead2": default.tokenize(" ".join(s.strip() for s in article.sentence_texts()[:2])),
            }
        )
    return out


def cross_fitted_scores(items, folds: int, seed: int) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    """Each article's sentence scores from the sentence scorer's recipe fitted on the other folds."""
    fit = _sentence_scorer_training().fit
    x = np.vstack([it["features"] for it in items])
    y = np.concatenate([it["y"] for it in items])
    fold = np.concatenate([np.full(len(it["y"]), it["k"] % folds) for it in items])
    scores = np.zeros(len(y))
    for f in range(folds):
        model, scaler = fit(x[fold != f], y[fold != f], seed)
        scores[fold == f] = model.predict(scaler.transform(x[fold == f]))
    return np.split(scores, np.cumsum([len(it["y"]) for it in items])[:-1])


def word_priors(rows, items, folds: int):  # type: ignore[no-untyped-def]
    """The word prior of every train row, and per fold the one without that fold's sample articles."""
    from pipeline.summarize.rerank import WordPrior, prior_counts

    def counts(examples):  # type: ignore[no-untyped-def]
        return prior_counts((f"{e.title} {e.body}", e.abstract) for e in examples)

    seen, kept = counts(rows)
    per_fold = []
    for f in range(folds):
        fold_seen, fold_kept = counts(rows[it["k"]] for it in items if it["k"] % folds == f)
        per_fold.append(WordPrior.from_counts(seen - fold_seen, kept - fold_kept))
    return WordPrior.from_counts(seen, kept), per_fold


def build_sets(items, scores, target: int, priors, folds: int, headlines: bool = True):  # type: ignore[no-untyped-def]
    """Features, ROUGE-L targets and article numbers of every candidate summary; MMR and LEAD-2 ROUGE-L.
    With ``headlines``, candidate summaries may open with the article's headline, as at inference."""
    from rouge_score.rouge_scorer import _score_lcs

    from pipeline.summarize.offline import OfflineSummarizer, _scale
    from pipeline.summarize.rerank import HEADLINE, candidate_summaries

    summarizer = OfflineSummarizer(None, target_words=target)
    xs, ys, groups, mmr, lead2 = [], [], [], [], []
    for a, (it, raw) in enumerate(zip(items, scores, strict=True)):
        cands = it["candidates"]
        chosen = summarizer.select(cands, _scale(raw), it["similarity"], target)
        sets, x, _ = candidate_summaries(
            it["article"],
            it["lede"],
            cands,
            it["features"],
            raw,
            it["similarity"],
            chosen,
            target,
            priors[it["k"] % folds],
            headlines,
        )
        xs.append(x)
        rouge = [
            _score_lcs(
                it["reference"],
                [t for k in s for t in (it["headline_tokens"] if k == HEADLINE else it["tokens"][k])],
            ).fmeasure
            for s in sets
        ]
        ys.append(np.asarray(rouge))
        groups.append(np.full(len(sets), a))
        mmr.append(_score_lcs(it["reference"], [t for k in sorted(chosen) for t in it["tokens"][k]]).fmeasure)
        lead2.append(_score_lcs(it["reference"], it["lead2"]).fmeasure)
    return np.vstack(xs), np.concatenate(ys), np.concatenate(groups), np.asarray(mmr), np.asarray(lead2)


def centred(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    means = np.bincount(groups, weights=y) / np.bincount(groups)
    return y - means[groups]


def trees(args):  # type: ignore[no-untyped-def]
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        max_iter=args.trees,
        max_leaf_nodes=args.leaves,
        learning_rate=args.learning_rate,
        early_stopping=False,
        random_state=args.seed,
    )


def picked(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per article (groups are contiguous), the row of its top-scored candidate summary."""
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    ends = np.r_[starts[1:], len(groups)]
    return np.array([s + int(np.argmax(scores[s:e])) for s, e in zip(starts, ends, strict=True)])


def interval(delta: np.ndarray, seed: int) -> list[float]:
    from scipy.stats import bootstrap

    ci = bootstrap(
        (delta,), np.mean, n_resamples=2000, method="percentile", random_state=seed
    ).confidence_interval
    return [round(float(ci.low), 2), round(float(ci.high), 2)]


def export(model, meta, prior) -> dict:  # type: ignore[no-untyped-def]
    """Each tree as flat node arrays (parent before child); a leaf has feature -1 and adds its value."""
    from pipeline.summarize.rerank import FORMAT, SET_FEATURES

    out, depth = [], 0
    for (predictor,) in model._predictors:  # one predictor per boosting round (single output)
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool)
        depth = max(depth, int(nodes["depth"].max()))
        out.append(
            {
                "feature": np.where(leaf, -1, nodes["feature_idx"]).tolist(),
                "threshold": np.where(leaf, 0.0, nodes["num_threshold"]).tolist(),
                "left": np.where(leaf, 0, nodes["left"]).tolist(),
                "right": np.where(leaf, 0, nodes["right"]).tolist(),
                "value": np.where(leaf, nodes["value"], 0.0).tolist(),
            }
        )
    return {
        "format": FORMAT,
        "features": list(SET_FEATURES),
        "baseline": float(np.ravel(model._baseline_prediction)[0]),
        "depth": depth,
        "trees": out,
        "word_prior": {"base": prior.base, "words": dict(prior.words)},
        "training": meta,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/orangesum"))
    parser.add_argument("--articles", type=int, default=6000, help="train articles sampled (seeded)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--target-words", type=int, default=33, help="the abstracts' mean length")
    parser.add_argument("--trees", type=int, default=300, help="boosting rounds (trees)")
    parser.add_argument("--leaves", type=int, default=15, help="leaves per tree at most")
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument(
        "--update-catalogue", action="store_true", help="pin the new SHA-256 in the catalogue"
    )
    args = parser.parse_args(argv)

    from eval.orangesum import ingest_examples, read_split

    scorer_training = _sentence_scorer_training()
    clock = [time.perf_counter()]
    rows = read_split(args.data, "train", seed=args.seed)
    examples = rows[: args.articles]  # the same seeded sample as read_split's limit gives
    articles = ingest_examples(examples)
    clock.append(time.perf_counter())
    items = prepare(examples, articles, args.target_words)
    clock.append(time.perf_counter())
    scores = cross_fitted_scores(items, args.folds, args.seed)
    prior, priors = word_priors(rows, items, args.folds)
    x, y, groups, mmr, lead2 = build_sets(items, scores, args.target_words, priors, args.folds)
    target = centred(y, groups)
    clock.append(time.perf_counter())

    # The report: every article reranked by trees fitted on the other folds.
    fold = np.array([it["k"] % args.folds for it in items])[groups]
    cv = np.zeros(len(y))
    for f in range(args.folds):
        cv[fold == f] = trees(args).fit(x[fold != f], target[fold != f]).predict(x[fold == f])
    chosen = picked(cv, groups)
    reranked = 100 * y[chosen]
    # The same trees with the headline never offered (``summarize.headline = false``).
    from pipeline.summarize.rerank import SET_FEATURES

    opens = x[:, SET_FEATURES.index("headline")] > 0
    body = np.flatnonzero(~opens)
    body_only = 100 * y[body[picked(cv[body], groups[body])]]
    model = trees(args).fit(x, target)
    clock.append(time.perf_counter())
    meta = {
        "data": "OrangeSum train split (CC BY-SA 4.0), Kamal Eddine et al. 2020",
        "articles": len(items),
        "word_prior_articles": len(rows),
        "word_prior_words": len(prior.words),
        "candidate_summaries": len(y),
        "seed": args.seed,
        "folds": args.folds,
        "target_words": args.target_words,
        "trees": args.trees,
        "leaves": args.leaves,
        "learning_rate": args.learning_rate,
        "target": "ROUGE-L F of the candidate summary vs the abstract (rouge-score default tokenizer), "
        "minus the article's mean",
        "cross_fitted_rougeL": {
            "reranked": round(float(reranked.mean()), 2),
            "mmr": round(float(100 * mmr.mean()), 2),
            "lead2": round(float(100 * lead2.mean()), 2),
            "reranked_minus_mmr": round(float(reranked.mean() - 100 * mmr.mean()), 2),
            "reranked_minus_mmr_ci95": interval(reranked - 100 * mmr, args.seed),
            "reranked_words": round(
                float(x[chosen, SET_FEATURES.index("total_words_ratio")].mean() * args.target_words), 1
            ),
            "opens_with_headline": round(float(opens[chosen].mean()), 3),
            "without_headline": round(float(body_only.mean()), 2),
            "reranked_minus_without_headline_ci95": interval(reranked - body_only, args.seed),
        },
    }
    # Timings are printed, not stored: the same data and seed give the same file, byte for byte.
    spans = ("ingest", "features", "sentence scores and summary sets", "fit")
    text = json.dumps(export(model, meta, prior), indent=None, separators=(",", ":")) + "\n"
    scorer_training.write_atomic(args.out, text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    print(json.dumps(meta, indent=1))
    took = zip(spans, clock[:-1], clock[1:], strict=True)
    print("seconds: " + ", ".join(f"{s} {b - a:.1f}" for s, a, b in took))
    print(f"wrote {args.out} ({len(text.encode()) / 1024:.1f} KiB), sha256 {digest}")
    if args.update_catalogue:
        scorer_training.pin_in_catalogue(HERE.parent / "catalogue.toml", digest, ENTRY)
        print(f"pinned sha256:{digest} for [{ENTRY}] in models/catalogue.toml")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # the repository root: pipeline/ and eval/
    raise SystemExit(main())
