"""How many articles may share a blocking item that still names one event?  ``dedup.max_blocking_df``.

Event blocking (:mod:`pipeline.dedup.events`) proposes a pair when the two
articles' sets of entity keys and keywords collide in a MinHash LSH; an item
in more than ``max_blocking_df`` articles is left out of the sets.  A cap too
low drops the names that reports of one event share; too high, and names of
public figures and places make every article a candidate of thousands.

Measured on the OrangeSum event dev set (``bench/events_devset.py``), at the
scale of the whole OrangeSum archive: document frequencies are counted over
the dev part's articles plus every other OrangeSum article (~34k, 2011-2020),
entity keys by their folded words in the text.  For each cap K, each dev
article's blocking set is built as the stage builds it (entity keys with
2 <= df <= K, and its top TF-IDF keywords among such words), and for each
same-story pair the chance that the LSH proposes it, ``1 - (1 - J^r)^b``
(``J``: the Jaccard of the two sets; ``b, r``: the bands and rows datasketch
picks for ``dedup.blocking_threshold``).  The table gives its mean over the
gold pairs (blocking recall), the same for the hard-negative pairs, the items
per article and the mean df of an item (how many articles each can collide
with: the cost).

    python bench/blocking_df.py --data ../shared/datasets/orangesum [--part calibration]
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from events_devset import build, load_orangesum
from quality_events import to_articles

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # as pipeline.dedup.entities splits a key
CAPS = (10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 10**9)


def archive_frequencies(
    data: Path, skip: set[str], entity_keys: set[str]
) -> tuple[Counter[str], Counter[str], int]:
    """Document frequencies over the OrangeSum articles not in ``skip``: content words, and the
    ``entity_keys`` found as runs of folded words; also how many articles were counted."""
    from pipeline.dedup.shingles import content_words
    from pipeline.french import fold

    rows, _ = load_orangesum(data)
    first: dict[str, list[tuple[str, ...]]] = {}  # multi-word keys by their first word
    for key in entity_keys:
        words = tuple(key.split())
        first.setdefault(words[0], []).append(words)
    word_df: Counter[str] = Counter()
    key_df: Counter[str] = Counter()
    counted = 0
    for article_id, row in rows.items():
        if article_id in skip:
            continue
        counted += 1
        text = row["article"]
        word_df.update(set(content_words(text)))
        tokens = _TOKEN.findall(fold(unicodedata.normalize("NFC", text)))
        found = set()
        for at, token in enumerate(tokens):
            for words in first.get(token, ()):
                if tuple(tokens[at : at + len(words)]) == words:
                    found.add(" ".join(words))
        key_df.update(found)
    return word_df, key_df, counted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/orangesum"))
    parser.add_argument("--part", default="calibration", choices=["calibration", "heldout"])
    args = parser.parse_args()
    from datasketch import MinHashLSH

    from pipeline.dedup.entities import entity_keys
    from pipeline.dedup.events import top_keywords
    from pipeline.dedup.shingles import content_words
    from pipeline.settings import Settings

    start = time.process_time()
    full = build(args.data)
    dev = full.part(args.part)
    keep = {a.id for a in dev.articles}
    articles = [a for a in to_articles(full) if a.id in keep]
    story = {a.id: a.story for a in dev.articles}
    index = {a.id: k for k, a in enumerate(articles)}
    bags = [Counter(content_words(a.text)) for a in articles]
    ents = [set(entity_keys(a.entities, a.text)) for a in articles]
    every_key = set().union(*ents)
    skip = {a.id.removesuffix("~rr") for a in full.articles}  # the whole dev set, both parts
    word_df, key_df, background = archive_frequencies(args.data, skip, every_key)
    n = background + len(articles)
    for bag, keys in zip(bags, ents, strict=True):
        word_df.update(bag.keys())
        key_df.update(keys)

    config = Settings().dedup
    lsh = MinHashLSH(threshold=config.blocking_threshold, num_perm=config.num_perm)
    bands, rows = lsh.b, lsh.r
    gold = [
        (index[x.id], index[y.id])
        for x, y in itertools.combinations(dev.articles, 2)
        if story[x.id] == story[y.id]
    ]
    negatives = [(index[a], index[b]) for a, b, _ in dev.hard_negatives]
    print(
        f"{args.part}: {len(articles)} dev articles, {len(gold)} same-story pairs, {len(negatives)} hard "
        f"negatives; df over {n} articles ({background} other OrangeSum articles); LSH b={bands} r={rows}"
    )
    print(f"{'cap K':>7} {'recall':>7} {'HN prop.':>8} {'items/art':>9} {'mean df':>8}")
    table = []
    for cap in CAPS:
        sets = [  # as pipeline.dedup.events builds them, with the cap K alone
            {k for k in keys if 2 <= key_df[k] <= cap}
            | top_keywords(bag.items(), word_df, n, cap, config.keywords_per_article)
            for bag, keys in zip(bags, ents, strict=True)
        ]

        def proposed(pairs: list[tuple[int, int]], sets: list[set[str]] = sets) -> float:
            chances = []
            for i, j in pairs:
                union = len(sets[i] | sets[j])
                jac = len(sets[i] & sets[j]) / union if union else 0.0
                chances.append(1 - (1 - jac**rows) ** bands)
            return sum(chances) / max(len(chances), 1)

        dfs = [key_df[k] if k in key_df and k not in word_df else word_df[k] for s in sets for k in s]
        row = (cap, proposed(gold), proposed(negatives), len(dfs) / len(sets), sum(dfs) / max(len(dfs), 1))
        table.append(row)
        shown = "none" if cap >= 10**9 else str(cap)
        print(f"{shown:>7} {row[1]:>7.4f} {row[2]:>8.4f} {row[3]:>9.1f} {row[4]:>8.1f}", flush=True)
    print(f"({time.process_time() - start:.0f} s CPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
