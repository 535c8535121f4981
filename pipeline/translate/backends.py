"""Choosing the translation engine from the settings, and saying which one ran and why.

``translate.backend``:

* ``ct2``: CTranslate2 serving the converted model in ``translate.ct2_dir``;
* ``neural``: transformers serving ``translate.model`` (a catalogue key or a local directory);
* ``offline``: the Apertium pivot (Debian packages);
* ``auto``: the first of ct2 (if ``ct2_dir`` is set), neural, offline that loads.

An explicitly requested backend that cannot load is an error naming what is
missing; ``auto`` falls back and records every reason in its notes.  ``auto``
first looks at the local files (:func:`neural_weights_present`: the model
directory, or the Hugging Face cache's snapshot of the pinned revision), so a
machine without neural weights falls back without importing transformers.
"""

from __future__ import annotations

from pipeline.catalogue import ModelCard, get_card
from pipeline.fingerprints import hub_snapshot_present
from pipeline.nlp import ModelMissingError
from pipeline.settings import Settings, TranslateSettings
from pipeline.translate.apertium import ApertiumTranslator
from pipeline.translate.base import SentenceTranslator

BACKENDS = ("auto", "neural", "ct2", "offline")


class BackendUnavailableError(ModelMissingError):
    """No translation backend could be loaded (auto), with every reason."""


def translate_card(settings: TranslateSettings) -> ModelCard:
    return get_card(settings.model, task="translate")


def load_neural(settings: TranslateSettings, local_files_only: bool = False) -> SentenceTranslator:
    from pipeline.translate.marian import TransformersTranslator

    return TransformersTranslator.from_card(
        translate_card(settings),
        beam_size=settings.beam_size,
        batch_size=settings.batch_size,
        max_input_tokens=settings.max_input_tokens,
        local_files_only=local_files_only,
    )


def load_ct2(settings: TranslateSettings) -> SentenceTranslator:
    from pipeline.translate.ct2 import CT2MissingError, CT2Translator

    if not settings.ct2_dir:
        raise CT2MissingError(
            "translate.ct2_dir is empty: convert a local model with "
            "`pipeline models convert MODEL_DIR OUT_DIR` and set translate.ct2_dir to OUT_DIR"
        )
    try:
        card: ModelCard | None = translate_card(settings)
    except KeyError:
        card = None  # generation defaults then come from GenerationSettings
    return CT2Translator.from_dir(
        settings.ct2_dir,
        card=card,
        beam_size=settings.beam_size,
        batch_size=settings.batch_size,
        max_input_tokens=settings.max_input_tokens,
        inter_threads=settings.ct2_inter_threads,
        intra_threads=settings.ct2_intra_threads,
    )


def load_offline(settings: TranslateSettings, raw: bool = False) -> SentenceTranslator:
    """The Apertium pivot; ``raw`` without its second routes and English clean-up (a baseline)."""
    return ApertiumTranslator(timeout_s=settings.apertium_timeout_s, raw=raw)


def _where(settings: TranslateSettings) -> str:
    try:
        card = translate_card(settings)
    except KeyError:
        return repr(settings.model)
    return f"{card.model_id} @ {card.revision}" if card.revision else card.model_id


def neural_weights_present(settings: TranslateSettings) -> bool:
    """Whether the neural model's files are on this machine (no import, no network).

    >>> from pipeline.settings import TranslateSettings
    >>> neural_weights_present(TranslateSettings(model="/no/such/model/dir"))
    False
    """
    try:
        card = translate_card(settings)
    except KeyError:
        return False
    return card.is_local or hub_snapshot_present(card.model_id, card.revision)


def describe(translator: SentenceTranslator) -> str:
    where = translator.model or "?"
    if translator.revision:
        where += f" @ {translator.revision}"
    return f"{translator.backend} ({where})"


def select_translator(settings: Settings) -> tuple[SentenceTranslator, list[str]]:
    """The engine ``settings.translate.backend`` asks for, and notes saying which one runs and why."""
    ts = settings.translate
    if ts.backend not in BACKENDS:
        raise ValueError(f"translate.backend must be one of {', '.join(BACKENDS)}, not {ts.backend!r}")
    loaders = {"ct2": load_ct2, "neural": load_neural, "offline": load_offline}
    if ts.backend != "auto":
        translator = loaders[ts.backend](ts)
        return translator, [f"translate: backend {describe(translator)}, as configured"]

    reasons: list[str] = []
    order = ["ct2", "neural", "offline"] if ts.ct2_dir else ["neural", "offline"]
    if not ts.ct2_dir:
        reasons.append("ct2 skipped: translate.ct2_dir is not set")
    for name in order:
        if name == "neural" and not neural_weights_present(ts):
            reasons.append(f"neural unavailable: {_where(ts)} is not on this machine")
            continue
        try:
            # auto only uses weights already on this machine (no hub retry loop offline)
            translator = load_neural(ts, local_files_only=True) if name == "neural" else loaders[name](ts)
        except ModelMissingError as exc:
            reasons.append(f"{name} unavailable: {exc}")
            continue
        note = f"translate: backend=auto chose {describe(translator)}"
        if reasons:
            note += " because " + "; ".join(reasons)
        notes = [note]
        if name == "offline":
            notes.append(
                "translate: WARNING: offline rule-based pivot French→Spanish→English (Apertium); "
                "expect literal, lower-quality English than the neural model"
            )
        return translator, notes
    raise BackendUnavailableError("no translation backend could be loaded: " + "; ".join(reasons))
