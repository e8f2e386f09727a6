"""What the bot says about cases. Chat text carries the case reference, never the child's identifiers nor anything
typed as free text.

Messages are short (the essentials first: reference, stage, who acts, by when, what next) and say who acts by name,
from the reader's place (`Viewer`): "you" only to the person meant. What is said after an action also goes into the
case's thread, read by everyone on the case, so it names everyone. Citations never nest brackets (`cited`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.dates.workdays import calendar_of
from bot.people.counterparts import Counterparts
from bot.people.directory import Person
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


def cited(cite: str) -> str:
    """A citation in brackets, any brackets of its own made commas: '(GSCP 2, closing paragraph)', never
    '(GSCP 2 (closing paragraph))'."""
    inner = re.sub(r"\s*\(([^()]*)\)", r", \1", cite).replace("(", "").replace(")", "")
    return f"({inner})"


def edition(version: str) -> str:
    """A procedure's version as a phrase: 'Version 4, January 2010' and 'V5' as they are, a bare date or number
    as 'version 2020-08-08' (never 'version Version 4')."""
    text = version.strip()
    if re.match(r"(?i)(version\b|v\d)", text) or not text[:1].isdigit():
        return text
    return f"version {text}"


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


@dataclass(frozen=True)
class Viewer:
    """Who reads a message, so it can say "you" to the person it means and no one else: the reader as the directory
    has them (if it does), and whether they raised the case. `Viewer()` is anyone (a case's thread, read by many)."""

    person: Person | None = None
    raiser: bool = False


ANYONE = Viewer()


def _label(person: Person) -> str:
    return f"{person.label} <{person.email}>"


def _raiser_name(case: Mapping[str, Any], viewer: Viewer) -> str:
    """A raiser outside the directory from the reader's place ("you"), else as their chat profile names them;
    never typed text."""
    if viewer.raiser:
        return "you"
    raised = case.get("raised_by") or {}
    return str(raised.get("name") or "the practitioner who raised the case")


def _side(person: Person | None, viewer: Viewer) -> str:
    return "" if person is None else "you" if viewer.person == person else _label(person)


def who_acts(policy: Policy, stage: Stage, case: Mapping[str, Any], sides: Counterparts,
             viewer: Viewer = ANYONE) -> str:
    """'Who acts: ...' at a stage, by name and from the reader's place ("you" only to the person meant), with what
    the directory could not say. Notes addressed to the raiser ("you are not in the directory") go to them only."""
    mine = _side(sides.raiser_side, viewer)
    if not mine and stage.raiser_tier == "practitioner":
        mine = _raiser_name(case, viewer)  # the raiser acts themself (not in the directory)
    elif not mine and stage.raiser_tier != "none":
        what = policy.contact_label(stage.raiser_contact) if stage.raiser_contact else TIER_LABELS[stage.raiser_tier]
        mine = f"your {what}" if viewer.raiser else f"the raiser's {what}"
    if stage.other_tier == "none":
        theirs, tail = "", "; the other agency is not involved at this stage"
    elif stage.other_tier == "partnership":
        contact = _side(sides.other_side, viewer) or f"the {policy.short_name} partnership's contact"
        theirs, tail = f"for the safeguarding partnership, {contact}", ""
    else:
        what = policy.contact_label(stage.other_contact) if stage.other_contact else TIER_LABELS[stage.other_tier]
        where = f"{sides.other_agency}'s" if sides.other_agency else "the other agency's"
        theirs, tail = _side(sides.other_side, viewer) or f"{where} {what}", ""
    joint = " and, " if stage.other_tier == "partnership" else " and "
    both = joint.join(w for w in (mine, theirs) if w) or "nobody named yet"
    notes = (sides.raiser_notes if viewer.raiser or viewer.person is None else ()) + sides.other_notes
    return " ".join([f"Who acts: {both}{tail}.", *notes])


def timescale(policy: Policy, stage: Stage) -> str:
    """How a stage's timescale is counted, e.g. 'within 2 working days of the end of Stage 1'."""
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


def _agreed(case: Mapping[str, Any], stage: Stage) -> bool:
    """Whether the stage's due date is one both agencies agreed (an extension), not the procedure's timescale."""
    last = next(reversed(case.get("extensions") or []), None)
    return bool(last and last["stage"] == stage.number and last["new_due"] == case.get("stage_due"))


def when_due(policy: Policy, stage: Stage, case: Mapping[str, Any], today: date | None = None) -> str:
    """By when the stage must be done, once, without brackets inside brackets: 'due by Wednesday 25 November 2026
    (SSCP 6.4 Stage 1)', 'overdue by 3 working days: it was due by ...', a date both agencies agreed, or no set
    timescale. `today` (when known) says whether it is overdue."""
    due = case.get("stage_due")
    if stage.working_days is None or not due:
        return f"no set timescale in this procedure {cited(stage.cite)}"
    agreed = _agreed(case, stage)
    cite = f"as both agencies agreed {cited(policy.extension.cite)}" if agreed else f"{cited(stage.cite)}"
    by = f"due by {long_date(due)} {cite}"
    if today is not None and date.fromisoformat(due) < today:
        late = calendar_of(policy).working_days_between(date.fromisoformat(due), today)
        days = f" by {late} working day{'s' if late != 1 else ''}" if late else ""
        return f"overdue{days}: it was {by}"
    note = f", {stage.timescale_note}" if stage.timescale_note and not agreed else ""
    return by + note


def stage_line(policy: Policy, stage: Stage, case: Mapping[str, Any], today: date | None = None) -> str:
    return f"{policy.stage_title(stage.number)}, {when_due(policy, stage, case, today)}."


def emergency_route(policy: Policy) -> str:
    """The procedure's emergency route as it is told: at once, before anything else."""
    harm = policy.immediate_harm  # (the procedure's route and cite, then the product's guidance: never attributed)
    guidance = f" {harm.guidance}" if harm.guidance else ""
    return f"Immediate risk of harm: act now. {harm.route} {cited(harm.cite)}{guidance}"


def emergency(policy: Policy, ref: str, on_case: bool = False) -> str:
    """The route, and that it is recorded: as a record of its own (then the disagreement can still be raised), or
    on the case it was asked for (`on_case`: the disagreement is that case, and it goes on)."""
    if on_case:
        return f"{emergency_route(policy)}\nI have recorded on {ref} that this route was given; the case goes on."
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


def case_opened(policy: Policy, case: Mapping[str, Any], today: date, sides: Counterparts,
                viewer: Viewer = ANYONE) -> str:
    """What the raiser reads when the case opens: the essentials (reference, stage, who acts, by when, what next),
    then only what applies to this case (duties, an overall cap, a step the procedure expects first)."""
    stage = policy.stage(case["stage"])
    assert stage is not None
    details = case["details"]
    lines = [
        f"Case {case['ref']} is open under the {policy.name} procedure.",
        "Now: " + stage_line(policy, stage, case, today),
        who_acts(policy, stage, case, sides, viewer),
        f"What to do: {stage.action}",
    ]
    if details.get("discussed_line_manager") is False and stage.raiser_tier != "practitioner":
        lines.append("You have not yet discussed this with your line manager: the procedure starts there.")
    if details.get("discussed_other") is False and policy.pre_stage:
        lines.append(f"First, {policy.pre_stage.name}: {policy.pre_stage.action} {cited(policy.pre_stage.cite)}")
    if case.get("overall_due") and policy.overall:
        cap = policy.overall
        lines.append(f"Overall: {cap.description} By {long_date(case['overall_due'])} {cited(cap.cite)}.")
    lines += duty_lines(case)
    following = policy.next_stage(stage.number)
    if following:
        lines.append(f"If not resolved: {policy.stage_title(following.number)}, {timescale(policy, following)}.")
    return "\n".join(lines)


def duty_lines(case: Mapping[str, Any], only: frozenset[str] | None = None) -> list[str]:
    """Open notification duties, numbered as `done REF N` expects (`only`: just the duties with these ids). A duty's
    number is its place among all the case's duties, so it never changes as others are marked done: a number in an
    earlier message still names the same duty."""
    out = []
    for number, duty in enumerate(case.get("duties", []), 1):
        if duty["status"] != "open" or (only is not None and duty["id"] not in only):
            continue
        by = f" by {due_by(duty['due'])}" if duty.get("due") else ""
        out.append(f"To do ({number}){by}: {duty['text']} {cited(duty['cite'])} - when done: "
                   f"done {case['ref']} {number}")
    return out


def person_line(person: Any) -> str:
    return _label(person)


def contacts_line(policy: Policy, stage_number: int, sides: Any) -> str:
    """Who must act at a stage on each side, from the directory, with what to do where it cannot say (said in a
    case's thread, to everyone in it: by name, never "you")."""
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


def decision_words(policy: Policy) -> str:
    """What a binding final decision is, in the procedure's words ([final_stage] decision) where it has them."""
    return policy.final_stage.decision or "final and binding"


def resolved(policy: Policy, case: Mapping[str, Any]) -> str:
    outcome = case["outcome"]
    lines = [f"{case['ref']} is resolved at {policy.stage_title(outcome['stage'])}. The written outcome and how "
             "outstanding actions will be followed up are recorded on the case."]
    if outcome.get("binding"):
        lines.append(f"This is the final stage's decision: {decision_words(policy)} {cited(policy.final_stage.cite)}.")
    elif outcome.get("final_decision"):
        lines.append(f"This records the final stage's decision {cited(policy.final_stage.cite)}.")
    lines += duty_lines(case)
    if policy.debrief:
        lines.append(f"{policy.debrief.text} {cited(policy.debrief.cite)}")
    lines.append("Record the outcome on the child's file in your agency.")
    return "\n".join(lines)


def moved(policy: Policy, case: Mapping[str, Any], action: str, sides: Counterparts, today: date | None = None) -> str:
    """What is said in the case's thread (to everyone in it, so by name) after an escalation or an extension."""
    stage = policy.stage(case["stage"])
    assert stage is not None
    if action == "extend":
        ext = case["extensions"][-1]
        return (f"{case['ref']}: {policy.stage_title(stage.number)} is now due by {long_date(ext['new_due'])}, as "
                f"both agencies agreed {cited(policy.extension.cite)}. Who agreed, and why, is on the written record.\n"
                + who_acts(policy, stage, case, sides))
    final = stage.number == policy.last_stage.number
    lines = [f"{case['ref']} is escalated to {stage_line(policy, stage, case, today)}"
             + (" This is the final stage." if final else ""),
             who_acts(policy, stage, case, sides), f"What to do: {stage.action}"]
    if final and policy.final_stage.binding:
        lines.append(f"Its decision is {decision_words(policy)} {cited(policy.final_stage.cite)}.")
    lines += duty_lines(case)
    return "\n".join(lines)


def status(policy: Policy | None, case: Mapping[str, Any], today: date | None = None,
           sides: Counterparts | None = None, viewer: Viewer = ANYONE, resolved_by: str = "",
           raised_by: str = "") -> str:
    """Where a case is, for the person who asked: its stage and by when (or how it ended), who acts, open duties.
    `resolved_by` and `raised_by` are names (the directory's, else the chat profile's), "" when not known."""
    ref = case["ref"]
    if case["status"] == "immediate_harm":
        given = f"{ref}: the immediate-harm route was given on {long_date(case['raised_at'][:10])}; no case stages."
        return "\n".join([given, *duty_lines(case)])  # (the procedure's duties once the route is given: BCSSP)
    name = policy.short_name if policy else case["policy"]
    stage = policy.stage(case["stage"]) if policy else None
    by = "you" if viewer.raiser else raised_by
    raised = (f"Raised{' by ' + by if by else ''} on {long_date(case['raised_at'][:10])}; disagreement with "
              f"{other_agency(case)}.")
    title = policy.stage_title(stage.number) if policy and stage else f"stage {case['stage']}"
    owed = duty_lines(case)
    if case["status"] != "open":
        outcome = case.get("outcome") or {}
        if outcome.get("stage") is not None and policy:  # (where it ended, not where it stands: no timescale left)
            title = policy.stage_title(outcome["stage"])
        on = f" on {long_date(outcome['at'][:10])}" if outcome.get("at") else ""
        who = f" by {resolved_by}" if resolved_by else ""
        lines = [f"{ref} ({name}): {case['status']} at {title}{on}{who}.", raised]
        if case["status"] == "resolved" and owed:
            lines.append(f"Notification duties still open after resolution: {len(owed)}. They stay on the "
                         "safeguarding leads' weekly summary until they are marked done.")
    elif policy and stage:
        lines = [f"{ref} ({name}): open, at {stage_line(policy, stage, case, today)}"]
        if sides is not None:
            lines.append(who_acts(policy, stage, case, sides, viewer))
        lines.append(raised)
    else:
        lines = [f"{ref} ({name}): open, at {title}.", raised]
    return "\n".join(lines + owed)


def root(policy: Policy, case: Mapping[str, Any], sides: Counterparts) -> str:
    """A case thread's root message: reference, procedure, stage, due date and who must act."""
    stage = policy.stage(case["stage"])
    assert stage is not None
    who = [p.name for p in (sides.raiser_side, sides.other_side) if p is not None]
    if sides.raiser_side is None and stage.raiser_tier == "practitioner":  # a raiser outside the directory acts
        who.insert(0, _raiser_name(case, ANYONE))
    lines = [
        f"Escalation {case['ref']} ({policy.short_name}): disagreement with {other_agency(case)}",
        "Now: " + stage_line(policy, stage, case),
        f"Who must act: {' and '.join(who)}." if who else who_acts(policy, stage, case, sides),
    ]
    return "\n".join(lines)
