"""The forms a procedure names, filled from a case (pure): which forms apply to a case, and each field's value."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from bot.people.counterparts import counterparts
from bot.people.directory import Directory
from bot.records.people import day, line_manager, person_for, raiser, raiser_key, stage_events, who, workers
from bot.records.story import (
    FormContext,
    actions_to_date,
    escalation,
    referral_date,
    resolution,
    stage_dates,
    stage_history,
    stage_outcome,
)
from dialogs.answers import show_answer
from policies.model import TIER_LABELS, Form, FormField, Policy

log = logging.getLogger(__name__)
Case = Mapping[str, Any]

# Which forms apply (`forms_for`): a form applies once the case has reached the first stage at which the procedure
# uses it. That stage is, in order: the form's own `from_stage` if the policy format gains one; else FROM_STAGE
# (forms a procedure uses before any notification names them); else the earliest stage of the notifications that
# name the form; else (a form no notification names) the first stage. An immediate-harm record has no stages and
# no forms: its written record is the case record. So: BCSSP Appendix 2 always; Medway's Stage 3 Escalation Alert
# Form from Stage 3 and its MSCB notification form at Stage 4; GSCP's Escalation Monitoring Form from Stage 3;
# Surrey's SSCP standard form at Stage 5; Lincolnshire names no form (its record is the case record).
#
# BCSSP Appendix 2: "This form is to be used to record the initial disagreement at Stage 1 and stored securely for
# your own records" (its notifications only name it from Stage 2, when it is also sent to the Business Manager).
FROM_STAGE: dict[tuple[str, str], int] = {("bcssp", "appendix2"): 1}


def first_stage(policy: Policy, form: Form) -> int:
    """The stage from which `form` applies (see the module's docstring)."""
    explicit = getattr(form, "from_stage", None) or FROM_STAGE.get((policy.id, form.id))
    if explicit:
        return int(explicit)
    named = [min(n.stages) for n in policy.notifications if n.form == form.id and n.stages]
    return min(named) if named else policy.first_stage.number


def forms_for(case: Case, policy: Policy) -> list[Form]:
    """The procedure's forms that apply to this case now, in the policy file's order."""
    stages = [s["stage"] for s in case.get("stages") or []]
    if case.get("status") == "immediate_harm" or not stages:
        return []
    return [f for f in policy.forms.values() if max(stages) >= first_stage(policy, f)]


def form_values(case: Case, policy: Policy, form: Form,
                directory: Directory | None = None) -> list[tuple[FormField, str]]:
    """Every field of `form` with its value from the case; an unknown field id is left blank (and logged)."""
    ctx = FormContext(case, policy, form, directory)
    out: list[tuple[FormField, str]] = []
    for field in form.fields:
        fill = _filler(field.id)
        if fill is None:
            log.warning("form %s (%s): no value is known for field %r; it is left blank", form.id, policy.id, field.id)
            out.append((field, ""))
        else:
            out.append((field, fill(ctx).strip()))
    return out


# --- who ----------------------------------------------------------------------------------------------------------
def _line(name: str, *parts: str) -> str:
    extra = ", ".join(p for p in parts if p)
    return f"{name}, {extra}" if extra else name


def agencies(ctx: FormContext) -> str:
    found = workers(ctx.case, ctx.directory)
    lines = []
    for index, w in enumerate(found):
        label = "Raised by" if index == 0 else "Disagreement with" if index == 1 else "Also involved"
        contact = f" <{w.contact}>" if w.contact and "@" in w.contact else ""
        lines.append(f"{label}: {_line(w.name, w.designation, w.agency)}{contact}")
    return "\n".join(lines)


def worker_column(attribute: str) -> Callable[[FormContext], str]:
    def fill(ctx: FormContext) -> str:
        found = workers(ctx.case, ctx.directory)
        return "\n".join(f"{i}. {getattr(w, attribute) or 'not recorded'}" for i, w in enumerate(found, 1))

    return fill


def alert_from(ctx: FormContext) -> str:
    """Who escalated the case into the form's stage (else the raiser)."""
    stage = first_stage(ctx.policy, ctx.form)
    before = [n for n in stage_events(ctx.case) if n < stage]
    moved = [e for e in stage_events(ctx.case).get(max(before), []) if e.get("action") == "escalated"] if before else []
    by = moved[-1]["by"] if moved and ctx.entry(stage) is not None else raiser_key(ctx.case)
    person = person_for(ctx.case, by, ctx.directory)
    if person is not None:
        return _line(person.name, person.role, person.agency)
    if by != raiser_key(ctx.case):
        return who(ctx.case, by, None)
    w = raiser(ctx.case, ctx.directory)
    return _line(w.name, w.designation, w.agency)


def alert_to(ctx: FormContext) -> str:
    """Whoever acts on the raiser's side at the form's stage: from the directory, else the procedure's tier."""
    stage = ctx.policy.stage(first_stage(ctx.policy, ctx.form))
    if stage is None:
        return ""
    w = raiser(ctx.case, ctx.directory)
    if ctx.directory is not None:
        me = person_for(ctx.case, raiser_key(ctx.case), ctx.directory)
        sides = counterparts(ctx.directory, ctx.policy, stage.number, me, w.agency,
                             str(ctx.details.get("other_agency", "")), str(ctx.details.get("other_professional", "")))
        if sides.raiser_side is not None:
            return _line(sides.raiser_side.name, sides.raiser_side.role, sides.raiser_side.agency)
    tier = TIER_LABELS.get(stage.raiser_tier, stage.raiser_tier)
    return _line(tier[:1].upper() + tier[1:], w.agency)


def form_stage_field(what: str) -> Callable[[FormContext], str]:
    def fill(ctx: FormContext) -> str:
        number = first_stage(ctx.policy, ctx.form)
        entry = ctx.entry(number)
        if entry is None:
            return ""
        if what == "started":
            return day(entry.get("started_on"))
        if what == "due":
            return f"By {day(entry['due'])}" if entry.get("due") else ""
        if what == "ended":
            return day(entry.get("ended_on"))
        if what == "response":
            return stage_outcome(ctx, number) if entry.get("outcome") else ""
        after = ctx.policy.next_stage(number)
        if what == "resolution" and entry.get("outcome") == "escalated" and after is not None:
            return f"Not resolved at {ctx.title(number)}: progressed to {ctx.policy.stage_label} {after.number}"
        if what == "resolution":
            return resolution(ctx) if entry.get("outcome") == "resolved" else ""
        following = ctx.entry(after.number) if after else None
        return day(following.get("started_on")) if following else ""

    return fill


def practitioner(ctx: FormContext) -> str:
    w = raiser(ctx.case, ctx.directory)
    return _line(w.name, w.designation)


def summary_of_concerns(ctx: FormContext) -> str:
    text = nature(ctx)
    before = [e for e in ctx.case.get("stages") or [] if e["stage"] < first_stage(ctx.policy, ctx.form)]
    if before and before[-1].get("reason"):
        text += f"\nRemaining from {ctx.title(before[-1]['stage'])}: {before[-1]['reason']}"
    return text


def progress(ctx: FormContext) -> str:
    entry = ctx.entry(first_stage(ctx.policy, ctx.form))
    if entry is None or not entry.get("outcome"):
        return ""
    if entry["outcome"] == "escalated":
        return f"Yes: {entry.get('reason', '')}"
    return f"No: resolved at {ctx.title(entry['stage'])}"


# --- what ---------------------------------------------------------------------------------------------------------
def nature(ctx: FormContext) -> str:
    details = ctx.details
    question = ctx.policy.question("category")
    category = show_answer(question, details["category"]) if question and details.get("category") else ""
    disputed = str(details.get("disputed") or "")
    lines = [f"{category}: {disputed}" if category and disputed else category or disputed]
    if details.get("impact"):
        lines.append(f"Why it leaves the child unsafe: {details['impact']}")
    if details.get("desired_change"):
        lines.append(f"What should change: {details['desired_change']}")
    return "\n".join(line for line in lines if line)


def case_reference(ctx: FormContext) -> str:
    own = ctx.details.get("agency_reference")
    return f"{ctx.case.get('ref', '')} (raising agency's reference: {own})" if own else str(ctx.case.get("ref", ""))


def panel_convened(ctx: FormContext) -> str:
    last = ctx.policy.last_stage
    if ctx.entry(last.number) is not None:
        return (f"Not recorded by the bot: complete by hand ({ctx.title(last.number)} reached on "
                f"{referral_date(ctx, last.number)})")
    outcome = ctx.case.get("outcome") or {}
    return f"No: resolved at {ctx.title(outcome['stage'])}" if outcome.get("stage") else ""


def _detail(key: str) -> Callable[[FormContext], str]:
    return lambda ctx: str(ctx.details.get(key) or "")


def _child(key: str, is_date: bool = False) -> Callable[[FormContext], str]:
    return lambda ctx: day(ctx.child.get(key)) if is_date else str(ctx.child.get(key) or "")


FIELDS: dict[str, Callable[[FormContext], str]] = {
    "case_reference": case_reference,
    "date_of_original_disagreement": lambda ctx: day(ctx.case.get("arose_on")),
    "date_of_disagreement": lambda ctx: day(ctx.case.get("arose_on")),
    "name": _child("child_name"), "child_name": _child("child_name"),
    "date_of_birth": _child("child_dob", True), "child_dob": _child("child_dob", True),
    "dob": _child("child_dob", True),
    "address": _child("child_address"), "child_address": _child("child_address"),
    "worker_names": worker_column("name"), "worker_designations": worker_column("designation"),
    "worker_agencies": worker_column("agency"), "worker_contact_details": worker_column("contact"),
    "agencies": agencies,
    "nature": nature,
    "summary_of_concerns": summary_of_concerns,
    "requested_action": _detail("desired_change"),
    "final_date": lambda ctx: day((ctx.case.get("outcome") or {}).get("at")),
    "panel_convened": panel_convened,
    "final_outcome": resolution,
    "stage_history": stage_history,
    "escalation": escalation,
    "actions_to_date": actions_to_date,
    "date_of_alert": form_stage_field("started"),
    "from": alert_from,
    "to": alert_to,
    "response_expected": form_stage_field("due"),
    "practitioner": practitioner,
    "service": lambda ctx: raiser(ctx.case, ctx.directory).agency,
    "line_manager": lambda ctx: line_manager(ctx.case, ctx.directory),
    "response": form_stage_field("response"),
    "response_date": form_stage_field("ended"),
    "resolution": form_stage_field("resolution"),
    "progress_date": form_stage_field("next"),
}
PER_STAGE = re.compile(r"^stage(\d+)_(dates|outcome|referral_date)$")
PROGRESS = re.compile(r"^progress_to_stage\d+$")


def _filler(field_id: str) -> Callable[[FormContext], str] | None:
    if field_id in FIELDS:
        return FIELDS[field_id]
    if PROGRESS.match(field_id):
        return progress
    match = PER_STAGE.match(field_id)
    if match is None:
        return None
    number, what = int(match[1]), match[2]
    fill = {"dates": stage_dates, "outcome": stage_outcome, "referral_date": referral_date}[what]
    return lambda ctx: fill(ctx, number)
