"""Run directories built by hand from records, so eval tests do not depend on other stages' code."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from pipeline.records import (
    AlignedSentence,
    Article,
    Cluster,
    Occurrence,
    PairLink,
    Paragraph,
    Provenance,
    Rejection,
    Removal,
    Sentence,
    Span,
    Summary,
    SummarySentence,
    Translation,
)
from pipeline.rundir import ARTICLES, CLUSTERS, REJECTED, SUMMARIES, TRANSLATIONS, RunDir
from pipeline.settings import Settings

# Three short articles: two about the same (invented) event, one about another.
ARTICLE_PARAGRAPHS = {
    "a_visite": [
        "Une délégation marocaine de 15 participants s’est rendue à Austin du 11 au 21 février 2024.",
        "La mission était organisée par l’Agence américaine du commerce et du développement. "
        "Elle visait le numérique et le cloud.",
        "Les participants ont rencontré des entreprises de la Silicon Valley. "
        "Ils ont discuté d’e-gouvernement. Un accord est attendu.",
    ],
    "b_mission": [
        "Quinze responsables marocains ont visité les États-Unis en février 2024.",
        "Le programme, financé par l’USTDA, portait sur la transformation numérique.",
        "La délégation a visité Austin puis la Silicon Valley. Elle rentre au Maroc le 21 février.",
    ],
    "c_autre": [
        "Une délégation américaine est attendue à Rabat en juillet 2025.",
        "Elle rencontrera le ministère de la transition numérique. Des accords seront signés.",
        "La visite durera trois jours.",
    ],
}
TITLES = {
    "a_visite": "Le Maroc prospecte aux États-Unis",
    "b_mission": "Mission numérique",
    "c_autre": "Visite",
}

PROVENANCE_SUMMARY = Provenance("offline-extractive", None, None, {"target_words": 60}, "0" * 64)
PROVENANCE_TRANSLATION = Provenance(
    "neural", "Helsinki-NLP/opus-mt-fr-en", "abc123", {"beam_size": 4}, "1" * 64
)

ENGLISH = {
    "a_visite": [
        "A Moroccan delegation of 15 participants went to Austin from 11 to 21 February 2024.",
        "The mission was organised by the US Trade and Development Agency. It focused on digital and cloud.",
        "The participants met Silicon Valley companies. They discussed e-government. "
        "An agreement is expected.",
    ],
    "b_mission": [
        "Fifteen Moroccan officials visited the United States in February 2024.",
        "The programme, funded by USTDA, focused on digital transformation.",
        "The delegation visited Austin and then Silicon Valley. It returns to Morocco on 21 February.",
    ],
    "c_autre": [
        "An American delegation is expected in Rabat in July 2025.",
        "It will meet the ministry of digital transition. Agreements will be signed.",
        "The visit will last three days.",
    ],
}


def make_article(name: str, paragraphs: list[str], title: str | None = None) -> Article:
    text = "\n\n".join(paragraphs)
    paras, sentences, offset = [], [], 0
    for index, paragraph in enumerate(paragraphs):
        paras.append(Paragraph(offset, offset + len(paragraph), 1 + 2 * index))
        for m in re.finditer(r"[^.!?]+[.!?]?", paragraph):
            chunk = m.group().strip()
            if chunk:
                start = offset + m.start() + (len(m.group()) - len(m.group().lstrip()))
                sentences.append(Sentence(start, start + len(chunk), index))
        offset += len(paragraph) + 2
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Article(
        id=f"{name}-{digest[:12]}",
        name=name,
        source=f"corpus/{name}.txt",
        text=text,
        title=title,
        paragraphs=paras,
        sentences=sentences,
        removals=[Removal("share-buttons", 1, "Partager sur Facebook")],
        content_sha256=digest,
    )


def make_summary(article: Article, n_sentences: int, unsupported: list[str] | None = None) -> Summary:
    sents = article.sentences[:n_sentences]
    text = " ".join(article.text[s.start : s.end] for s in sents)
    if unsupported:
        text += " " + " ".join(f"Il y avait {u} personnes." for u in unsupported)
    return Summary(
        id=f"sum-{article.id}",
        kind="article",
        target=article.id,
        text=text,
        sentences=[
            SummarySentence(article.text[s.start : s.end], [Occurrence(article.id, s.start, s.end)])
            for s in sents
        ],
        provenance=PROVENANCE_SUMMARY,
        unsupported=list(unsupported or []),
        checked_facts=3 + len(unsupported or []),
    )


def make_translation(article: Article, english: list[str], kind: str = "article", target: str | None = None):
    text = "\n\n".join(english)
    spans, offset = [], 0
    for paragraph in english:
        spans.append(Span(offset, offset + len(paragraph)))
        offset += len(paragraph) + 2
    return Translation(
        id=f"tr-{target or article.id}",
        kind=kind,  # type: ignore[arg-type]
        target=target or article.id,
        source_text=article.text,
        text=text,
        paragraphs=spans,
        alignment=[AlignedSentence(Span(0, 5), Span(0, 5))],
        provenance=PROVENANCE_TRANSLATION,
    )


def build_articles(
    extra: dict[str, list[str]] | None = None, titles: dict[str, str] | None = None
) -> list[Article]:
    paragraphs = {**ARTICLE_PARAGRAPHS, **(extra or {})}
    titles = {**TITLES, **(titles or {})}
    return [make_article(name, paras, titles.get(name)) for name, paras in sorted(paragraphs.items())]


def build_full_run(path: Path) -> RunDir:
    """articles, rejections, clusters, summaries (article + event) and translations."""
    run = RunDir(path).ensure()
    articles = build_articles()
    a, b, c = articles
    run.write_records(ARTICLES, articles)
    run.write_records(REJECTED, [Rejection("corpus/empty.txt", "ingest", "empty", "The file is empty.")])
    link = PairLink(a.id, b.id, semantic=0.81, entities=0.6, dates=1.0, combined=0.79, linked=True)
    no_link = PairLink(a.id, c.id, semantic=0.42, entities=0.2, dates=0.0, combined=0.25, linked=False)
    clusters = [
        Cluster("event-1", [a.id, b.id], a.id, "2024-02-11", "2024-02-21", ["Austin", "USTDA"], [link]),
        Cluster("event-2", [c.id], c.id, "2025-07", "2025-07", [], [no_link]),
    ]
    run.write_records(CLUSTERS, clusters)
    summaries = [make_summary(a, 2), make_summary(b, 2, unsupported=["2000"]), make_summary(c, 1)]
    event = Summary(
        id="sum-event-1",
        kind="event",
        target="event-1",
        text=summaries[0].text,
        sentences=summaries[0].sentences,
        provenance=PROVENANCE_SUMMARY,
        checked_facts=4,
    )
    summaries.append(event)
    run.write_records(SUMMARIES, summaries)
    translations = [make_translation(art, ENGLISH[art.name]) for art in articles]
    translations.append(
        make_translation(a, ["A Moroccan delegation went to Austin."], kind="summary", target=summaries[0].id)
    )
    run.write_records(TRANSLATIONS, translations)
    return run


def write_references(path: Path) -> Path:
    """A small reference set in the documented format."""
    path.mkdir(parents=True, exist_ok=True)
    clusters = [
        {
            "cluster": "mission-2024",
            "members": ["a_visite", "b_mission"],
            "description": "February 2024 mission",
        },
        {"cluster": "visite-2025", "members": ["c_autre"], "description": "US visit to Rabat"},
    ]
    summaries = [
        {
            "kind": "article",
            "target": "a_visite",
            "fr": "Une délégation marocaine de 15 participants a visité Austin en février 2024.",
            "en": "A Moroccan delegation of 15 participants visited Austin in February 2024.",
        },
        {
            "kind": "article",
            "target": "b_mission",
            "fr": "Quinze responsables marocains ont visité les États-Unis, financés par l’USTDA.",
            "en": "Fifteen Moroccan officials visited the United States, funded by USTDA.",
        },
        {
            "kind": "article",
            "target": "c_autre",
            "fr": "Une délégation américaine visitera Rabat en juillet 2025 pour trois jours.",
            "en": "A US delegation will visit Rabat in July 2025 for three days.",
        },
        {
            "kind": "event",
            "target": "mission-2024",
            "members": ["a_visite", "b_mission"],
            "fr": "En février 2024, quinze Marocains ont visité Austin et la Silicon Valley.",
            "en": "In February 2024, fifteen Moroccans visited Austin and Silicon Valley.",
        },
    ]
    translations = []
    for name, paragraphs in sorted(ARTICLE_PARAGRAPHS.items()):
        for index, fr in enumerate(paragraphs):
            # Typographic variation on purpose: matching must see through it.
            translations.append({"article": name, "paragraph": index, "fr": fr.replace("’", "'"), "en": ""})
    references_en = {
        "a_visite": [
            "A Moroccan delegation of 15 participants travelled to Austin from 11 to 21 February 2024.",
            "The mission was organised by the US Trade and Development Agency. "
            "It targeted digital and cloud.",
            "Participants met Silicon Valley companies. They discussed e-government. "
            "An agreement is expected.",
        ],
        "b_mission": [
            "Fifteen Moroccan officials visited the United States in February 2024.",
            "The programme, funded by the USTDA, was about digital transformation.",
            "The delegation visited Austin, then Silicon Valley. It returns to Morocco on 21 February.",
        ],
        "c_autre": [
            "A US delegation is expected in Rabat in July 2025.",
            "It will meet the ministry for digital transition. Agreements will be signed.",
            "The visit will last three days.",
        ],
    }
    for row in translations:
        row["en"] = references_en[row["article"]][row["paragraph"]]
    for name, rows in (
        ("clusters.jsonl", clusters),
        ("summaries.jsonl", summaries),
        ("translations.jsonl", translations),
    ):
        (path / name).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    return path


def eval_settings(refs_dir: Path) -> Settings:
    """Settings scoring against references written to ``refs_dir``: no cache or Apertium, small bootstrap."""
    overrides = {
        "score.references": str(write_references(refs_dir)),
        "score.bootstrap_samples": 200,
        "score.apertium_baseline": False,
    }
    return Settings.load(overrides={"cache.enabled": False, **overrides})


def build_scored_run(path: Path, settings: Settings) -> RunDir:
    """:func:`build_full_run`, then the score and report stages over it."""
    from eval.report import ReportStage
    from eval.score import ScoreStage

    run = build_full_run(path)
    ScoreStage(settings).run(run)
    ReportStage(settings).run(run)
    return run
