"""The weekly summary's chart, read from matplotlib's figure objects (bars, labels, where the labels are drawn), not
from pixels: every stage of each procedure is a bar (zero included), both axes of both panels are labelled, and no
two tick labels overlap however many procedures and stages there are."""

from __future__ import annotations

import sys
from itertools import pairwise
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))

from scenario_kit import JORDAN, LENA, OPENING, World, at

from bot.summary import figures as summary
from bot.summary.chart import close_figure, summary_figure, summary_png

W52 = summary.parse_week("2026-W52")


def panels(figs):
    fig = summary_figure(figs)
    left, right = fig.axes[:2]
    return fig, left, right


def bar_values(axes) -> list[float]:
    return [bar.get_width() for bar in axes.patches]


def no_overlap(fig, labels) -> bool:
    renderer = fig.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer) for label in labels if label.get_text()]
    return all(not a.overlaps(b) for a, b in pairwise(boxes))


async def test_every_stage_of_every_procedure_is_a_bar_zero_included(store, all_policies, clock):
    world = World(store, all_policies, clock)
    world.set_time(at(2026, 12, 21))
    opened = await world.person(JORDAN).escalate("medway", **OPENING, arose_on="2026-12-21", category="1")
    ref = opened.case_ref
    world.set_time(at(2026, 12, 22))
    assert (await world.escalate(LENA, ref)).kind == "escalate"  # open at its procedure's stage 2
    cases = [doc for _, doc in await store.scan("cases")]
    figs = summary.figures(cases, all_policies, W52)
    policy = all_policies[cases[0]["policy"]]
    fig, left, right = panels(figs)
    try:
        stages = [(p, s) for p in all_policies.values() for s in p.stages]
        assert len(left.patches) == len(stages) == len(figs["open_by_procedure_stage"])
        labels = [t.get_text() for t in left.get_yticklabels()]
        for (p, s), label in zip(stages, labels, strict=True):  # each procedure's stages, in its order
            assert " ".join(label.split()).startswith(f"{p.short_name} {p.stage_label} {s.number}")
        values = dict(zip(labels, bar_values(left), strict=True))
        ours = [label for label in labels if " ".join(label.split()).startswith(f"{policy.short_name} "
                                                                                f"{policy.stage_label} 2")]
        assert [values[label] for label in ours] == [1]
        assert sum(bar_values(left)) == 1 and bar_values(left).count(0) == len(stages) - 1
        for axes in (left, right):
            assert axes.get_xlabel() and axes.get_ylabel() and axes.get_title()
        assert left.get_xlabel() == "open cases" and right.get_ylabel() == "escalations"
        assert no_overlap(fig, left.get_yticklabels()) and no_overlap(fig, right.get_xticklabels())
        assert len(right.patches) == 2 * len(figs["history"])  # new and resolved for each of the eight weeks
    finally:
        close_figure(fig)


def synthetic(procedures: int, stages: int) -> dict:
    """Figures for many procedures with long stage names (only the chart reads them)."""
    rows = [{"policy": f"p{p}", "procedure": f"PSCP{p}", "stage": s,
             "title": f"Stage {s}: Escalation to the Senior Manager or Designated Safeguarding Lead of each agency",
             "open": (p * s) % 4} for p in range(procedures) for s in range(1, stages + 1)]
    history = [{"week": f"2026-W{w:02d}", "new": w % 3, "resolved": w % 2} for w in range(45, 53)]
    return {"week": "2026-W52", "open_by_procedure_stage": rows, "history": history}


@pytest.mark.parametrize(("procedures", "stages"), [(1, 4), (5, 5), (12, 6)])
def test_bars_and_labels_stay_readable_with_many_procedures_and_long_stage_names(procedures, stages):
    figs = synthetic(procedures, stages)
    fig, left, right = panels(figs)
    try:
        assert len(left.patches) == procedures * stages
        labels = left.get_yticklabels()
        assert all(len(t.get_text().splitlines()) <= 2 for t in labels)  # wrapped, at most two lines
        assert all(t.get_fontsize() >= 8 for t in labels)  # not shrunk to fit
        assert no_overlap(fig, labels) and no_overlap(fig, right.get_xticklabels())
        bar_height = fig.get_size_inches()[1] / (procedures * stages)
        assert bar_height >= 0.3  # the figure grows with the bars rather than squeezing them
        assert summary_png(figs).startswith(b"\x89PNG")
    finally:
        close_figure(fig)


def test_an_empty_week_still_shows_the_procedures_stages():
    figs = synthetic(1, 3)
    for row in figs["open_by_procedure_stage"]:
        row["open"] = 0
    fig, left, _ = panels(figs)
    try:
        assert bar_values(left) == [0, 0, 0] and len(left.get_yticklabels()) == 3
    finally:
        close_figure(fig)
