"""What the bot says about cases. Chat text carries the case reference, never the child's identifiers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from dialogs.answers import show_answer
from policies.model import TIER_LABELS, Policy, Stage

HELP = """I help you follow your safeguarding partnership's procedure for resolving professional disagreements.
  escalate      start a new escalation (I ask the Stage 1 questions, then open a case)
  status REF    show where a case is, e.g. status ESC-2026-0001
  resolve REF / escalate REF / extend REF   act on a case (asks what is needed)
  harm REF      the immediate-harm route for a case, at once
  done REF N    mark notification duty N done;  contact REF TEXT  record the other agency's contact
  record REF    your private copy of the case's written record
  summary       the weekly summary (safeguarding leads)
  cancel        stop the questions you are answering
  help          this message
If a child is in immediate danger, call 999 now."""


def long_date(value: str | date | None) -> str:
    """'Wednesday 25 November 2026' (or 'no set date')."""
    if value is None:
        return "no set date"
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day:%A} {day.day} {day:%B %Y}"


def due_by(value: str) -> str:
    """A duty's deadline as said: 'Wednesday 25 November 2026', or '10:00 on Tuesday 24 November 2026' for one
    counted in hours (stored as a London date and time)."""
    if "T" not in value:
        return long_date(value)
    at = datetime.fromisoformat(value)
    return f"{at:%H:%M} on {long_date(at.date())}"


def who_acts(stage: Stage) -> str:
    raiser = "you" if stage.raiser_tier == "practitioner" else f"your {TIER_LABELS[stage.raiser_tier]}"
    if stage.other_tier == "none":
        return f"on your side, {raiser}; the other agency is not involved yet"
    if stage.other_tier == "partnership":
        return f"{raiser}, referring the matter to the safeguarding partnership"
    return f"{raiser}, with the equivalent {TIER_LABELS[stage.other_tier]} in the other agency"


def timescale(policy: Policy, stage: Stage) -> str:
    if stage.working_days is None:
        return "no set timescale"
    if stage.counts_from == "disagreement":
        since = "the disagreement arising"
    elif stage.number == policy.first_stage.number:
        since = "the case being opened"
    else:
        since = f"the end of {policy.stage_label} {stage.number - 1}"
    note = f" {stage.timescale_note}" if stage.timescale_note else ""
    return f"within {stage.working_days} working days of {since}{note}"


def stage_line(policy: Policy, stage: Stage, due: str | None) -> str:
    when = f"due by {long_date(due)}" if due else "no set timescale in this procedure"
    return f"{policy.stage_title(stage.number)}, {when} ({timescale(policy, stage)}; {stage.cite})."


def emergency_route(policy: Policy) -> str:
    """The procedure's emergency route as it is told: at once, before anything else."""
    return f"Immediate risk of harm: act now. {policy.immediate_harm.text}"


def emergency(policy: Policy, ref: str) -> str:
    return (
        f"{emergency_route(policy)}\n"
        f"I have recorded that this route was given, as {ref}. When the child is safe, you can still raise the "
        "professional disagreement: type escalate."
    )


def other_agency(case: Mapping[str, Any]) -> str:
    """The other agency as the directory names it; what was typed is never repeated in chat (it could hold
    anything), so one the directory does not know is only pointed to."""
    named = (case.get("agencies") or {}).get("other")
    return str(named) if named else "the other agency (as named in the written record)"


def case_opened(policy: Policy, case: Mapping[str, Any], today: date) -> str:
    stage = policy.stage(case["stage"])
    assert stage is not None
    details = case["details"]
    category = policy.question("category")
    lines = [
        f"Case {case['ref']} is open under the {policy.name} procedure ({policy.source}).",
        f"Disagreement with: {other_agency(case)}"
        + (f", about: {show_answer(category, details.get('category'))}." if category else "."),
        "Now: " + stage_line(policy, stage, case["stage_due"]),
        f"Who acts: {who_acts(stage)}.",
        f"What to do: {stage.action}",
    ]
    due = case.get("stage_due")
    if due and date.fromisoformat(due) < today:
        lines.append(
            f"Note: counted from when the disagreement arose, this stage was due on {long_date(due)}. "
            "If it is not resolved, move to the next stage now."
        )
    if details.get("discussed_line_manager") is False and stage.raiser_tier != "practitioner":
        lines.append("You have not yet discussed this with your line manager: the procedure starts there.")
    if details.get("discussed_other") is False and policy.pre_stage:
        lines.append(f"{policy.pre_stage.name}: {policy.pre_stage.action} ({policy.pre_stage.cite})")
    if case.get("overall_due") and policy.overall:
        cap = policy.overall
        lines.append(f"Overall: {cap.description} By {long_date(case['overall_due'])} ({cap.cite}).")
    lines += duty_lines(case)
    following = policy.next_stage(stage.number)
    if following:
        lines.append(f"If not resolved: {policy.stage_title(following.number)} ({timescale(policy, following)}).")
    lines.append(
        f"Record every discussion and decision in writing, and quote {case['ref']} in your agency's records."
    )
    return "\n".join(lines)


