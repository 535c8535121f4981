"""Command line: ``pipeline <command> ...`` (also ``python -m pipeline``).

Exit codes: 0 everything went through; 3 some inputs were rejected (see
``RUN/rejected.jsonl``); 2 usage error; 1 a stage failed (the message says why).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.console import Console
from rich.markup import escape

from pipeline import __version__, progress
from pipeline.engines import ENGINES
from pipeline.errors import PipelineWarning, UsageError
from pipeline.settings import Settings, SettingsError, allowed_values
from pipeline.stage import STAGE_ORDER

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTED = 0, 1, 2, 3

# soft_wrap: never insert line breaks (a terminal wraps by itself; piped output stays one
# record per line, e.g. sacrebleu signatures).  Messages carry user text (paths, setting
# names like "[summarize]"): they are escaped so rich does not read them as markup.
console = Console(stderr=True, highlight=False, soft_wrap=True)

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
    common.add_argument("-q", "--quiet", action="store_true", help="print only errors (no progress bars)")
    common.add_argument("-v", "--verbose", action="store_true", help="print details (debug log records)")

    parser = argparse.ArgumentParser(
        prog="pipeline",
        description="Ingest, deduplicate, summarise, translate and score French news articles.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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

    p = sub.add_parser("models", help="list, download or convert the catalogue's models")
    models = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    models.add_parser(
        "list", parents=[common], help="the catalogue: which model is the default per task, which are here"
    )
    get = models.add_parser(
        "download", parents=[common], help="fetch a model's weights (pinned revision, safetensors only)"
    )
    get.add_argument("key", metavar="KEY", help="catalogue key (see `pipeline models list`)")
    conv = models.add_parser("convert", help="convert a local Marian model directory to CTranslate2")
    conv.add_argument("source", help="local transformers model directory")
    conv.add_argument("output", help="output directory for the CTranslate2 model")
    conv.add_argument("--quantization", default="int8", help="int8 (default), int8_float32, float16, …")
    conv.add_argument("--force", action="store_true", help="overwrite the output directory")
    tables = models.add_parser(
        "route-tables",
        help="compile the offline translator's unknown-word routes into lookup tables (needs lt-paradigm)",
    )
    tables.add_argument(
        "--dir",
        metavar="DIR",
        help="where to write them (default $PIPELINE_ROUTE_TABLES "
        "or ~/.cache/french-news-pipeline/apertium-routes)",
    )
    tables.add_argument("--force", action="store_true", help="rebuild the tables that exist")

    p = sub.add_parser(
        "export", parents=[common], help="write the run's tables as Parquet (one <table>.parquet each)"
    )
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("--format", default="parquet", choices=["parquet"], help="output format")
    p.add_argument("--to", required=True, metavar="DIR", help="directory for the files")

    p = sub.add_parser("cache", parents=[common], help="show the model-output cache, or clear it")
    p.add_argument("--clear", action="store_true", help="delete cached outputs")
    p.add_argument("--kind", help="only this kind of output (summary, translation, embedding)")
    return parser


def _backend_flags(p: argparse.ArgumentParser, only: str | None = None) -> None:
    if only in (None, "summarize"):
        flag = "--backend" if only else "--summarize-backend"
        p.add_argument(
            flag, dest="summarize_backend", choices=allowed_values("summarize", "backend"), help="summariser"
        )
    if only in (None, "translate"):
        flag = "--backend" if only else "--translate-backend"
        p.add_argument(
            flag, dest="translate_backend", choices=allowed_values("translate", "backend"), help="translator"
        )


def load_settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    for item in getattr(args, "set", []):  # commands without settings flags (models convert) have none
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
    return Settings.load(getattr(args, "config", None), overrides)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_output(getattr(args, "quiet", False), getattr(args, "verbose", False))
    try:
        settings = load_settings(args)
        if args.command == "models":
            return _models(args, settings)
        if args.command == "cache":
            return _cache(args, settings)
        if args.command == "export":
            return _export(args)
        if args.command == "translate" and (args.text is not None or args.stdin):
            return _translate_text(args, settings)
        return _stages(args, settings)
    except UsageError as exc:  # settings, paths, run directories: nothing was written
        _error("settings error" if isinstance(exc, SettingsError) else "usage error", exc)
        return EXIT_USAGE
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        _error("error", exc)
        return EXIT_FAILED


def _error(label: str, exc: BaseException) -> None:
    console.print(f"[red]{label}:[/] {escape(str(exc))}")


def _configure_output(quiet: bool, verbose: bool) -> None:
    """Where the library's log records, warnings and progress bars go on the command line."""
    progress.configure(enabled=False if quiet else None)  # None: bars only on a terminal
    if not progress.enabled():
        # Model libraries draw their own bars (e.g. "Loading weights") unless told not to,
        # before they are imported.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logger = logging.getLogger("pipeline")
    logger.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO)
    if not any(isinstance(h, _ConsoleHandler) for h in logger.handlers):
        logger.addHandler(_ConsoleHandler())
    # The same events arrive as log records; the warnings module would print them twice.
    warnings.simplefilter("ignore", PipelineWarning)


