"""The forms a procedure names, filled from a case (pure): which forms apply to a case, and each field's value."""

from __future__ import annotations

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
from policies.model import FORM_FILLS, TIER_LABELS, Form, FormField, Policy

Case = Mapping[str, Any]
Fill = Callable[[FormContext, int], str]  # (the case's form context, the stage the field reads) -> the value


def first_stage(policy: Policy, form: Form) -> int:
    """The stage from which `form` applies: its `from_stage` in the policy file; else the earliest stage of the
    notifications that name it; else (a form no notification names) the first stage (policies/README.md, forms)."""
    if form.from_stage is not None:
        return form.from_stage
    named = [min(n.stages) for n in policy.notifications if n.form == form.id and n.stages]
    return min(named) if named else policy.first_stage.number


def forms_for(case: Case, policy: Policy) -> list[Form]:
    """The procedure's forms that apply to this case now, in the policy file's order. An immediate-harm record has
    no stages and no forms: its written record is the case record."""
    stages = [s["stage"] for s in case.get("stages") or []]
    if case.get("status") == "immediate_harm" or not stages:
        return []
    return [f for f in policy.forms.values() if max(stages) >= first_stage(policy, f)]


def form_values(case: Case, policy: Policy, form: Form,
                directory: Directory | None = None) -> list[tuple[FormField, str]]:
    """Every field of `form` with its value from the case, as the field's `fill` (and `stage`, `question`) in the
    policy file say; `by_hand` fields are left blank for whoever completes the form."""
    ctx = FormContext(case, policy, form, directory)
    default_stage = first_stage(policy, form)
    out: list[tuple[FormField, str]] = []
    for field in form.fields:
        if field.fill == "answer":
            value = answer(ctx, field.question)
        else:
            value = FILLS[field.fill](ctx, field.stage or default_stage)
        out.append((field, value.strip()))
    return out


# --- who ----------------------------------------------------------------------------------------------------------
def _line(name: str, *parts: str) -> str:
    extra = ", ".join(p for p in parts if p)
    return f"{name}, {extra}" if extra else name


def people(ctx: FormContext, _stage: int = 0) -> str:
    found = workers(ctx.case, ctx.directory)
    lines = []
    for index, w in enumerate(found):
        label = "Raised by" if index == 0 else "Disagreement with" if index == 1 else "Also involved"
        contact = f" <{w.contact}>" if w.contact and "@" in w.contact else ""
        lines.append(f"{label}: {_line(w.name, w.designation, w.agency)}{contact}")
    return "\n".join(lines)


def worker_column(attribute: str) -> Fill:
    def fill(ctx: FormContext, _stage: int = 0) -> str:
        found = workers(ctx.case, ctx.directory)
        return "\n".join(f"{i}. {getattr(w, attribute) or 'not recorded'}" for i, w in enumerate(found, 1))

    return fill


def escalated_by(ctx: FormContext, stage: int) -> str:
    """Who escalated the case into `stage` (else the raiser)."""
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


def raiser_contact(ctx: FormContext, number: int) -> str:
    """Whoever acts on the raiser's side at `number`: from the directory, else the procedure's tier."""
    stage = ctx.policy.stage(number)
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


def stage_field(what: str) -> Fill:
    def fill(ctx: FormContext, number: int) -> str:
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


def practitioner(ctx: FormContext, _stage: int = 0) -> str:
    w = raiser(ctx.case, ctx.directory)
    return _line(w.name, w.designation)


def concerns_remaining(ctx: FormContext, stage: int) -> str:
    """The nature of the disagreement, with what remained unresolved at the stage before `stage`."""
    text = nature(ctx)
    before = [e for e in ctx.case.get("stages") or [] if e["stage"] < stage]
    if before and before[-1].get("reason"):
        text += f"\nRemaining from {ctx.title(before[-1]['stage'])}: {before[-1]['reason']}"
    return text


def progressed(ctx: FormContext, stage: int) -> str:
    entry = ctx.entry(stage)
    if entry is None or not entry.get("outcome"):
        return ""
    if entry["outcome"] == "escalated":
        return f"Yes: {entry.get('reason', '')}"
    return f"No: resolved at {ctx.title(entry['stage'])}"


# --- what ---------------------------------------------------------------------------------------------------------
def nature(ctx: FormContext, _stage: int = 0) -> str:
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


def answer(ctx: FormContext, question_id: str) -> str:
    """A Stage 1 answer as a person reads it (a choice by its label, a date as '3 February 2015'); the sensitive
    ones (the child's details) are kept apart from the others on the case, and read from there."""
    question = ctx.policy.question(question_id)
    source = ctx.child if question is not None and question.sensitive else ctx.details
    value = source.get(question_id)
    if value is None or value == "":
        return ""
    if question is None:
        return str(value)
    if question.kind == "date":
        return day(str(value))
    return show_answer(question, value)


def case_reference(ctx: FormContext, _stage: int = 0) -> str:
    own = ctx.details.get("agency_reference")
    return f"{ctx.case.get('ref', '')} (raising agency's reference: {own})" if own else str(ctx.case.get("ref", ""))


def panel_convened(ctx: FormContext, _stage: int = 0) -> str:
    last = ctx.policy.last_stage
    if ctx.entry(last.number) is not None:
        return (f"Not recorded by the bot: complete by hand ({ctx.title(last.number)} reached on "
                f"{referral_date(ctx, last.number)})")
    outcome = ctx.case.get("outcome") or {}
    return f"No: resolved at {ctx.title(outcome['stage'])}" if outcome.get("stage") else ""


def _case_wide(fill: Callable[[FormContext], str]) -> Fill:
    return lambda ctx, _stage: fill(ctx)


# How each `fill` of the policy format (policies.model.FORM_FILLS; policies/README.md says what each gives) is filled.
FILLS: dict[str, Fill] = {
    "reference": case_reference,
    "arose_on": lambda ctx, _stage: day(ctx.case.get("arose_on")),
    "nature": nature,
    "people": people,
    "people_names": worker_column("name"),
    "people_roles": worker_column("designation"),
    "people_agencies": worker_column("agency"),
    "people_contacts": worker_column("contact"),
    "raiser": practitioner,
    "raiser_agency": lambda ctx, _stage: raiser(ctx.case, ctx.directory).agency,
    "raiser_line_manager": lambda ctx, _stage: line_manager(ctx.case, ctx.directory),
    "history": _case_wide(stage_history),
    "escalation": _case_wide(escalation),
    "actions_to_date": _case_wide(actions_to_date),
    "final_date": lambda ctx, _stage: day((ctx.case.get("outcome") or {}).get("at")),
    "final_outcome": _case_wide(resolution),
    "panel_convened": panel_convened,
    "by_hand": lambda ctx, _stage: "",
    "concerns_remaining": concerns_remaining,
    "escalated_by": escalated_by,
    "raiser_contact": raiser_contact,
    "stage_started": referral_date,
    "stage_due": stage_field("due"),
    "stage_ended": stage_field("ended"),
    "stage_dates": stage_dates,
    "stage_outcome": stage_outcome,
    "stage_response": stage_field("response"),
    "stage_resolution": stage_field("resolution"),
    "stage_progressed": progressed,
    "next_stage_started": stage_field("next"),
}
# "answer" reads the field's `question` (form_values); every other fill is here, and nothing else is.
assert set(FILLS) | {"answer"} == set(FORM_FILLS), "bot/records/forms.py and policies.model.FORM_FILLS disagree"
