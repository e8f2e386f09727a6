"""The weekly summary's chart (PNG): open cases at every stage of each procedure, and new versus resolved per week
over eight weeks.

Readable however many procedures and stages are in scope: the open cases are horizontal bars, one per stage of each
procedure (a stage with none is a bar of zero, so the whole procedure is always shown), labelled on the left with
the procedure's short name and the stage's own title, wrapped; the figure grows a fixed height per bar, so labels
never overlap. Both panels label both axes. Numbers only, like the summary text: no case details.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BAR_INCHES = 0.42  # height per bar of the left panel: room for a two-line label at LABEL_POINTS
LABEL_POINTS = 8.5
LABEL_CHARS = 38  # a stage label wraps at this many characters (two lines at most, then shortened)
LEFT_MARGIN_INCHES = 3.1  # room for the stage labels (LABEL_CHARS at LABEL_POINTS) and the axis's own label
NEW, RESOLVED, OPEN = "#1d4f91", "#6aa84f", "#1d4f91"


def stage_label(row: Mapping[str, Any]) -> str:
    """'SSCP Stage 3: Escalation to Line Management/...' wrapped on two lines at most."""
    lines = textwrap.wrap(f"{row['procedure']} {row['title']}", LABEL_CHARS, break_long_words=True)
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), LABEL_CHARS, placeholder="...")]
    return "\n".join(lines)


def _stages(figs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every stage's row; figures made before this chart knew procedures (open counts by stage number alone) are
    shown by stage number."""
    rows = figs.get("open_by_procedure_stage")
    if rows:
        return list(rows)
    counts = figs.get("open_by_stage") or {"1": 0}
    return [{"procedure": "", "title": f"Stage {n}", "open": c} for n, c in counts.items()]


def _new_figure(**options: Any) -> Figure:
    """A figure of its own, outside pyplot's global registry: safe to draw in a worker thread (the server composes
    a summary off its event loop) and freed with its last reference (matplotlib's advice for servers)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**options)
    FigureCanvasAgg(fig)  # (draws into memory: no display)
    return fig


def summary_figure(figs: Mapping[str, Any]) -> Figure:
    """The chart as a matplotlib figure (the caller closes it: `close_figure`); `summary_png` renders it. Draws on
    the Agg canvas: no display, no pyplot, so any thread may call it."""
    rows = _stages(figs)
    height = max(4.0, 1.4 + BAR_INCHES * len(rows))
    fig = _new_figure(figsize=(12, height), dpi=100)
    left, right = fig.subplots(1, 2, width_ratios=(1.25, 1))
    positions = list(range(len(rows)))
    left.barh(positions, [r["open"] for r in rows], color=OPEN, height=0.6)
    left.set_yticks(positions, [stage_label(r) for r in rows], fontsize=LABEL_POINTS)
    left.set_ylim(len(rows) - 0.5, -0.5)  # first stage at the top, as the procedure reads
    widest = max([r["open"] for r in rows] + [1])
    left.set_xlim(0, widest * 1.15)
    left.xaxis.get_major_locator().set_params(integer=True)
    for position, row in zip(positions, rows, strict=True):
        left.annotate(str(row["open"]), (row["open"], position), xytext=(3, 0), textcoords="offset points",
                      va="center", fontsize=LABEL_POINTS)
    left.set_title(f"Open cases by stage, end of {figs['week']}")
    left.set_xlabel("open cases")
    left.set_ylabel("procedure and stage")

    history = figs["history"]
    weeks = [w["week"] for w in history]
    places = range(len(weeks))
    right.bar([p - 0.2 for p in places], [w["new"] for w in history], width=0.4, label="new", color=NEW)
    right.bar([p + 0.2 for p in places], [w["resolved"] for w in history], width=0.4, label="resolved",
              color=RESOLVED)
    right.set_xticks(list(places), [w[5:] for w in weeks], fontsize=LABEL_POINTS)
    tallest = max([w["new"] for w in history] + [w["resolved"] for w in history] + [1])
    right.set_ylim(0, tallest * 1.3)
    right.yaxis.get_major_locator().set_params(integer=True)
    right.set_title("New and resolved escalations per week")
    right.set_xlabel(f"ISO week ({weeks[0][:4]}-{weeks[-1][:4]})" if weeks and weeks[0][:4] != weeks[-1][:4]
                     else f"ISO week of {weeks[-1][:4]}" if weeks else "ISO week")
    right.set_ylabel("escalations")
    right.legend()
    # Margins set from what is known (labels of at most two lines of LABEL_CHARS at LABEL_POINTS), not measured by
    # tight_layout, which draws the whole figure once more (a third of a summary's time at national scale).
    inches = fig.get_size_inches()
    fig.subplots_adjust(left=LEFT_MARGIN_INCHES / inches[0], right=1 - 0.25 / inches[0],
                        bottom=0.75 / inches[1], top=1 - 0.45 / inches[1], wspace=0.32)
    return fig


def close_figure(fig: Figure) -> None:
    """Let go of a figure's drawing (it is not in pyplot's registry, so nothing else holds it)."""
    fig.clear()


def summary_png(figs: Mapping[str, Any]) -> bytes:
    """Render the chart as PNG."""
    fig = summary_figure(figs)
    try:
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        close_figure(fig)


def warm_up() -> float:
    """Draw one small chart and throw it away: matplotlib's import, font loading and first-draw caches cost about as
    much again as a whole summary at national scale (0.3-0.5 s), so a server pays them once at start, off its event
    loop, not in the first lead's summary. The seconds it took."""
    import time

    start = time.perf_counter()
    summary_png({"week": "2026-W01", "open_by_procedure_stage": [{"procedure": "P", "title": "Stage 1", "open": 1}],
                 "history": [{"week": "2026-W01", "new": 1, "resolved": 0}]})
    return time.perf_counter() - start
