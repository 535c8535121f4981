"""The event dev set builder (bench/events_devset.py): deterministic, labelled as documented.

Needs ../shared/datasets/orangesum (development data, not in the repository): skipped without it.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "orangesum"
pytestmark = pytest.mark.skipif(
    not (DATA / "articles.jsonl.gz").is_file(), reason="OrangeSum dev data absent"
)


@pytest.fixture(scope="module")
def devset():
    sys.path.insert(0, str(ROOT / "bench"))
    from events_devset import build

    return build(DATA)


def test_build_is_deterministic(devset):
    from events_devset import build

    again = build(DATA)
    assert [(a.id, a.story, a.part, a.text) for a in again.articles] == [
        (a.id, a.story, a.part, a.text) for a in devset.articles
    ]
    assert again.hard_negatives == devset.hard_negatives


def test_labels_are_as_documented(devset):
    import datetime as dt

    by_id = {a.id: a for a in devset.articles}
    assert len(by_id) == len(devset.articles)
    stories = Counter(a.story for a in devset.articles)
    assert sum(n > 1 for n in stories.values()) >= 100  # enough same-story pairs to measure recall
    for x, y, kind in devset.hard_negatives:
        a, b = by_id[x], by_id[y]
        assert a.story != b.story and a.part == b.part and kind in ("series", "actor")
        if kind == "series":
            assert a.date != b.date and a.title == b.title
        else:
            gap = abs(dt.date.fromisoformat(a.date) - dt.date.fromisoformat(b.date))
            assert gap.days <= 3
    # A story never straddles the calibration and held-out parts.
    parts: dict[str, set[str]] = {}
    for a in devset.articles:
        parts.setdefault(a.story, set()).add(a.part)
    assert all(len(p) == 1 for p in parts.values())
    # Re-reports do not start like their original.
    for a in devset.articles:
        if a.id.endswith("~rr"):
            original = by_id[a.id.removesuffix("~rr")]
            assert a.story == original.story and a.text[:80] != original.text[:80]
