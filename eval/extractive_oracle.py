"""The extractive oracle and per-sentence oracle labels: which source sentences best match a reference.

Both use ROUGE-1 and ROUGE-2 F-measure from rouge-score's own n-gram scoring on tokens
computed once per sentence, so searching every pair of sentences of an article stays cheap.

>>> from eval.tokenizers import get_tokenizer
>>> tok = get_tokenizer("french")
>>> oracle(["Il pleut.", "Le maire a démissionné lundi.", "Le maire part."], "Le maire a démissionné.", tok)
[1]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from rouge_score import rouge_scorer
from rouge_score.tokenizers import Tokenizer


def rouge12(reference: Sequence[str], candidate: Sequence[str]) -> float:
    """Mean of ROUGE-1 and ROUGE-2 F-measure between two token lists."""
    total = 0.0
    for n in (1, 2):
        total += rouge_scorer._score_ngrams(
            rouge_scorer._create_ngrams(reference, n), rouge_scorer._create_ngrams(candidate, n)
        ).fmeasure
    return total / 2.0


def oracle(
    sentences: Sequence[str], reference: str, tokenizer: Tokenizer, max_sentences: int = 2
) -> list[int]:
    """Indices (in text order) of the at most ``max_sentences`` sentences that best match ``reference``."""
    ref = tokenizer.tokenize(reference)
    tokens = [tokenizer.tokenize(s) for s in sentences]
    best: tuple[float, tuple[int, ...]] = (-1.0, ())
    for k in range(1, max_sentences + 1):
        for combo in itertools.combinations(range(len(sentences)), k):
            score = rouge12(ref, [t for i in combo for t in tokens[i]])
            if score > best[0]:
                best = (score, combo)
    return list(best[1])


def sentence_scores(sentences: Sequence[str], reference: str, tokenizer: Tokenizer) -> list[float]:
    """Each sentence's own mean ROUGE-1/2 F-measure against ``reference``: the scorer's training target."""
    ref = tokenizer.tokenize(reference)
    return [rouge12(ref, tokenizer.tokenize(s)) for s in sentences]
