"""Paired comparisons of the summary reranker's training recipe on held-out folds of *train*.

    OMP_NUM_THREADS=1 PYTHONPATH=. python models/summary-reranker/study.py data --work /tmp/study

Issue 12, seventh session: does the reranker (or the sentence scorer under it) gain from more
articles, another target, other tree settings?  Everything here is measured on the first
``--articles`` (12,000) of the seeded train sample (seed 12, as ``train.py``), cut into the same
five folds by article index (``k % 5``); every article is summarised by trees fitted on the other
folds, from sentence scores cross-fitted the same way, and the comparisons are *paired* (same
articles, same candidate summaries where the sentence scores are the same).  E1 is the first
6,000 articles (``train.py``'s default sample), E2 the next 6,000.  The sentence scorer's
variants may also learn from ``--extra`` further articles (never evaluated).  Candidate sets and
their features per sentence-score variant are cached as ``.npz`` under ``--work``.  Nothing of
the validation split or the seed articles is read.  Results are printed as JSON lines.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FOLDS = 5


def _module(name: str, path: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rr = _module("reranker_train", HERE / "train.py")
ss = _module("sentence_scorer_train", ROOT / "models" / "sentence-scorer" / "train.py")


class Study:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._items: list | None = None
        self._priors: list | None = None

    def items(self) -> list:
        if self._items is None:
            from eval.orangesum import ingest_examples, read_split

            n = self.args.articles + self.args.extra
            rows = read_split(self.args.data, "train", seed=self.args.seed)
            examples = rows[:n]  # the same seeded sample as read_split's limit gives
            self._items = rr.prepare(examples, ingest_examples(examples), self.args.target_words)
            # The reranker's word prior per fold, cross-fitted as train.py does.
            _, self._priors = rr.word_priors(rows, self._items, FOLDS)
        return self._items

    def sentence_scores(self, pool: int, hidden: int = 16, rank_target: bool = False, extra: bool = False):  # type: ignore[no-untyped-def]
        """Scores of the reranker's articles (k < articles): fold f by the scorer's recipe fitted on
        articles k < pool with k % 5 != f (with ``extra``, also every article past ``--articles``)."""
        items, n = self.items(), self.args.articles
        x = np.vstack([it["features"] for it in items])
        y = np.concatenate([it["y"] for it in items])
        sizes = [len(it["y"]) for it in items]
        k = np.repeat([it["k"] for it in items], sizes)
        if rank_target:  # each sentence's rank within its article, 0 (worst) to 1 (best)
            y = np.concatenate([_ranks(part) for part in np.split(y, np.cumsum(sizes)[:-1])])
        scores = np.full(len(y), np.nan)
        for f in range(FOLDS):
            train = (k < min(pool, n)) & (k % FOLDS != f)
            if extra:
                train |= (k >= n) & (k < pool)
            model, scaler = ss.fit(x[train], y[train], self.args.seed, hidden)
            test = (k % FOLDS == f) & (k < n)
            scores[test] = model.predict(scaler.transform(x[test]))
        chosen = [it for it in items if it["k"] < n]
        return chosen, np.split(scores[k < n], np.cumsum([len(it["y"]) for it in chosen])[:-1])

    def sets(self, name: str, **kw) -> dict:  # type: ignore[no-untyped-def]
        path = self.args.work / f"sets-{name}.npz"
        if path.exists():
            with np.load(path) as data:
                return {key: data[key] for key in data.files}
        chosen, scores = self.sentence_scores(**kw)
        x, y, groups, mmr, lead2 = rr.build_sets(chosen, scores, self.args.target_words, self._priors, FOLDS)
        out = {
            "x": x,
            "y": y,
            "groups": groups,
            "mmr": mmr,
            "lead2": lead2,
            "ks": np.array([it["k"] for it in chosen]),
            "target_words": np.array(self.args.target_words),
        }
        self.args.work.mkdir(parents=True, exist_ok=True)
        np.savez(path, **out)
        return out


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(np.argsort(values, kind="stable"), kind="stable")
    return order / max(1, len(values) - 1)


def _softmax(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    local = np.r_[0, np.cumsum(np.diff(groups) != 0)]
    e = np.exp(values - np.maximum.reduceat(values, starts)[local])
    return e / np.add.reduceat(e, starts)[local]


def target(y: np.ndarray, groups: np.ndarray, kind: str) -> np.ndarray:
    """``centred`` (train.py's), ``z`` (centred over the article's spread), ``rank``, or
    ``soft<T>`` (softmax of ROUGE-L / T within the article: a soft 'is the best')."""
    centred = rr.centred(y, groups)
    if kind == "centred":
        return centred
    if kind == "z":
        spread = np.sqrt(np.bincount(groups, weights=centred**2) / np.bincount(groups))
        return centred / np.maximum(spread, 0.01)[groups]
    if kind == "rank":
        starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
        return np.concatenate([_ranks(part) for part in np.split(y, starts[1:])])
    if kind.startswith("soft"):
        return _softmax(y / float(kind[4:]), groups)
    raise ValueError(kind)


def evaluate(d: dict, train_on, evaluate_on, label: str, kind: str = "centred", bias: float = 0.0, **trees):  # type: ignore[no-untyped-def]
    """Each evaluated article's ROUGE-L x100 (by article index) with trees fitted on the other folds."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from pipeline.summarize.rerank import SET_FEATURES

    x, y, groups = d["x"], d["y"], d["groups"]
    k = d["ks"][groups]
    fold, goal = k % FOLDS, target(y, groups, kind)
    settings = {"max_iter": 300, "max_leaf_nodes": 15, "learning_rate": 0.05} | trees
    predicted = np.full(len(y), np.nan)
    for f in range(FOLDS):
        model = HistGradientBoostingRegressor(early_stopping=False, random_state=12, **settings)
        train = train_on(k) & (fold != f)
        test = evaluate_on(k) & (fold == f)
        predicted[test] = model.fit(x[train], goal[train]).predict(x[test])
    predicted += bias * x[:, SET_FEATURES.index("mmr_choice")]  # a thumb on MMR's choice
    rows = np.flatnonzero(evaluate_on(k))
    chosen = rows[rr.picked(predicted[rows], groups[rows])]
    articles = groups[chosen]
    reranked, mmr = 100 * y[chosen], 100 * d["mmr"][articles]
    print(
        json.dumps(
            {
                "label": label,
                "articles": len(chosen),
                "reranked": round(float(reranked.mean()), 2),
                "mmr": round(float(mmr.mean()), 2),
                "lead2": round(float(100 * d["lead2"][articles].mean()), 2),
                "reranked_minus_mmr": round(float((reranked - mmr).mean()), 2),
                "ci95": rr.interval(reranked - mmr, 12),
                "words": round(
                    float(x[chosen, SET_FEATURES.index("total_words_ratio")].mean() * d["target_words"]), 1
                ),
            }
        ),
        flush=True,
    )
    return dict(zip(d["ks"][articles].tolist(), reranked.tolist(), strict=True))


