"""Train the offline summariser's sentence scorer on OrangeSum's train split; write its weights.

    PYTHONPATH=. python models/sentence-scorer/train.py --data ../shared/datasets/orangesum

For a seeded sample of train articles (``--articles``, default 5000: the shipped weights), each article goes
through the pipeline's real ingest (cached: :mod:`eval.orangesum`) and the summariser's own
candidate sentences (:func:`pipeline.summarize.offline.candidate_units`).  Each candidate's
target is its mean ROUGE-1/ROUGE-2 F-measure against the journalist's abstract (French
tokenizer; :mod:`eval.extractive_oracle`); its features are :mod:`pipeline.summarize.features`.
A small multi-layer perceptron (scikit-learn, fixed seed) regresses the target; a held-out
tenth of the articles reports how often the top-scored sentence is the best one.  The weights
are written as plain JSON numbers (never pickle) to
``pipeline/summarize/weights/sentence-scorer-orangesum.json``; ``--update-catalogue`` pins their SHA-256
in ``models/catalogue.toml``.  Nothing of the validation split or the seed articles is read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ENTRY = "sentence-scorer-orangesum"
WEIGHTS = HERE.parents[1] / "pipeline" / "summarize" / "weights" / f"{ENTRY}.json"


def build_matrix(examples, articles):  # type: ignore[no-untyped-def]
    """Features, targets and article ids of every candidate sentence."""
    from eval.extractive_oracle import sentence_scores
    from eval.tokenizers import get_tokenizer
    from pipeline.summarize.features import article_features
    from pipeline.summarize.offline import candidate_units

    tokenizer = get_tokenizer("french")
    xs, ys, groups = [], [], []
    for k, (example, article) in enumerate(zip(examples, articles, strict=True)):
        if article is None:
            continue
        all_units, picked = candidate_units(article)
        if len(picked) < 2:
            continue
        xs.append(article_features(article, all_units, picked))
        ys.append(np.asarray(sentence_scores([u.text for u in picked], example.abstract, tokenizer)))
        groups.append(np.full(len(picked), k))
    return np.vstack(xs), np.concatenate(ys), np.concatenate(groups)


def fit(x: np.ndarray, y: np.ndarray, seed: int, hidden: int = 16):  # type: ignore[no-untyped-def]
    """The scorer's recipe: standardised features, a small MLP (scikit-learn, fixed seed)."""
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scaler.scale_[scaler.scale_ == 0] = 1.0  # the bias column and constant features
    model = MLPRegressor(
        hidden_layer_sizes=(hidden,) if hidden else (),
        activation="relu",
        alpha=1e-3,
        learning_rate_init=1e-3,
        max_iter=60,
        early_stopping=True,
        random_state=seed,
    )
    model.fit(scaler.transform(x), y)
    return model, scaler


def top1_quality(scores: np.ndarray, targets: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    """Mean target of each article's top-scored sentence, and how often it is the article's best."""
    picked, hits = [], []
    for g in np.unique(groups):
        mask = groups == g
        best = int(np.argmax(scores[mask]))
        picked.append(targets[mask][best])
        hits.append(targets[mask][best] >= targets[mask].max())
    return float(np.mean(picked)), float(np.mean(hits))


def export(model, scaler, features, meta) -> dict:  # type: ignore[no-untyped-def]
    from pipeline.summarize.scorer import FORMAT

    return {
        "format": FORMAT,
        "features": list(features),
        "mean": scaler.mean_.tolist(),
        "scale": scaler.scale_.tolist(),
        "activation": "relu",
        "layers": [
            {"weight": w.tolist(), "bias": b.tolist()}
            for w, b in zip(model.coefs_, model.intercepts_, strict=True)
        ],
        "training": meta,
    }


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def pin_in_catalogue(catalogue: Path, digest: str, entry: str = ENTRY) -> None:
    text = catalogue.read_text(encoding="utf-8")
    table = re.search(rf"^\[{re.escape(entry)}\]\n(?:(?!^\[).*\n)*", text, flags=re.MULTILINE)
    if table is None:
        raise SystemExit(f"no [{entry}] table in {catalogue}")
    body = re.sub(r'^revision = ".*"', f'revision = "sha256:{digest}"', table.group(), flags=re.MULTILINE)
    write_atomic(catalogue, text[: table.start()] + body + text[table.end() :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/orangesum"))
    parser.add_argument("--articles", type=int, default=5000, help="train articles sampled (seeded)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=16, help="hidden units (0 = a linear model)")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument(
        "--update-catalogue", action="store_true", help="pin the new SHA-256 in the catalogue"
    )
    args = parser.parse_args(argv)

    from eval.orangesum import ingest_examples, read_split
    from pipeline.summarize.features import FEATURES

    started = time.perf_counter()
    examples = read_split(args.data, "train", limit=args.articles, seed=args.seed)
    articles = ingest_examples(examples)
    parsed = time.perf_counter()
    x, y, groups = build_matrix(examples, articles)
    featurised = time.perf_counter()
    held_out = groups % 10 == 0  # a tenth of the articles, for the report only
    model, scaler = fit(x[~held_out], y[~held_out], args.seed, args.hidden)
    scores = model.predict(scaler.transform(x[held_out]))
    mean_top1, hit_rate = top1_quality(scores, y[held_out], groups[held_out])
    lead_top1, lead_hits = top1_quality(
        -x[held_out][:, FEATURES.index("log_index")], y[held_out], groups[held_out]
    )
    done = time.perf_counter()
    meta = {
        "data": "OrangeSum train split (CC BY-SA 4.0), Kamal Eddine et al. 2020",
        "articles": len(np.unique(groups)),
        "sentences": len(y),
        "seed": args.seed,
        "hidden": args.hidden,
        "target": "mean ROUGE-1/2 F of the sentence vs the abstract (French tokenizer)",
        "held_out_top1_target": round(mean_top1, 4),
        "held_out_top1_is_best": round(hit_rate, 4),
        "held_out_lead_target": round(lead_top1, 4),
        "held_out_lead_is_best": round(lead_hits, 4),
    }
    # Timings are printed, not stored: the same data and seed give the same file, byte for byte.
    seconds = {"ingest": parsed - started, "features": featurised - parsed, "fit": done - featurised}
    text = json.dumps(export(model, scaler, FEATURES, meta), indent=1) + "\n"
    write_atomic(args.out, text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    print(json.dumps(meta, indent=1))
    print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))
    print(f"wrote {args.out} ({len(text.encode()) / 1024:.1f} KiB), sha256 {digest}")
    if args.update_catalogue:
        pin_in_catalogue(HERE.parent / "catalogue.toml", digest)
        print(f"pinned sha256:{digest} for [{ENTRY}] in models/catalogue.toml")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))  # the repository root: pipeline/ and eval/
    raise SystemExit(main())
