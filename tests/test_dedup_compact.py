"""Dedup's compact structures give what the plain ones would: datasketch's LSH candidates,
exact Jaccard, the same pair scores whichever way a pair is reached."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from datasketch import MinHashLSH

from pipeline.dedup import blocking
from pipeline.dedup.dates import DateEvidence, date_compatibility, far_published, publication_ordinals
from pipeline.dedup.events import (
    ArticleProfile,
    PairScorer,
    blocking_cap,
    build_profiles,
    candidate_pairs,
    round4,
)
from pipeline.dedup.passages import _FEW_CANDIDATES, LeaderIndex
from pipeline.dedup.shingles import jaccard, signature
from pipeline.settings import Settings


def _word_sets(count: int, seed: int) -> list[set[str]]:
    """Sets drawn around a few shared "stories", so that many pairs overlap a lot and many do not."""
    rng = random.Random(seed)
    vocab = [f"mot{i}" for i in range(300)]
    stories = [rng.sample(vocab, 12) for _ in range(25)]
    sets = []
    for _ in range(count):
        words = set(rng.choice(stories))
        for w in list(words):
            if rng.random() < 0.3:
                words.discard(w)
                words.add(rng.choice(vocab))
        sets.append(words)
    return sets


def test_leader_index_matches_minhash_lsh_and_exact_jaccard():
    index = LeaderIndex(threshold=0.4, num_perm=64, weights=(0.3, 0.7))
    lsh = MinHashLSH(threshold=0.4, num_perm=64, weights=(0.3, 0.7))
    sets = _word_sets(400, seed=1)
    seen, hits = [], 0
    for key, words in enumerate(sets):
        minhash = signature(words, 64)
        found = index.query(minhash)
        assert found == set(lsh.query(minhash))
        hits += len(found)
        ids = index.ids(words)
        for other in found:
            assert index.jaccard(ids, other) == jaccard(words, sets[other])
        if key % 3:  # leave some keys out, as crowded units are
            index.insert(key, minhash, ids)
            lsh.insert(key, minhash)
            seen.append(key)
    assert hits > 400  # the sets do collide: the comparison is not between empty answers
    with pytest.raises(ValueError, match="keys must increase"):
        index.insert(seen[0], signature(sets[0], 64), index.ids(sets[0]))


@pytest.mark.parametrize("limit", [4, 64])
def test_best_leader_is_the_most_similar_of_the_oldest_candidates(limit):
    """One numpy pass over many candidates picks what checking them one by one picks."""
    index = LeaderIndex(threshold=0.4, num_perm=64)
    sets = _word_sets(300, seed=3)
    for key, words in enumerate(sets):
        index.insert(key, signature(words, 64), index.ids(words))
    rng = random.Random(4)
    sizes = [0, 1, 3, _FEW_CANDIDATES, _FEW_CANDIDATES + 1, 40, 100, 300]
    for size, words in itertools.product(sizes, _word_sets(20, seed=5)):
        keys = set(rng.sample(range(len(sets)), size))
        ids = index.ids(words)
        expected = max(
            ((jaccard(words, sets[k]), -k) for k in sorted(keys)[:limit]), default=(-1.0, 1)
        )  # highest similarity, then the smaller key
        assert index.best(ids, keys, limit) == (-expected[1], expected[0])


def test_blocking_pairs_are_the_lsh_collisions_as_sorted_rows():
    sets = _word_sets(120, seed=2)
    pairs = blocking.candidate_pairs(sets, threshold=0.3, num_perm=64, limit=len(sets))
    lsh = MinHashLSH(threshold=0.3, num_perm=64)  # one index over all bands
    sketches = [signature(s, 64) for s in sets]
    for i, sketch in enumerate(sketches):
        lsh.insert(i, sketch)
    expected = sorted(
        {(min(i, j), max(i, j)) for i, s in enumerate(sketches) for j in lsh.query(s) if j != i}
    )
    assert pairs.dtype.kind == "i" and pairs.shape == (len(expected), 2)
    assert [tuple(row) for row in pairs.tolist()] == expected


@pytest.mark.parametrize("limit", [1, 3])
def test_blocking_keeps_each_articles_best_estimated_candidates(limit):
    """With a limit, each article keeps its ``limit`` colliding sets of highest MinHash estimate
    (ties to the smaller index); a pair stays if either side keeps it."""
    sets = _word_sets(120, seed=2)
    pairs = blocking.candidate_pairs(sets, threshold=0.3, num_perm=64, limit=limit)
    lsh = MinHashLSH(threshold=0.3, num_perm=64)
    sketches = [signature(s, 64) for s in sets]
    for i, sketch in enumerate(sketches):
        lsh.insert(i, sketch)
    kept = set()
    for i, sketch in enumerate(sketches):
        others = [j for j in lsh.query(sketch) if j != i]
        estimate = {j: np.float32((sketches[j].hashvalues == sketch.hashvalues).mean()) for j in others}
        for j in sorted(others, key=lambda j: (-estimate[j], j))[:limit]:
            kept.add((min(i, j), max(i, j)))
    assert len(kept) < len(sets) * (len(sets) - 1) // 2  # the limit binds
    assert [tuple(row) for row in pairs.tolist()] == sorted(kept)


def test_a_pair_blocking_may_not_propose_gives_its_place_to_the_next_best():
    """``allowed`` drops pairs before the per-article limit: the kept candidates are the best of
    the allowed collisions, as if the others had never collided."""
    sets = _word_sets(120, seed=2)
    odd_with_odd = lambda lo, hi: (lo % 2 == 1) & (hi % 2 == 1)  # noqa: E731
    pairs = blocking.candidate_pairs(sets, threshold=0.3, num_perm=64, limit=2, allowed=odd_with_odd)
    odd = [sets[i] for i in range(1, len(sets), 2)]  # the same sets alone, renumbered
    alone = blocking.candidate_pairs(odd, threshold=0.3, num_perm=64, limit=2)
    assert pairs.tolist() == (2 * alone + 1).tolist()
    unfiltered = blocking.candidate_pairs(sets, threshold=0.3, num_perm=64, limit=2)
    odd_pairs_unfiltered = {(i, j) for i, j in unfiltered.tolist() if i % 2 and j % 2}
    # Places the even sets held went to odd pairs that had been left out.
    assert odd_pairs_unfiltered < {tuple(p) for p in pairs.tolist()}


def test_articles_published_too_far_apart_are_not_candidates():
    """Pairs sharing a rare name are candidates unless their publication dates are further apart
    than the date veto allows; undated articles stay candidates of everyone."""

    def day(offset: int | None) -> DateEvidence:
        if offset is None:
            return DateEvidence(None, frozenset())
        d = dt.date(2024, 3, 1) + dt.timedelta(days=offset)
        return DateEvidence((d, d), frozenset())

    offsets = [0, 2, 40, None]  # 0 and 2: within a week; 40: weeks later; None: no date
    profiles = [
        ArticleProfile(
            id=str(i),
            entities=Counter({"lamrani": 1, "ustda": 1}),
            dates=day(offset),
            keywords=frozenset(),
            published=None,
        )
        for i, offset in enumerate(offsets)
    ]
    config = Settings().dedup
    assert config.max_date_gap_days < 38
    pairs = {tuple(p) for p in candidate_pairs(profiles, config).tolist()}
    assert pairs == {(0, 1), (0, 3), (1, 3), (2, 3)}


def test_publication_vetoes_in_bulk_are_date_compatibilitys():
    rng = random.Random(7)
    evidence = [DateEvidence(None, frozenset())]
    for _ in range(40):
        start = dt.date(2024, 3, 1) + dt.timedelta(days=rng.randrange(40))
        evidence.append(
            DateEvidence((start, start + dt.timedelta(days=rng.choice([0, 0, 3, 30]))), frozenset())
        )
    left, right = (np.array(side) for side in zip(*combinations(range(len(evidence)), 2), strict=True))
    far = far_published(publication_ordinals(evidence), left, right, 7)
    expected = [
        date_compatibility(evidence[i], evidence[j], 7) == (0.0, True)
        for i, j in zip(left, right, strict=True)
    ]
    assert far.tolist() == expected and 0 < sum(expected) < len(expected)


def test_pair_scores_do_not_depend_on_how_the_pair_is_reached(seed_articles, settings):
    config = settings.dedup
    profiles = build_profiles(seed_articles, config)
    n = len(profiles)
    embeddings = np.random.default_rng(0).normal(size=(n, 16)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    every = list(combinations(range(n), 2))
    bulk = np.array(every[::2], dtype=np.int64)
    scorer = PairScorer(profiles, embeddings, config)
    scorer.score_all(bulk)
    for i, j in reversed(every):  # the rest scored one by one, from either end
        scorer.score(j, i)
    assert len(scorer) == len(every)
    links = list(scorer.links())
    assert [(i, j) for i, j, _ in links] == every  # each pair once, in pair order
    for i, j, link in links:
        alone = PairScorer(profiles, embeddings, config).score(i, j)
        assert link == alone == scorer.score(i, j)
        assert (link.a, link.b) == (profiles[i].id, profiles[j].id)
        assert scorer.combined(i, j) == link.combined
        assert scorer.is_vetoed(i, j) == link.reason.startswith("veto")
    assert sorted((c, i, j) for c, i, j in scorer.linked()) == sorted(
        (link.combined, i, j) for i, j, link in links if link.linked
    )
    with pytest.raises(RuntimeError):
        scorer.score_all(bulk)


def test_blocking_cap_grows_with_the_corpus_up_to_an_absolute_ceiling():
    config = Settings().dedup
    assert blocking_cap(50, config) == 10  # tiny corpora: any shared item
    assert blocking_cap(2500, config) == 50  # ~sqrt(n): common relative to the corpus
    assert blocking_cap(10**6, config) == config.max_blocking_df  # an event's reports do not grow


def test_an_item_in_more_articles_than_the_cap_proposes_no_pair():
    """Pairs share a rare name; groups of ten share a "beat" word that only the sqrt(n) cap lets block."""
    n = 400  # sqrt(n) = 20: the beat words (10 articles each) are under it
    profiles = [
        ArticleProfile(
            id=str(i),
            entities=Counter({f"name{i // 2}": 1, f"beat{i // 10}": 1}),
            dates=DateEvidence(None, frozenset()),
            keywords=frozenset(),
            published=None,
        )
        for i in range(n)
    ]
    same_name = {(i, i + 1) for i in range(0, n, 2)}
    loose = Settings.load(overrides={"dedup.max_blocking_df": 100}).dedup
    capped = Settings.load(overrides={"dedup.max_blocking_df": 3}).dedup
    with_beats = {tuple(p) for p in candidate_pairs(profiles, loose).tolist()}
    assert same_name < with_beats  # the beat words propose pairs of their own
    assert {tuple(p) for p in candidate_pairs(profiles, capped).tolist()} == same_name


def test_round4_rounds_as_python_does():
    rng = np.random.default_rng(11)
    halves = (np.arange(-20000, 20000) + 0.5) / 1e4  # every 4-decimal half between -2 and 2
    values = np.concatenate(
        [rng.uniform(-1, 1, 200_000), halves, np.nextafter(halves, 3), np.nextafter(halves, -3)]
    )
    expected = [round(v, 4) for v in values.tolist()]
    got = round4(values).tolist()
    assert got == expected
    assert [math.copysign(1, v) for v in got] == [math.copysign(1, v) for v in expected]