def paired(a: dict, b: dict, label: str) -> None:
    common = sorted(set(a) & set(b))
    first, second = np.array([a[k] for k in common]), np.array([b[k] for k in common])
    print(
        json.dumps(
            {
                "label": label,
                "articles": len(common),
                "a": round(float(first.mean()), 2),
                "b": round(float(second.mean()), 2),
                "b_minus_a": round(float((second - first).mean()), 2),
                "ci95": rr.interval(second - first, 12),
            }
        ),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("study", choices=("data", "targets", "trees", "scorer", "bias"))
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/orangesum"))
    parser.add_argument("--articles", type=int, default=12000)
    parser.add_argument("--extra", type=int, default=2000, help="more articles, only for the sentence scorer")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--target-words", type=int, default=33)
    parser.add_argument("--work", type=Path, default=Path("/tmp/reranker-study"))
    args = parser.parse_args(argv)
    study, half = Study(args), args.articles // 2
    first = lambda k: k < half  # noqa: E731
    second = lambda k: k >= half  # noqa: E731
    every = lambda k: k >= 0  # noqa: E731
    small = study.sets("C6", pool=half)  # fold scorers fitted on ~4,800 articles (as train.py's 6,000)
    large = study.sets("C12", pool=args.articles)  # ... on ~9,600
    if args.study == "data":  # more reranker articles, better sentence scores; paired on E1 and on E2
        out = {}
        for s, d in (("C6", small), ("C12", large)):
            for r, on in (("R6", first), ("R12", every)):
                for e, ev in (("E1", first), ("E2", second)):
                    out[s, r, e] = evaluate(d, on, ev, f"scores {s}, reranker {r}, evaluated on {e}")
        for e in ("E1", "E2"):
            for s in ("C6", "C12"):
                paired(out[s, "R6", e], out[s, "R12", e], f"{s} {e}: R6 -> R12")
            for r in ("R6", "R12"):
                paired(out["C6", r, e], out["C12", r, e], f"{r} {e}: C6 -> C12")
    elif args.study == "targets":
        base = evaluate(large, every, every, "C12 R12 centred")
        for kind in ("z", "rank", "soft0.02", "soft0.05"):
            paired(base, evaluate(large, every, every, f"C12 R12 {kind}", kind=kind), f"centred -> {kind}")
    elif args.study == "trees":
        for name, d, on in (("C12 R12", large, every), ("C6 R6", small, first)):
            base = evaluate(d, on, every, f"{name} as train.py")
            for label, kw in (
                ("max_features 0.5", {"max_features": 0.5}),
                ("max_features 0.3", {"max_features": 0.3}),
                ("600 trees", {"max_iter": 600}),
                ("min_samples_leaf 100", {"min_samples_leaf": 100}),
            ):
                paired(base, evaluate(d, on, every, f"{name} {label}", **kw), f"{name}: -> {label}")
    elif args.study == "scorer":
        base = evaluate(large, every, every, "C12 R12")
        for name, kw in (
            ("X14", {"pool": args.articles + args.extra, "extra": True}),
            ("H32", {"pool": args.articles, "hidden": 32}),
            ("RK12", {"pool": args.articles, "rank_target": True}),
        ):
            paired(
                base, evaluate(study.sets(name, **kw), every, every, f"{name} R12"), f"C12 -> {name} (R12)"
            )
    else:
        for name, d, on in (("C6 R6", small, first), ("C12 R12", large, every)):
            for e, ev in (("E1", first), ("E2", second)):
                base = evaluate(d, on, ev, f"{name} {e}")
                for bias in (-0.005, -0.002, 0.002, 0.005, 0.01, 0.02):
                    paired(
                        base,
                        evaluate(d, on, ev, f"{name} {e} bias {bias}", bias=bias),
                        f"{name} {e}: bias {bias}",
                    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