class _ConsoleHandler(logging.Handler):
    """Log records as stage lines on stderr ("summarize  WARNING …"), one line each when piped."""

    STYLES: ClassVar[dict[str, str]] = {
        "WARNING": "yellow",
        "ERROR": "red",
        "CRITICAL": "red",
        "DEBUG": "dim",
    }

    def emit(self, record: logging.LogRecord) -> None:
        stage = getattr(record, "stage", "pipeline")
        level = record.levelname
        style = self.STYLES.get(level, "")
        label = f"[{style}]{level.lower()}:[/] " if style else ""
        console.print(f"[bold cyan]{stage:>9}[/] {label}{escape(record.getMessage())}")


def _stages(args: argparse.Namespace, settings: Settings) -> int:
    def show(stage: str, message: str) -> None:
        if not args.quiet:
            console.print(f"[bold cyan]{stage:>9}[/] {escape(message)}")

    from pipeline.runner import Pipeline  # not imported for `translate --text/--stdin`

    pipe = Pipeline(settings, show)
    if args.command in ("run", "ingest"):
        stages = ["ingest"] if args.command == "ingest" else [s.strip() for s in args.stages.split(",") if s]
        summary = pipe.run(args.paths, args.out, stages, force=args.force)
    else:
        if not args.run:
            raise UsageError("RUN is required (or --text / --stdin)")
        summary = pipe.run(None, args.run, [args.command], force=args.force)
    if not args.quiet and summary.report and args.command in ("run", "report"):
        console.print(f"[bold green]report:[/] {escape(str(summary.report))}")
    # Rejections are logged by the runner on every run, skipped ingest included (exit 3 each time).
    return summary.exit_code


def _translate_text(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.translate import translate_texts

    text = args.text if args.text is not None else sys.stdin.read()
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    english, provenance = translate_texts(paragraphs, settings)
    if not args.quiet:
        console.print(
            f"[dim]{escape(f'{provenance.backend} · {provenance.model} @ {provenance.revision}')}[/]"
        )
    print("\n\n".join(english))
    return EXIT_OK


def _models(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.catalogue import get_card, load_catalogue

    if args.models_command == "list":
        from pipeline.hub import defaults_by_model, weights_present

        defaults = defaults_by_model(settings)
        rows = [("KEY", "TASK", "DEFAULT FOR", "WEIGHTS HERE", "MODEL @ REVISION", "LICENCE")]
        for card in load_catalogue().values():
            rows.append(
                (
                    card.key,
                    card.task,
                    ",".join(defaults.get(card.key, [])) or "-",
                    weights_present(card) or "no",
                    f"{card.model_id} @ {card.revision or '-'}",
                    card.licence or "-",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:  # plain columns: readable, and easy to cut/awk
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
        return EXIT_OK
    if args.models_command == "download":
        from pipeline.catalogue import UnknownModelError
        from pipeline.hub import DownloadError, download

        by_model_id = {c.model_id: c for c in load_catalogue().values()}
        try:
            card = by_model_id.get(args.key) or get_card(args.key)
        except UnknownModelError as exc:
            raise UsageError(exc.args[0]) from None
        try:
            print(download(card))
        except DownloadError as exc:
            _error("error", exc)
            return EXIT_FAILED
        return EXIT_OK
    if args.models_command == "route-tables":
        from pipeline.translate.routetable import RouteTableError, build_all

        try:
            for line in build_all(Path(args.dir) if args.dir else None, force=args.force):
                print(line)
        except RouteTableError as exc:
            _error("error", exc)
            return EXIT_FAILED
        return EXIT_OK
    from pipeline.translate.ct2 import convert

    out = convert(args.source, args.output, quantization=args.quantization, force=args.force)
    print(out)
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from pipeline.export import export_run

    for path in export_run(args.run, args.to, args.format):
        print(path)
    return EXIT_OK


def _cache(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.cache import cache_info, clear_cache

    if args.clear:
        clear_cache(settings, kind=args.kind)
    print(cache_info(settings))
    return EXIT_OK
