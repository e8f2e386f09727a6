"""Due dates from a policy's timescales: one stage, and the worst-case timeline of a whole case."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.dates.workdays import LONDON, calendar_of
from policies.model import Notification, Policy, Stage


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


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later; the month's last day where it is shorter (31 January + 1 month
    is 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def duty_due(policy: Policy, duty: Notification, now: datetime) -> str | None:
    """When a notification duty that starts `now` falls due, on its own clock: working days (a date), calendar days
    or months (a date), or hours (a London date and time, ISO); None where the procedure sets no deadline."""
    today = now.astimezone(LONDON).date()
    if duty.within_working_days is not None:
        return calendar_of(policy).add_working_days(today, duty.within_working_days).isoformat()
    if duty.within_calendar_days is not None:
        return (today + timedelta(days=duty.within_calendar_days)).isoformat()
    if duty.within_months is not None:
        return add_months(today, duty.within_months).isoformat()
    if duty.within_hours is not None:
        return (now.astimezone(LONDON) + timedelta(hours=duty.within_hours)).isoformat(timespec="minutes")
    return None