def duty_lines(case: Mapping[str, Any], only: frozenset[str] | None = None) -> list[str]:
    """Open notification duties, numbered as `done REF N` expects (`only`: just the duties with these ids)."""
    out = []
    open_duties = [d for d in case.get("duties", []) if d["status"] == "open"]
    for number, duty in enumerate(open_duties, 1):
        if only is not None and duty["id"] not in only:
            continue
        by = f" by {due_by(duty['due'])}" if duty.get("due") else ""
        out.append(f"To do ({number}){by}: {duty['text']} ({duty['cite']}) - when done: done {case['ref']} {number}")
    return out


def person_line(person: Any) -> str:
    return f"{person.label} <{person.email}>"


def contacts_line(policy: Policy, stage_number: int, sides: Any) -> str:
    """Who must act at a stage on each side, from the directory, with what to do where it cannot say."""
    stage = policy.stage(stage_number)
    assert stage is not None
    parts = []
    if sides.raiser_side is not None:
        parts.append(f"in {sides.raiser_side.agency}, {person_line(sides.raiser_side)}")
    if stage.other_tier == "none":
        parts.append("the other agency is not involved at this stage")
    elif sides.other_side is not None:
        where = f"in {sides.other_agency}" if stage.other_tier != "partnership" else "for the partnership"
        parts.append(f"{where}, {person_line(sides.other_side)}")
    text = f"Who to contact at {policy.stage_label} {stage_number}: " + "; ".join(parts) + "." if parts else ""
    notes = " ".join(sides.notes)
    return (text + (" " if text and notes else "") + notes).strip()


def resolved(policy: Policy, case: Mapping[str, Any]) -> str:
    outcome = case["outcome"]
    lines = [f"{case['ref']} is resolved at {policy.stage_title(outcome['stage'])}. The written outcome and how "
             "outstanding actions will be followed up are recorded on the case."]
    if outcome.get("binding"):
        words = policy.final_stage.decision or "final and binding"  # (the procedure's words where it has them)
        lines.append(f"This is the final stage's decision: {words} ({policy.final_stage.cite}).")
    elif outcome.get("final_decision"):
        lines.append(f"This records the final stage's decision ({policy.final_stage.cite}).")
    lines += duty_lines(case)
    if policy.debrief:
        lines.append(f"{policy.debrief.text} ({policy.debrief.cite})")
    lines.append("Record the outcome on the child's file in your agency.")
    return "\n".join(lines)


def moved(policy: Policy, case: Mapping[str, Any], action: str) -> str:
    stage = policy.stage(case["stage"])
    assert stage is not None
    if action == "extend":
        ext = case["extensions"][-1]
        return (f"{case['ref']}: {policy.stage_title(stage.number)} is now due by {long_date(ext['new_due'])}, "
                f"agreed by both agencies (who agreed, and why, is on the written record; {policy.extension.cite}).")
    lines = [f"{case['ref']} is escalated to " + stage_line(policy, stage, case.get("stage_due")),
             f"Who acts: {who_acts(stage)}.", f"What to do: {stage.action}"]
    if stage.number == policy.last_stage.number:
        lines.append(f"This is the final stage: {policy.final_stage.description} ({policy.final_stage.cite})")
    lines += duty_lines(case)
    return "\n".join(lines)


def status(policy: Policy | None, case: Mapping[str, Any]) -> str:
    ref = case["ref"]
    if case["status"] == "immediate_harm":
        given = f"{ref}: the immediate-harm route was given on {long_date(case['raised_at'][:10])}; no case stages."
        return "\n".join([given, *duty_lines(case)])  # (the procedure's duties once the route is given: BCSSP)
    name = policy.short_name if policy else case["policy"]
    stage = policy.stage(case["stage"]) if policy else None
    where = stage_line(policy, stage, case.get("stage_due")) if policy and stage else f"stage {case['stage']}"
    lines = [
        f"{ref} ({name}): {case['status']}, at {where}",
        f"Raised on {long_date(case['raised_at'][:10])}; disagreement with {other_agency(case)}.",
    ]
    return "\n".join(lines + duty_lines(case))


def root(policy: Policy, case: Mapping[str, Any], sides: Any) -> str:
    """A case thread's root message: reference, procedure, stage, due date and who must act."""
    stage = policy.stage(case["stage"])
    assert stage is not None
    who = [p.name for p in (sides.raiser_side, sides.other_side) if p is not None]
    lines = [
        f"Escalation {case['ref']} ({policy.short_name}): disagreement with {other_agency(case)}",
        "Now: " + stage_line(policy, stage, case.get("stage_due")),
        f"Who must act: {' and '.join(who) if who else who_acts(stage)}.",
    ]
    return "\n".join(lines)
