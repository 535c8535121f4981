"""Evaluation: metrics with signatures, the score stage and the report stage.

Library use (the heavy modules are imported on first use)::

    from eval import score_run, render_report
    scores = score_run(RunDir("runs/seed"), Settings.load())
    markdown, html = render_report(RunDir("runs/seed"))
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ScoreStage": "eval.score",
    "score_run": "eval.score",
    "ReportStage": "eval.report",
    "render_report": "eval.report",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'eval' has no attribute {name!r}")
