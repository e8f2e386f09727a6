"""Due dates from a policy's timescales: one stage, and the worst-case timeline of a whole case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.dates.workdays import calendar_of
from policies.model import Policy, Stage


@dataclass(frozen=True)
class StageDue:
    stage: Stage
    start: date | None
    due: date | None


def stage_due(policy: Policy, stage: Stage, start: date) -> date | None:
    """When a stage must be done if its clock starts on `start`; None where it has no timescale."""
    if stage.working_days is None:
        return None
    return calendar_of(policy).add_working_days(start, stage.working_days)


def stage_clock_start(stage: Stage, arose_on: date, stage_started_on: date) -> date:
    """The date a stage's clock counts from: the disagreement arising, or the stage starting."""
    return arose_on if stage.counts_from == "disagreement" else stage_started_on


def overall_due(policy: Policy, arose_on: date) -> date | None:
    """The overall cap's date (BCSSP: 10 working days from the outset), or None."""
    if policy.overall is None:
        return None
    return calendar_of(policy).add_working_days(arose_on, policy.overall.working_days)


def worst_case(policy: Policy, raised: date) -> list[StageDue]:
    """Each stage starting when the previous one falls due; after a stage with no timescale, dates are unknown."""
    out: list[StageDue] = []
    start: date | None = raised
    for stage in policy.stages:
        due = None
        if start is not None:
            due = stage_due(policy, stage, stage_clock_start(stage, raised, start))
        out.append(StageDue(stage, start, due))
        start = due
    return out
