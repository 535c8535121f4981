"""Quality benchmarks on the development sets in ``../shared/datasets`` (never the seeds).

One entry point, one subcommand per stage whose output quality is measured:

    python bench/quality.py summaries   --data ../shared/datasets/orangesum --split valid
    python bench/quality.py events      --data ../shared/datasets/orangesum
    python bench/quality.py translation --data ../shared/datasets/newstest --year 2013

Each subcommand lives in its own module (``bench/quality_<name>.py``) exposing
``add_arguments(parser)`` and ``main(args) -> int``; this file only dispatches.
Each prints its table with the baselines measured in the same run and writes it
as JSON (``--json``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

SUBCOMMANDS = {
    "summaries": "quality_summaries",
    "events": "quality_events",
    "translation": "quality_translation",
}


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, module_name in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # not built yet
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0]))
    args = parser.parse_args(argv)
    return int(modules[args.command].main(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
