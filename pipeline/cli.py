"""Command line: ``pipeline <command> ...`` (also ``python -m pipeline``).

Exit codes: 0 everything went through; 3 some inputs were rejected (see
``RUN/rejected.jsonl``); 2 usage error; 1 a stage failed (the message says why).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from pipeline.engines import ENGINES
from pipeline.rundir import REPORT_HTML, RunDir
from pipeline.runner import STAGE_ORDER, Pipeline
from pipeline.settings import Settings, SettingsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTED = 0, 1, 2, 3

console = Console(stderr=True, highlight=False)

_RUN_DIR_STAGES = {
    "dedup": "find near-duplicate passages and event clusters",
    "summarize": "write French summaries per article and per event",
    "translate": "translate articles and summaries to English",
    "score": "score outputs against references (RUN/scores.json)",
    "report": "write RUN/report.md and RUN/report.html from the files in RUN",
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="TOML", help="settings file (defaults < file < flags)")
    common.add_argument(
        "--set",
        metavar="SECTION.KEY=VALUE",
        action="append",
        default=[],
        help="override one setting, e.g. --set summarize.target_words=40 (repeatable)",
    )
    common.add_argument("--force", action="store_true", help="rerun stages even if unchanged")
    common.add_argument("-q", "--quiet", action="store_true", help="print only errors")

    parser = argparse.ArgumentParser(
        prog="pipeline",
        description="Ingest, deduplicate, summarise, translate and score French news articles.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "run", parents=[common], help="run every stage on input files", description="Run all stages."
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (.txt .md .html .jsonl)")
    p.add_argument("--out", required=True, metavar="RUN", help="run directory to create or update")
    p.add_argument(
        "--stages", default=",".join(STAGE_ORDER), help=f"comma-separated subset of {','.join(STAGE_ORDER)}"
    )
    _backend_flags(p)
    p.add_argument("--references", metavar="DIR", help="reference directory (default: corpus/references)")
    p.add_argument("--engine", choices=ENGINES, help="where per-article work runs (default: local)")
    p.add_argument("--address", metavar="ADDR", help="Ray cluster for --engine ray (default: a local Ray)")

    p = sub.add_parser("ingest", parents=[common], help="ingest files into RUN/articles.jsonl")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (.txt .md .html .jsonl)")
    p.add_argument("--out", required=True, metavar="RUN", help="run directory to create or update")

    for name, help_text in _RUN_DIR_STAGES.items():
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        if name == "translate":
            p.add_argument("run", nargs="?", metavar="RUN", help="run directory")
            p.add_argument("--text", help="translate this French text and print English (no RUN needed)")
            p.add_argument("--stdin", action="store_true", help="translate French text read from stdin")
        else:
            p.add_argument("run", metavar="RUN", help="run directory")
        if name in ("summarize", "translate"):
            _backend_flags(p, only=name)
        if name == "score":
            p.add_argument("--references", metavar="DIR", help="reference directory")

    p = sub.add_parser("models", help="list or convert models of the catalogue")
    models = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    models.add_parser("list", help="print the model catalogue")
    conv = models.add_parser("convert", help="convert a local Marian model directory to CTranslate2")
    conv.add_argument("source", help="local transformers model directory")
    conv.add_argument("output", help="output directory for the CTranslate2 model")
    conv.add_argument("--quantization", default="int8", help="int8 (default), int8_float32, float16, …")
    conv.add_argument("--force", action="store_true", help="overwrite the output directory")

    p = sub.add_parser("cache", parents=[common], help="show the model-output cache, or clear it")
    p.add_argument("--clear", action="store_true", help="delete cached outputs")
    p.add_argument("--kind", help="only this kind of output (summary, translation, embedding)")
    return parser


def _backend_flags(p: argparse.ArgumentParser, only: str | None = None) -> None:
    if only in (None, "summarize"):
        flag = "--backend" if only else "--summarize-backend"
        p.add_argument(
            flag, dest="summarize_backend", choices=["auto", "neural", "offline"], help="summariser"
        )
    if only in (None, "translate"):
        flag = "--backend" if only else "--translate-backend"
        p.add_argument(
            flag, dest="translate_backend", choices=["auto", "neural", "ct2", "offline"], help="translator"
        )


def load_settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise SettingsError(f"--set expects SECTION.KEY=VALUE, got {item!r}")
        overrides[key.strip()] = value
    if getattr(args, "summarize_backend", None):
        overrides["summarize.backend"] = args.summarize_backend
    if getattr(args, "translate_backend", None):
        overrides["translate.backend"] = args.translate_backend
    if getattr(args, "engine", None):
        overrides["engine.name"] = args.engine
    if getattr(args, "address", None):
        overrides["engine.address"] = args.address
    if getattr(args, "references", None):
        overrides["score.references"] = str(Path(args.references).resolve())
    return Settings.load(args.config, overrides)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "quiet", False):
        # Model libraries draw progress bars (e.g. "Loading weights") unless told not to,
        # before they are imported.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        if args.command == "models":
            return _models(args)
        settings = load_settings(args)
        if args.command == "cache":
            return _cache(args, settings)
        if args.command == "translate" and (args.text is not None or args.stdin):
            return _translate_text(args, settings)
        return _stages(args, settings, parser)
    except SettingsError as exc:
        console.print(f"[red]settings error:[/] {exc}")
        return EXIT_USAGE
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return EXIT_FAILED


def _stages(args: argparse.Namespace, settings: Settings, parser: argparse.ArgumentParser) -> int:
    def progress(stage: str, message: str) -> None:
        if not args.quiet:
            console.print(f"[bold cyan]{stage:>9}[/] {message}")

    pipe = Pipeline(settings, progress)
    if args.command in ("run", "ingest"):
        stages = ["ingest"] if args.command == "ingest" else [s.strip() for s in args.stages.split(",") if s]
        unknown = [s for s in stages if s not in STAGE_ORDER]
        if unknown:
            parser.error(f"unknown stage(s): {', '.join(unknown)}")
        summary = pipe.run(args.paths, args.out, stages, force=args.force)
        run = summary.run
    else:
        if not args.run:
            parser.error("RUN is required")
        run = RunDir(args.run)
        if not run.path.is_dir():
            parser.error(f"run directory {run.path} does not exist")
        summary = pipe.run(None, run.path, [args.command], force=args.force)
    if not args.quiet and run.exists(REPORT_HTML) and args.command in ("run", "report"):
        console.print(f"[bold green]report:[/] {run.file(REPORT_HTML)}")
    if summary.rejected:
        console.print(f"[yellow]{summary.rejected} input(s) rejected: see {run.file('rejected.jsonl')}[/]")
        return EXIT_REJECTED
    return EXIT_OK


def _translate_text(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.translate import translate_texts

    text = args.text if args.text is not None else sys.stdin.read()
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    english, provenance = translate_texts(paragraphs, settings)
    if not args.quiet:
        console.print(f"[dim]{provenance.backend} · {provenance.model} @ {provenance.revision}[/]")
    print("\n\n".join(english))
    return EXIT_OK


def _models(args: argparse.Namespace) -> int:
    if args.models_command == "list":
        from pipeline.catalogue import load_catalogue

        for card in load_catalogue().values():
            print(f"{card.key:32} {card.task:10} {card.model_id} @ {card.revision or '-'} ({card.licence})")
        return EXIT_OK
    from pipeline.translate.ct2 import convert

    out = convert(args.source, args.output, quantization=args.quantization, force=args.force)
    print(out)
    return EXIT_OK


def _cache(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.cache import cache_info, clear_cache

    if args.clear:
        clear_cache(settings, kind=args.kind)
    print(cache_info(settings))
    return EXIT_OK
