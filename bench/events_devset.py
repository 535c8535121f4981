"""The event-clustering dev set, built deterministically from OrangeSum (CC BY-SA 4.0).

OrangeSum (Kamal Eddine et al., 2020) is one news site's articles, 2011-2020.
``same_text_groups.jsonl`` lists articles that share an identical body,
abstract or title.  From those, and nothing hand-picked, this module builds
labelled *stories* (gold event clusters) and *hard-negative pairs*:

1. **Rewrites** (real positives): a group whose members share the abstract
   (of at least ``MIN_ABSTRACT_WORDS`` words, so generic stock abstracts such as
   "Les faits se sont déroulés dans la nuit de samedi à dimanche." do not count)
   or, on the same day, the title, *but not the body*, published at most
   ``MAX_STORY_SPAN_DAYS`` apart.  The site re-published the story with a
   rewritten body: the hardest real positives the data holds.
2. **Re-reports** (perturbed positives): a group whose members share the body
   is trivially easy (an identical copy).  One member is kept as it is; a
   re-report of it is made with its own lede (the journalist's abstract as the
   first paragraph), no title, and a seeded subset of the body's sentences
   (about a third dropped, the remaining ones rotated), so the two share facts
   but not their opening words.
3. **Series** (hard negatives): a title the site used on several days
   ("Coronavirus: le point sur la pandémie dans le monde", "Qui a dit... ? Les
   petites phrases de la semaine"): same topic, same actors, other day, other
   figures.  Only a title used on at least ``SERIES_MIN_DAYS`` days counts (a
   title on two days is often one story updated the next day).  Members
   published on one day form one story (updates of one round-up); members on
   different days are different stories, and every such cross-day pair within
   ``SERIES_WINDOW_DAYS`` whose bodies share little (content-word Jaccard under
   ``SERIES_MAX_JACCARD``: not a re-publication) is a hard negative.  At most
   ``SERIES_MAX_DAYS`` publication days are taken per series.
4. **Same-actor neighbours** (hard negatives): for each story, up to
   ``NEIGHBOURS_PER_STORY`` other articles (in no group) published 1 to
   ``NEIGHBOUR_WINDOW_DAYS`` days before or after it (not the same day: a
   same-day article on the same actors is often the same happening from
   another angle, as inspection of a first version of this set showed),
   whose title shares a capitalised name with the story's title (same actor, near date; a name in more than
   ``MAX_NAME_TITLES`` titles of the corpus, such as "France", is not an
   actor) and whose body shares few words
   with it (content-word Jaccard under ``NEIGHBOUR_MAX_JACCARD``: not a copy).
   Each is its own story; the pair is a hard negative.

5. **Near copies are one story**: finally, any two dev articles published at
   most ``MAX_STORY_SPAN_DAYS`` apart whose bodies are near copies (content-word
   Jaccard at least ``COPY_JACCARD``) are put in one story, whatever the groups
   said (the site re-published stories under another title: "13 suspects
   inculpés" / "mis en examen"), and a hard negative between them is dropped.
   Left as they are, and so counted as errors when linked: different articles
   on one happening (the municipal election night's "vague verte" and "PS
   conserve ses bastions"; an eclipse's preview and its report).

Everything is seeded (``SEED``) and every choice is sorted first, so one data
file gives one dev set.  Stories are assigned to a *calibration* part or a
*held-out* part by a hash of their group key (series and neighbours travel with
their story): thresholds are chosen on the first and reported on the second.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import itertools
import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

SEED = 13
MIN_ABSTRACT_WORDS = 12
MAX_STORY_SPAN_DAYS = 3
SERIES_WINDOW_DAYS = 21
SERIES_MAX_DAYS = 8
SERIES_MIN_DAYS = 3
SERIES_MAX_JACCARD = 0.5
MAX_NAME_TITLES = 100
NEIGHBOURS_PER_STORY = 2
NEIGHBOUR_WINDOW_DAYS = 3
NEIGHBOUR_MAX_JACCARD = 0.2
MAX_REREPORTS = 120
COPY_JACCARD = 0.5
PARTS = ("calibration", "heldout")

_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b([A-ZÉÈÀÂÎÔ][\w'-]{3,})")
_SENTENCE = re.compile(r"(?<=[.!?»])\s*(?=[A-ZÀ-Ý«\"])")


@dataclass
class DevArticle:
    id: str  # OrangeSum id; a re-report is "<id>~rr"
    date: str
    title: str | None
    text: str
    story: str  # gold label
    part: str
    origin: str  # rewrite | copy | rereport | series | neighbour


@dataclass
class DevSet:
    articles: list[DevArticle]
    hard_negatives: list[tuple[str, str, str]]  # (id, id, kind)
    notes: dict[str, int] = field(default_factory=dict)

    def part(self, name: str | None) -> DevSet:
        if name is None:
            return self
        keep = [a for a in self.articles if a.part == name]
        ids = {a.id for a in keep}
        negatives = [h for h in self.hard_negatives if h[0] in ids and h[1] in ids]
        return DevSet(keep, negatives, self.notes)

    def limit(self, n: int | None) -> DevSet:
        """The first stories (in id order) holding about ``n`` articles, whole stories and series only."""
        if not n or n >= len(self.articles):
            return self
        by_story: dict[str, list[DevArticle]] = defaultdict(list)
        for a in self.articles:
            by_story[_family(a.story)].append(a)
        keep: list[DevArticle] = []
        for family in sorted(by_story, key=lambda f: hashlib.sha1(f.encode()).hexdigest()):
            if len(keep) >= n:
                break
            keep.extend(by_story[family])
        ids = {a.id for a in keep}
        return DevSet(keep, [h for h in self.hard_negatives if h[0] in ids and h[1] in ids], self.notes)


def _family(story: str) -> str:
    """Stories built around one group (a series' days, a story and its neighbours) share a family."""
    return story.split("/")[0]


def _days(a: str, b: str) -> int:
    return abs((dt.date.fromisoformat(a) - dt.date.fromisoformat(b)).days)


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(len(a | b), 1)


def _part_of(key: str) -> str:
    return PARTS[int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2]


def load_orangesum(data: Path) -> tuple[dict[str, dict], list[list[str]]]:
    articles: dict[str, dict] = {}
    with gzip.open(data / "articles.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row.get("date") and row.get("article"):
                articles[row["id"]] = row
    with open(data / "same_text_groups.jsonl", encoding="utf-8") as f:
        groups = [[i for i in json.loads(line)["ids"] if i in articles] for line in f if line.strip()]
    return articles, [sorted(g) for g in groups if len(g) >= 2]


def _merge_near_copies(
    articles: dict[str, DevArticle], rows: dict[str, dict], negatives: list[tuple[str, str, str]], notes
) -> list[tuple[str, str, str]]:
    """Union stories holding near-copy bodies (see rule 5); the kept hard negatives."""
    ids = sorted(articles)
    words = {i: _words(rows[i.removesuffix("~rr")]["article"]) for i in ids}
    parent = {a.story: a.story for a in articles.values()}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in itertools.combinations(ids, 2):
        a, b = articles[x], articles[y]
        if find(a.story) == find(b.story) or _days(a.date, b.date) > MAX_STORY_SPAN_DAYS:
            continue
        if _jaccard(words[x], words[y]) >= COPY_JACCARD:
            parent[find(b.story)] = find(a.story)
            notes["stories_merged_near_copy"] += 1
    for a in articles.values():
        root = find(a.story)
        family = _family(root)
        if family in parent:  # a neighbour follows its story into the part its story went to
            family = _family(find(family))
        a.story, a.part = root, _part_of(family)
    kept = [
        h
        for h in negatives
        if articles[h[0]].story != articles[h[1]].story and articles[h[0]].part == articles[h[1]].part
    ]
    notes["hard_negatives_dropped_near_copy"] = len(negatives) - len(kept)
    return kept


def rereport(row: dict, rng: random.Random) -> str:
    """A re-report of ``row``: the abstract as its lede, then ~2/3 of the body's sentences, rotated."""
    sentences = [s.strip() for s in _SENTENCE.split(row["article"]) if s.strip()]
    kept = [s for s in sentences if rng.random() > 0.33] or sentences[:1]
    if len(kept) > 2:
        cut = rng.randrange(1, len(kept))
        kept = kept[cut:] + kept[:cut]
    lede = row["abstract"].strip() if row.get("abstract") else ""
    return "\n\n".join(p for p in (lede, " ".join(kept)) if p)


def build(data: Path) -> DevSet:
    """The dev set (see the module docstring)."""
    rows, groups = load_orangesum(data)
    rng = random.Random(SEED)
    grouped = {i for g in groups for i in g}
    title_dates: dict[str, set[str]] = defaultdict(set)
    for row in rows.values():
        title_dates[row["title"].strip()].add(row["date"])
    articles: dict[str, DevArticle] = {}
    negatives: list[tuple[str, str, str]] = []
    notes: dict[str, int] = defaultdict(int)

    def add(row: dict, story: str, part: str, origin: str, text: str | None = None, suffix: str = "") -> None:
        aid = row["id"] + suffix
        if aid in articles:
            return
        articles[aid] = DevArticle(
            aid,
            row["date"],
            None if suffix else row["title"].strip(),
            text or row["article"],
            story,
            part,
            origin,
        )

    # 1-2. stories from groups sharing a body or abstract (or a title on one day).
    rereports = 0
    story_groups: list[tuple[str, list[dict], str]] = []
    for g in groups:
        members = [rows[i] for i in g]
        dates = sorted(m["date"] for m in members)
        if _days(dates[0], dates[-1]) > MAX_STORY_SPAN_DAYS:
            notes["groups_too_spread"] += 1
            continue
        bodies = {m["article"] for m in members}
        abstracts = {m["abstract"].strip() for m in members}
        titles = {m["title"].strip() for m in members}
        same_abstract = len(abstracts) == 1 and len(next(iter(abstracts)).split()) >= MIN_ABSTRACT_WORDS
        same_title_day = (
            len(titles) == 1 and len(set(dates)) == 1 and len(title_dates[next(iter(titles))]) == 1
        )
        if len(bodies) > 1 and (same_abstract or same_title_day):
            story_groups.append((f"s{g[0]}", members, "rewrite"))
        elif len(bodies) == 1 and (same_abstract or len(abstracts) == 1) and rereports < MAX_REREPORTS:
            if len(members[0]["abstract"].split()) >= MIN_ABSTRACT_WORDS:
                story_groups.append((f"s{g[0]}", members[:1], "copy"))
                rereports += 1
        else:
            notes["groups_not_a_story"] += 1
    for key, members, origin in story_groups:
        part = _part_of(key)
        for m in members:
            add(m, key, part, origin)
        if origin == "copy":
            add(members[0], key, part, "rereport", rereport(members[0], rng), "~rr")

    # 3. series: one title on several days.
    by_title: dict[str, list[dict]] = defaultdict(list)
    for row in rows.values():
        by_title[row["title"].strip()].append(row)
    for title in sorted(by_title):
        series = [r for r in by_title[title] if r["id"] not in articles]
        days = sorted({r["date"] for r in series})
        if len(days) < SERIES_MIN_DAYS or len({r["article"] for r in series}) < 2:
            continue
        # The window holding the most publication days (the earliest such): same topic, days apart.
        run = max(
            (
                [d for d in days if 0 <= _days(d, start) <= SERIES_WINDOW_DAYS and d >= start]
                for start in days
            ),
            key=len,
        )[:SERIES_MAX_DAYS]
        if len(run) < SERIES_MIN_DAYS:
            continue
        key = "t" + hashlib.sha1(title.encode()).hexdigest()[:10]
        part = _part_of(key)
        members = sorted((r for r in series if r["date"] in run), key=lambda r: (r["date"], r["id"]))
        for r in members:
            add(r, f"{key}/{r['date']}", part, "series")
        words = {r["id"]: _words(r["article"]) for r in members}
        for a, b in itertools.combinations(members, 2):
            if a["date"] != b["date"] and _jaccard(words[a["id"]], words[b["id"]]) < SERIES_MAX_JACCARD:
                negatives.append((a["id"], b["id"], "series"))
        notes["series"] += 1

    # 4. same-actor neighbours of each story, near in date.
    by_date: dict[str, list[dict]] = defaultdict(list)
    for row in rows.values():
        if row["id"] not in grouped:
            by_date[row["date"]].append(row)
    name_titles: Counter[str] = Counter()
    for row in rows.values():
        name_titles.update(set(_NAME.findall(row["title"])))
    story_heads = sorted(
        {a.story: a for a in articles.values() if a.origin in ("rewrite", "copy")}.values(),
        key=lambda a: a.id,
    )
    for head in story_heads:
        names = {n for n in _NAME.findall(head.title or "") if name_titles[n] <= MAX_NAME_TITLES}
        if not names:
            continue
        body = _words(head.text)
        day = dt.date.fromisoformat(head.date)
        near = []
        for delta in (*range(-NEIGHBOUR_WINDOW_DAYS, 0), *range(1, NEIGHBOUR_WINDOW_DAYS + 1)):
            near.extend(by_date.get((day + dt.timedelta(days=delta)).isoformat(), []))
        found = 0
        for row in sorted(near, key=lambda r: r["id"]):
            if found >= NEIGHBOURS_PER_STORY:
                break
            if row["id"] in articles or not names & set(_NAME.findall(row["title"])):
                continue
            if _jaccard(body, _words(row["article"])) >= NEIGHBOUR_MAX_JACCARD:
                continue
            add(row, f"{head.story}/n{row['id']}", head.part, "neighbour")
            for member in (a for a in list(articles.values()) if a.story == head.story):
                negatives.append((member.id, row["id"], "actor"))
            found += 1
    negatives = _merge_near_copies(articles, rows, negatives, notes)
    ordered = sorted(articles.values(), key=lambda a: a.id)
    for a in ordered:
        notes[f"articles_{a.origin}"] += 1
    notes["hard_negative_pairs"] = len(negatives)
    return DevSet(ordered, negatives, dict(notes))


if __name__ == "__main__":
    import sys

    dev = build(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/orangesum"))
    print(json.dumps(dev.notes, indent=1))
    for part in PARTS:
        p = dev.part(part)
        stories = Counter(a.story for a in p.articles)
        print(
            part,
            len(p.articles),
            "articles",
            len(stories),
            "stories",
            sum(n * (n - 1) // 2 for n in stories.values()),
            "same-story pairs",
            len(p.hard_negatives),
            "hard negatives",
        )
