"""Plots for the report, as PNG bytes that are the same for the same data.

matplotlib is driven through ``Figure`` objects (no pyplot state, the Agg
renderer), inside the default style so a user's matplotlibrc cannot change the
picture, and PNGs are written without the "Software" metadata field (PNG has
no date field unless asked), so the report's bytes only depend on the run.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib.style
from matplotlib.figure import Figure

DPI = 100
_METADATA = {"Software": None}  # matplotlib stamps its version there by default


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata=_METADATA)
    return buffer.getvalue()


def strip_plot(
    title: str,
    xlabel: str,
    series: Sequence[tuple[str, Sequence[float]]],
    xlim: tuple[float, float] | None = None,
    intervals: Mapping[str, tuple[float, float, float]] | None = None,
) -> bytes | None:
    """One row per series: each value a dot, the mean a bar.  None when there is nothing to draw.

    ``intervals`` maps a series to ``(score, low, high)``: its reported score, drawn as a
    black diamond with its 95% bootstrap interval as a bar with caps, under the dots.
    """
    series = [(name, [v for v in values if v is not None]) for name, values in series]
    series = [(name, values) for name, values in series if values]
    if not series:
        return None
    with matplotlib.style.context("default"):
        height = 1.2 + 0.45 * len(series)
        fig = Figure(figsize=(7.5, height), dpi=DPI)
        ax = fig.add_subplot()
        for row, (name, values) in enumerate(series):
            # Deterministic jitter: spread equal values by their rank, not randomly.
            offsets = [((i % 5) - 2) * 0.06 for i in range(len(values))]
            ax.scatter(values, [row + o for o in offsets], s=18, alpha=0.7, color="#3b6ea8")
            mean = sum(values) / len(values)
            ax.plot([mean, mean], [row - 0.3, row + 0.3], color="#c0392b", linewidth=2)
            if intervals and name in intervals:
                score, low, high = intervals[name]
                ax.errorbar(
                    [score],
                    [row + 0.32],
                    xerr=[[score - low], [high - score]],
                    fmt="D",
                    color="#111",
                    markersize=5,
                    capsize=4,
                    linewidth=1.5,
                )
        ax.set_yticks(range(len(series)))
        ax.set_yticklabels([f"{name} (n={len(values)})" for name, values in series], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_title(title, fontsize=10)
        if xlim:
            ax.set_xlim(*xlim)
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        return _png(fig)
