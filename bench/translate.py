"""Translation speed and memory: naive per-sentence ``generate`` vs this stage's CPU backends.

One run measures, on the same model shape (opus-mt-fr-en's: d_model 512, 6+6
layers, 8 heads, FFN 2048, vocabulary 59,514; random weights, since speed does
not depend on their values), the same French sentences and the same number of
generated tokens per sentence (a fixed output length is forced: ``min_new_tokens
= max_new_tokens``, no forced EOS; CTranslate2 ``min_decoding_length =
max_decoding_length``):

* ``naive``: one ``model.generate`` per sentence, what users of the removed
  transformers ``translation`` pipeline got;
* ``transformers``: this stage's transformers backend (length-sorted batches);
* ``ct2``: this stage's CTranslate2 backend on the int8 conversion, with the
  default thread layout (one worker per core, one thread each), and ``ct2 1x2``
  (one worker with all cores) for comparison;

greedy and beam 4 (``renormalize_logits=True`` so transformers scores beams as
CTranslate2 does).  Every case runs in its own process, so its peak resident
memory (RSS) is its own.  Then the Apertium backend's words/s on a large batch.

    python bench/translate.py                 # ~5 minutes on 2 busy cores
    python bench/translate.py --sentences 32  # quicker, noisier

Targets (issue 7): the default CPU path (ct2) >= 20x naive greedy tokens/s,
>= 8x naive with beam 4, peak RSS no higher than naive; Apertium >= 5,000 words/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OPUS_MT_FR_EN = {"d_model": 512, "layers": 6, "heads": 8, "ffn_dim": 2048, "vocab_size": 59_514}
CASES = [
    ("naive", 1),
    ("transformers", 1),
    ("ct2", 1),
    ("ct2 1x2", 1),
    ("naive", 4),
    ("transformers", 4),
    ("ct2", 4),
]


def corpus_sentences() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "corpus" / "articles").glob("*.txt"))]
    sentences = [s.strip() for t in texts for s in re.split(r"(?<=[.!?»])\s+|\n+", t)]
    return [s for s in sentences if len(s.split()) >= 4]


def peak_rss_mb() -> float:
    """This process's peak resident memory.

    ``VmHWM`` rather than ``getrusage``: Linux carries ``ru_maxrss`` over from the
    parent across fork/exec, which would charge every case with the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- one case, in a child process -------------------------------------------


def run_case(case: str, beam: int, model_dir: Path, ct2_dir: Path, sentences: list[str], tokens: int) -> dict:
    from pipeline.catalogue import get_card
    from pipeline.translate.neural import GenerationSettings

    fixed = GenerationSettings(beam_size=beam, max_length_ratio=0.0, max_length_extra=tokens)
    if case == "naive":
        return run_naive(model_dir, sentences, tokens, beam)
    if case == "transformers":
        from pipeline.translate.marian import TransformersTranslator

        engine = TransformersTranslator.from_card(get_card(str(model_dir)), beam_size=beam, batch_size=16)
        engine._extra["min_new_tokens"] = tokens  # force the fixed output length
    else:
        from pipeline.translate.ct2 import CT2Translator

        inter, intra = (1, os.cpu_count() or 1) if case == "ct2 1x2" else (0, 1)

        class FixedLengthCT2(CT2Translator):
            def _options(self, batch):  # type: ignore[no-untyped-def]
                return {**super()._options(batch), "min_decoding_length": tokens}

        engine = FixedLengthCT2.from_dir(
            ct2_dir, beam_size=beam, batch_size=16, inter_threads=inter, intra_threads=intra
        )
    engine.generation = fixed
    engine.translate_pieces(sentences[:2])  # warm-up (first-call allocations)
    ids = engine.token_ids(sentences)
    started = time.perf_counter()
    engine.translate_pieces(sentences)  # tokenise, batch, generate, decode: what the stage does
    wall = time.perf_counter() - started
    lengths = [len(out) for out in engine.generate_ids(ids[:4])]  # every output has the forced length
    return {"wall": wall, "generated": len(sentences) * tokens, "check_lengths": lengths}


def run_naive(model_dir: Path, sentences: list[str], tokens: int, beam: int) -> dict:
    import torch
    from transformers import MarianMTModel, MarianTokenizer

    tokenizer = MarianTokenizer.from_pretrained(model_dir)
    model = MarianMTModel.from_pretrained(model_dir, use_safetensors=True).eval()
    options = {
        "num_beams": beam,
        "do_sample": False,
        "min_new_tokens": tokens,
        "max_new_tokens": tokens,
        "renormalize_logits": beam > 1,
        "bad_words_ids": [[model.config.pad_token_id]],
    }

    def translate(sentence: str) -> tuple[str, int]:
        with torch.inference_mode():
            out = model.generate(**tokenizer([sentence], return_tensors="pt"), **options)
        return tokenizer.decode(out[0], skip_special_tokens=True), out.shape[1] - 1

    translate(sentences[0])  # warm-up
    started = time.perf_counter()
    lengths = [translate(s)[1] for s in sentences]
    wall = time.perf_counter() - started
    return {"wall": wall, "generated": sum(lengths), "check_lengths": lengths[:4]}


# --- the parent: build once, run every case, report ---------------------------


