"""The weekly summary as a message: its text and chart for one week, from the cases of the procedures chosen."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from bot.cases.case import Case
from bot.summary import figures
from bot.summary.chart import summary_png
from bot.types import Attachment, Kind, Reply
from policies.model import Policy


def compose(cases: Iterable[Case], policies: Mapping[str, Policy], monday: date, chart: bool = True,
            scope: str = "") -> tuple[Reply, dict[str, Any]]:
    """The summary reply for one week (with its chart as an attachment) and the figures behind it, for the cases of
    every procedure in `policies`; `scope` names them in the heading when they are a lead's subset."""
    figs = figures.figures(cases, policies, monday)
    if scope:
        figs["scope"] = scope
    attachment = Attachment(f"escalations-{figs['week']}.png", summary_png(figs), "image/png") if chart else None
    return Reply(figures.text(figs, policies), kind=Kind.SUMMARY, attachment=attachment), figs
