"""The report stage: ``report.md`` and a self-contained ``report.html``, from the run's files alone.

``render_report(run)`` returns both texts; ``ReportStage`` writes them.  The
same files give the same bytes (no clock, no paths, sorted everything,
deterministic PNGs), and a run where stages are missing gets a report that
says what is missing.
"""

from __future__ import annotations

from eval.report_html import render_html
from eval.report_md import render_markdown
from eval.report_view import build_view
from eval.runfiles import RunRecords, load_run
from pipeline.rundir import (
    REPORT_HTML,
    REPORT_MD,
    RunDir,
)
from pipeline.stage import Stage, StageResult


def render_report(run: RunDir) -> tuple[str, str]:
    """``(markdown, html)`` for ``run``, from its files alone."""
    return _render(load_run(run))


def _render(records: RunRecords) -> tuple[str, str]:
    view = build_view(records)
    return render_markdown(view), render_html(view)


class ReportStage(Stage):
    """Writes ``report.md`` and ``report.html``."""

    name = "report"

    def run(self, run: RunDir) -> StageResult:
        records = load_run(run)
        markdown, html = _render(records)
        run.write_text(REPORT_MD, markdown)
        run.write_text(REPORT_HTML, html)
        notes = records.missing_notes()
        return StageResult(counts={"html_bytes": len(html.encode("utf-8"))}, notes=notes)