def prepare(work: Path) -> tuple[Path, Path]:
    from pipeline.translate.ct2 import convert
    from tests.tiny_marian import build_marian

    model_dir, ct2_dir = work / "marian-opus-shape", work / "marian-opus-shape-ct2-int8"
    if not (model_dir / "model.safetensors").is_file():
        print(f"building a random-weight Marian with opus-mt-fr-en's shape in {model_dir} ...", flush=True)
        texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "corpus" / "articles").glob("*.txt"))]
        shape = OPUS_MT_FR_EN
        build_marian(
            model_dir,
            texts,
            spm_vocab_size=4000,
            vocab_size=shape["vocab_size"],
            d_model=shape["d_model"],
            layers=shape["layers"],
            heads=shape["heads"],
            ffn_dim=shape["ffn_dim"],
        )
    if not (ct2_dir / "model.bin").is_file():
        print(f"converting to CTranslate2 int8 in {ct2_dir} ...", flush=True)
        convert(model_dir, ct2_dir, quantization="int8", force=True)
    return model_dir, ct2_dir


def apertium_words_per_second(repeat: int) -> dict | None:
    import shutil

    if shutil.which("apertium") is None:
        return None
    from pipeline.translate.apertium import ApertiumTranslator

    sentences = corpus_sentences() * repeat
    words = sum(len(s.split()) for s in sentences)
    engine = ApertiumTranslator()
    started = time.perf_counter()
    out = engine.translate(sentences)
    wall = time.perf_counter() - started
    assert len(out) == len(sentences)
    return {"sentences": len(sentences), "words": words, "wall": wall, "workers": engine.workers}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentences", type=int, default=32, help="French sentences per case")
    parser.add_argument("--tokens", type=int, default=24, help="generated tokens per sentence (forced)")
    parser.add_argument(
        "--apertium-repeat", type=int, default=20, help="copies of the seed corpus for Apertium"
    )
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "bench-translate"))
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--beam", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(args.work)
    sentences = corpus_sentences()[: args.sentences]

    if args.case:  # child process: one case, JSON on the last line of stdout
        model_dir, ct2_dir = work / "marian-opus-shape", work / "marian-opus-shape-ct2-int8"
        result = run_case(args.case, args.beam, model_dir, ct2_dir, sentences, args.tokens)
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return

    work.mkdir(parents=True, exist_ok=True)
    model_dir, ct2_dir = prepare(work)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"\n{len(sentences)} sentences x {args.tokens} forced output tokens; {cores} cores; "
        f"load average at start {os.getloadavg()[0]:.1f}"
    )
    print("NOTE: this machine is shared with other jobs: timings are noisy; ratios come from one run.\n")
    results: dict[tuple[str, int], dict] = {}
    for case, beam in CASES:
        command = [
            sys.executable,
            __file__,
            "--case",
            case,
            "--beam",
            str(beam),
            "--work",
            str(work),
            "--sentences",
            str(args.sentences),
            "--tokens",
            str(args.tokens),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{case} beam {beam}: FAILED\n{done.stderr[-2000:]}")
            continue
        results[(case, beam)] = json.loads(done.stdout.strip().splitlines()[-1])
        r = results[(case, beam)]
        print(
            f"  ran {case:12} beam {beam}: {r['wall']:.2f}s (output lengths: {r['check_lengths'][:4]})",
            flush=True,
        )

    header = f"{'backend':14}{'beam':>5}{'sent/s':>9}{'tok/s':>9}{'peak RSS MB':>13}{'x naive':>9}"
    print("\n" + header + "\n" + "-" * len(header))
    for (case, beam), r in results.items():
        naive = results.get(("naive", beam))
        tok_s = r["generated"] / r["wall"]
        ratio = tok_s / (naive["generated"] / naive["wall"]) if naive else float("nan")
        print(
            f"{case:14}{beam:>5}{len(sentences) / r['wall']:>9.1f}{tok_s:>9.0f}{r['peak_rss_mb']:>13.0f}"
            f"{ratio:>8.1f}x"
        )

    def ratio(case: str, beam: int) -> float:
        r, n = results[(case, beam)], results[("naive", beam)]
        return (r["generated"] / r["wall"]) / (n["generated"] / n["wall"])

    if all((c, b) in results for c in ("naive", "ct2") for b in (1, 4)):
        greedy, beam4 = ratio("ct2", 1), ratio("ct2", 4)
        rss_ok = all(
            results[("ct2", b)]["peak_rss_mb"] <= results[("naive", b)]["peak_rss_mb"] for b in (1, 4)
        )
        print(
            f"\ndefault CPU path (ct2 int8): {greedy:.1f}x naive greedy (target >= 20x: "
            f"{'met' if greedy >= 20 else 'NOT met'}), {beam4:.1f}x naive with beam 4 (target >= 8x: "
            f"{'met' if beam4 >= 8 else 'NOT met'}), peak RSS no higher than naive: "
            f"{'yes' if rss_ok else 'NO'}"
        )

    aper = apertium_words_per_second(args.apertium_repeat)
    if aper is None:
        print("\napertium: not installed, skipped")
    else:
        rate = aper["words"] / aper["wall"]
        print(
            f"\napertium pivot fr->es->en: {aper['sentences']} sentences, {aper['words']} words in "
            f"{aper['wall']:.1f}s = {rate:,.0f} words/s with {aper['workers']} worker(s) "
            f"(target >= 5,000: {'met' if rate >= 5000 else 'NOT met'})"
        )
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
