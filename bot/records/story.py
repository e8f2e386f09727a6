"""A case's story for its forms, stage by stage: dates, outcomes, history and actions taken to date (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.people.directory import Directory
from bot.records.people import day, stage_contacts, stage_people
from policies.model import Form, Policy

Case = Mapping[str, Any]


@dataclass(frozen=True)
class FormContext:
    """What filling one form needs: the case, its procedure, the form and the directory (for names)."""

    case: Case
    policy: Policy
    form: Form
    directory: Directory | None

    @property
    def details(self) -> Mapping[str, Any]:
        return self.case.get("details") or {}

    @property
    def child(self) -> Mapping[str, Any]:
        return self.case.get("child") or {}

    def entry(self, number: int) -> Mapping[str, Any] | None:
        return next((s for s in self.case.get("stages") or [] if s.get("stage") == number), None)

    def title(self, number: int) -> str:
        return self.policy.stage_title(number)


def stage_dates(ctx: FormContext, number: int) -> str:
    """'23 November 2026 to 24 November 2026 (due by 25 November 2026)', '' if the stage was not reached."""
    entry = ctx.entry(number)
    if entry is None:
        return ""
    start, end = day(entry.get("started_on")), day(entry.get("ended_on"))
    text = (start if start == end else f"{start} to {end}") if end else f"From {start}, in progress"
    if entry.get("due"):
        text += f" (due by {day(entry['due'])}"
        extended = [e for e in ctx.case.get("extensions") or [] if e.get("stage") == number]
        if extended:
            text += f"; extended from {day(extended[0].get('old_due'))} by agreement of both agencies"
        text += ")"
    return text


def stage_outcome(ctx: FormContext, number: int) -> str:
    """What happened at a stage: referred on (and why), resolved (the written outcome), or still in progress."""
    entry = ctx.entry(number)
    if entry is None:
        return ""
    if entry.get("outcome") == "escalated":
        following = ctx.policy.next_stage(number)
        where = f"{ctx.policy.stage_label} {following.number}" if following else "the next stage"
        return f"Not resolved; referred to {where} on {day(entry.get('ended_on'))}. Reason: {entry.get('reason', '')}"
    if entry.get("outcome") == "resolved":
        return resolution(ctx)
    return "In progress: not yet resolved" if ctx.case.get("status") == "open" else ""


def resolution(ctx: FormContext) -> str:
    """The written outcome agreed between the parties, how actions are followed up, and whether it binds."""
    outcome = ctx.case.get("outcome") or {}
    if not outcome:
        return ""
    text = f"Resolved on {day(outcome.get('at'))}: {outcome.get('text', '')}"
    if outcome.get("follow_up"):
        text += f"\nFollow-up of outstanding actions: {outcome['follow_up']}"
    if outcome.get("binding"):
        text += f"\nFinal and binding decision ({ctx.policy.final_stage.cite})."
    return text


def referral_date(ctx: FormContext, number: int) -> str:
    entry = ctx.entry(number)
    return day(entry.get("started_on")) if entry else ""


def stage_history_rows(ctx: FormContext) -> list[str]:
    """Each stage, one item each: its dates, who acted, the contact the other agency gave (if recorded) and its
    outcome."""
    rows = []
    contacts = dict(stage_contacts(ctx.case))
    for entry in ctx.case.get("stages") or []:
        number = entry["stage"]
        people = ", ".join(stage_people(ctx.case, number, ctx.directory)) or "not recorded"
        contact = f"Contact given by the other agency: {contacts[number]}. " if number in contacts else ""
        rows.append(f"{ctx.title(number)}: {stage_dates(ctx, number)}. Involved: {people}. {contact}"
                    f"Outcome: {stage_outcome(ctx, number)}")
    return rows


def stage_history(ctx: FormContext) -> str:
    return "\n".join(stage_history_rows(ctx))


def escalation_rows(ctx: FormContext) -> list[str]:
    """Each stage reached with its dates, one item each, then where the case stands."""
    rows = [f"{ctx.title(e['stage'])}: {stage_dates(ctx, e['stage'])}" for e in ctx.case.get("stages") or []]
    outcome = ctx.case.get("outcome") or {}
    if ctx.case.get("status") == "resolved" and outcome.get("stage") is not None:
        rows.append(f"Resolved at {ctx.title(outcome['stage'])}.")
    elif ctx.case.get("stage") is not None:
        rows.append(f"Open at {ctx.title(ctx.case['stage'])}.")
    return rows


def escalation(ctx: FormContext) -> str:
    return "\n".join(escalation_rows(ctx))


# Fields whose value is a history: a Word document gives them one row per stage (bot/records/docx_record.py), keyed
# by the field's value source (today its id; see bot/records/forms.py).
BY_STAGE: dict[str, Callable[[FormContext], list[str]]] = {"stage_history": stage_history_rows,
                                                           "escalation": escalation_rows}


def actions_to_date(ctx: FormContext) -> str:
    lines = []
    asked = [("discussed_line_manager", "own line manager"), ("discussed_other", "the other professional")]
    said = [f"with {label}: {'Yes' if ctx.details[q] else 'No'}" for q, label in asked if q in ctx.details]
    if said:
        lines.append("Discussed before the case was opened, " + "; ".join(said) + ".")
    for entry in ctx.case.get("stages") or []:
        if entry.get("outcome") == "escalated":
            lines.append(f"{ctx.title(entry['stage'])}: {stage_outcome(ctx, entry['stage'])}")
    for ext in ctx.case.get("extensions") or []:
        lines.append(f"{ctx.title(ext['stage'])}: timescale extended from {day(ext.get('old_due'))} to "
                     f"{day(ext.get('new_due'))}, agreed by {ext.get('agreed_here')} and {ext.get('agreed_other')}: "
                     f"{ext.get('reason', '')}")
    for duty in ctx.case.get("duties") or []:
        done = f"done on {day(duty.get('done_at'))}" if duty.get("status") == "done" else "not yet recorded as done"
        lines.append(f"Notify {duty.get('notify')} ({ctx.policy.stage_label} {duty.get('stage')}): {done}")
    if ctx.case.get("outcome"):
        lines.append(resolution(ctx))
    return "\n".join(lines)
