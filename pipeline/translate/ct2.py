"""Fast CPU translation: the same Marian model served by CTranslate2, quantised to int8.

:func:`convert` turns a local transformers model directory into a CTranslate2
directory (``pipeline models convert`` calls it), saves the tokenizer next to
the converted weights and writes ``pipeline_ct2.json`` recording where the model
came from, so a converted directory is self-contained.

On CPU, CTranslate2 runs several batches at once, one per core
(``inter_threads``), each on a single thread (``intra_threads = 1``); batches
are evened out so every worker gets work.  On the 2-core development machine
2 × 1 matched or beat 1 × 2 in ``bench/translate.py`` (greedy: 854 vs 541 and
479 vs 490 tokens/s in two noisy runs on a shared machine).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pipeline.catalogue import ModelCard
from pipeline.nlp import ModelMissingError
from pipeline.translate.neural import GenerationSettings, NeuralTranslator

METADATA = "pipeline_ct2.json"


class CT2MissingError(ModelMissingError):
    """CTranslate2 or a converted model directory is not available."""


def thread_layout(inter_threads: int, intra_threads: int, cores: int | None = None) -> tuple[int, int]:
    """(workers, threads per worker); ``inter_threads = 0`` means one worker per core.

    >>> thread_layout(0, 1, cores=2)
    (2, 1)
    >>> thread_layout(0, 2, cores=8)
    (4, 2)
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cores = max(1, cores)
    intra = max(1, intra_threads)
    inter = inter_threads if inter_threads > 0 else max(1, cores // intra)
    return inter, intra


def convert(
    model_dir: str | Path,
    out_dir: str | Path,
    quantization: str = "int8",
    *,
    force: bool = False,
) -> Path:
    """Convert a local transformers model directory to CTranslate2 and return ``out_dir``.

    Weights are read from ``model.safetensors`` only.  ``quantization`` is any
    CTranslate2 weight type ("int8", "int8_float32", "float16", "float32", …).
    """
    try:
        import ctranslate2.converters
    except ImportError as exc:
        raise CT2MissingError("converting needs the `ctranslate2` package: pip install ctranslate2") from exc

    source = Path(model_dir)
    if not (source / "config.json").is_file():
        raise FileNotFoundError(f"{source} is not a transformers model directory (no config.json)")
    if not (source / "model.safetensors").is_file() and not any(source.glob("model-*.safetensors")):
        raise FileNotFoundError(f"{source} has no safetensors weights; pickled .bin weights are refused")

    class _SafetensorsConverter(ctranslate2.converters.TransformersConverter):
        def load_model(self, model_class: Any, model_name_or_path: str, **kwargs: Any) -> Any:
            return model_class.from_pretrained(model_name_or_path, use_safetensors=True, **kwargs)

    from transformers import AutoConfig, AutoTokenizer

    out = Path(out_dir)
    _SafetensorsConverter(str(source)).convert(str(out), quantization=quantization, force=force)
    # The tokenizer travels with the weights; saving it (rather than copying files)
    # also writes a tokenizer_config.json that names the tokenizer class.
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(str(out))
    config = AutoConfig.from_pretrained(str(source))
    metadata = {
        **_origin(source),
        "quantization": quantization,
        "max_positions": int(getattr(config, "max_position_embeddings", 512) or 512),
    }
    (out / METADATA).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


def _origin(source: Path) -> dict[str, Any]:
    """Where a local model came from: a previous conversion's record, the hub cache layout, or the path."""
    model_id, revision = str(source.resolve()), None
    parts = source.resolve().parts
    # huggingface_hub cache: .../models--Org--name/snapshots/<sha>/
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        model_id = parts[-3][len("models--") :].replace("--", "/")
        revision = parts[-1]
    return {"source_model": model_id, "source_revision": revision}


class CT2Translator(NeuralTranslator):
    """CTranslate2 engine: the batches of one call run in parallel on ``inter_threads`` workers."""

    backend = "ct2"

    def __init__(self, tokenizer: Any, translator: Any, *, quantization: str | None, **kwargs: Any):
        super().__init__(tokenizer, **kwargs)
        self.ct2 = translator
        self.quantization = quantization

    @classmethod
    def from_dir(
        cls,
        ct2_dir: str | Path,
        *,
        card: ModelCard | None = None,
        beam_size: int = 4,
        batch_size: int = 16,
        max_input_tokens: int = 256,
        inter_threads: int = 0,
        intra_threads: int = 1,
    ) -> CT2Translator:
        try:
            import ctranslate2
        except ImportError as exc:
            raise CT2MissingError(
                "the ct2 backend needs the `ctranslate2` package: pip install ctranslate2"
            ) from exc
        path = Path(ct2_dir)
        if not (path / "model.bin").is_file():
            raise CT2MissingError(
                f"{path} is not a CTranslate2 model directory (no model.bin); create one with "
                "`pipeline models convert MODEL_DIR OUT_DIR` from a local transformers model"
            )
        from transformers import AutoTokenizer

        metadata = (
            json.loads((path / METADATA).read_text(encoding="utf-8")) if (path / METADATA).is_file() else {}
        )
        codes = {k: str(v) for k, v in (card.extra if card else {}).items() if k in ("src_lang", "tgt_lang")}
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                str(path), **({"src_lang": codes["src_lang"]} if codes else {})
            )
        except (OSError, ValueError) as exc:
            raise CT2MissingError(
                f"{path} has no usable tokenizer files ({exc}); re-run the conversion"
            ) from exc
        inter, intra = thread_layout(inter_threads, intra_threads)
        translator = ctranslate2.Translator(str(path), device="cpu", inter_threads=inter, intra_threads=intra)
        generation = GenerationSettings.from_card(card, beam_size) if card else GenerationSettings(beam_size)
        return cls(
            tokenizer,
            translator,
            quantization=metadata.get("quantization"),
            model=str(metadata.get("source_model") or path.resolve()),
            revision=metadata.get("source_revision"),
            generation=generation,
            batch_size=batch_size,
            max_input_tokens=max_input_tokens,
            model_max_tokens=int(metadata.get("max_positions", 512)),
            target_prefix=codes.get("tgt_lang"),
        )

    def params(self) -> dict[str, Any]:
        return {**super().params(), "quantization": self.quantization}

    def effective_batch_size(self, count: int) -> int:
        """At most ``batch_size``, with a number of batches that keeps every worker busy.

        >>> class Pool: num_translators = 2
        >>> engine = CT2Translator.__new__(CT2Translator); engine.ct2 = Pool(); engine.batch_size = 16
        >>> engine.effective_batch_size(48)  # 4 batches of 12 rather than 3 of 16 on 2 workers
        12
        """
        workers = max(1, int(self.ct2.num_translators))
        batches = -(-count // max(1, self.batch_size))
        batches = -(-batches // workers) * workers
        return max(1, -(-count // max(1, batches)))

    def _options(self, batch: list[list[int]]) -> dict[str, Any]:
        settings = self.generation
        return {
            "beam_size": settings.beam_size,
            "max_decoding_length": settings.max_new_tokens(max(len(x) for x in batch), self.model_max_tokens),
            "no_repeat_ngram_size": settings.no_repeat_ngram_size,
            "repetition_penalty": settings.repetition_penalty,
            "length_penalty": settings.length_penalty,
            "max_input_length": 0,  # never truncate: the input limit is enforced by splitting
            "max_batch_size": 0,
        }

    def _submit(self, batch: list[list[int]], *, asynchronous: bool) -> Any:
        tokens = [self.tokenizer.convert_ids_to_tokens(ids) for ids in batch]
        prefix = [[self.target_prefix]] * len(batch) if self.target_prefix else None
        return self.ct2.translate_batch(
            tokens, target_prefix=prefix, asynchronous=asynchronous, **self._options(batch)
        )

    def _hypothesis(self, tokens: list[str]) -> list[int]:
        if self.target_prefix and tokens[:1] == [self.target_prefix]:
            tokens = tokens[1:]
        return list(self.tokenizer.convert_tokens_to_ids(tokens))

    def generate_ids(self, batch: list[list[int]]) -> list[list[int]]:
        return [self._hypothesis(r.hypotheses[0]) for r in self._submit(batch, asynchronous=False)]

    def _generate_batches(self, batches: list[list[list[int]]]) -> list[list[list[int]]]:
        # Submit every batch first: CTranslate2 runs them concurrently on its workers.
        pending = [self._submit(batch, asynchronous=True) for batch in batches]
        return [[self._hypothesis(r.result().hypotheses[0]) for r in results] for results in pending]
