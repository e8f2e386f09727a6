"""Stage transitions on a case (resolve, escalate, extend, immediate harm, duties), as pure functions.

Each takes the stored case and returns the new one, or raises Refused with a sentence for the user. Every action
names the stage it was taken on (`expected_stage`): a double click, a retry or a second person acting on a stage
that has already moved is refused with what already happened, so each action applies exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from bot.cases.case import AuditEntry, Case, Duty, ExtensionEntry, Nudge, StageEntry, audit, stage_duties
from bot.cases.messages import cited, long_date
from bot.dates.timeline import stage_due
from bot.dates.workdays import calendar_of, london_today
from bot.types import UserRef
from policies.model import Policy


class Refused(Exception):
    """The action cannot be applied; the message says why, in plain words, and nothing changed."""


Names = Callable[[str], str]  # an audit entry's `by` ("channel:id") -> a name a person may read


def _nobody(key: str) -> str:
    return "someone else"  # (without names to hand, a raw chat id is never shown instead)


def _last(case: Case, *actions: str) -> AuditEntry | None:
    return next((e for e in reversed(case["events"]) if e["action"] in actions), None)


def check_open(case: Case, policy: Policy, expected_stage: int | None, names: Names = _nobody) -> int:
    """Refuse unless the case is open and still at the stage the action was taken on; its current stage. `names`
    says who acted before, by name."""
    ref = case["ref"]
    current = case.get("stage")
    if case["status"] == "immediate_harm" or current is None:
        raise Refused(f"{ref} records an immediate-harm referral; it has no stages to act on.")
    if case["status"] != "open":
        done = _last(case, "resolved")
        when = f" by {names(done['by'])} at {done['at'][:16].replace('T', ' ')}" if done else ""
        raise Refused(f"{ref} was already resolved{when}. Nothing was changed.")
    if expected_stage is not None and current != expected_stage:
        moved = _last(case, "escalated")
        who = f" (escalated by {names(moved['by'])} at {moved['at'][:16].replace('T', ' ')})" if moved else ""
        raise Refused(f"{ref} has already moved on to {policy.stage_title(current)}{who}. Nothing was changed.")
    return current


def available_actions(policy: Policy, case: Case) -> tuple[str, ...]:
    """The buttons worth offering on a case now: resolve; escalate unless at the final stage; extend where allowed."""
    current = case.get("stage")
    if case.get("status") != "open" or current is None:
        return ()
    out = ["resolve"]
    if policy.next_stage(current) is not None:
        out.append("escalate")
    if policy.extension.allows(current):
        out.append("extend")
    return tuple(out)


def _close_stage(case: Case, today: date, outcome: str, reason: str) -> list[StageEntry]:
    stages: list[StageEntry] = [{**s} for s in case["stages"]]
    stages[-1].update({"ended_on": today.isoformat(), "outcome": outcome, "reason": reason})
    return stages


def _cancel_pending(case: Case) -> list[Nudge]:
    return [{**n, "status": "cancelled"} if n["status"] in ("pending", "sending") else n
            for n in case.get("nudges", [])]


def resolve(
    case: Case, policy: Policy, actor: UserRef, outcome: str, follow_up: str, now: datetime,
    expected_stage: int | None, names: Names = _nobody,
) -> Case:
    """Close the case with the written outcome agreed between the parties and how actions will be followed up."""
    current = check_open(case, policy, expected_stage, names)
    if not outcome.strip() or not follow_up.strip():
        raise Refused("A resolution needs the written outcome agreed between the parties and how outstanding "
                      "actions will be followed up.")
    today = london_today(now)
    stage = policy.stage(current)
    assert stage is not None
    final = stage.number == policy.last_stage.number
    binding = final and policy.final_stage.binding
    details = case["details"]
    duties = [*case["duties"], *stage_duties(policy, stage, "resolve", details, now)]
    return {
        **case,
        "status": "resolved",
        "stages": _close_stage(case, today, "resolved", outcome.strip()),
        "stage_due": None,
        "outcome": {
            "text": outcome.strip(),
            "follow_up": follow_up.strip(),
            "stage": stage.number,
            "final_decision": final,
            "binding": binding,
            "by": actor.key,
            "at": now.isoformat(),
        },
        "closed_at": now.isoformat(),
        "duties": duties,
        "nudges": _cancel_pending(case),
        "events": [*case["events"], audit(now, actor, "resolved", f"at {policy.stage_title(stage.number)}"
                                          + ("; final and binding decision" if binding else ""))],
    }


def escalate(case: Case, policy: Policy, actor: UserRef, reason: str, now: datetime,
             expected_stage: int | None, names: Names = _nobody) -> Case:
    """Move to the next stage: record why, start its clock per the policy, add its notification duties.

    The stage's `actors` (such as the contact the other agency gave) move onto its entry in `stages`.
    """
    current = policy.stage(check_open(case, policy, expected_stage, names))
    assert current is not None
    following = policy.next_stage(current.number)
    if following is None:
        raise Refused(f"{case['ref']} is already at the final stage ({policy.stage_title(current.number)}): "
                      f"{policy.final_stage.description} Record its decision with resolve.")
    if not reason.strip():
        raise Refused("Say why the disagreement is being escalated: what remains unresolved.")
    today = london_today(now)
    arose = date.fromisoformat(case["arose_on"])
    start = arose if following.counts_from == "disagreement" else today
    due = stage_due(policy, following, start)
    stages = _close_stage(case, today, "escalated", reason.strip())
    if case.get("actors"):  # kept on the stage they were recorded at: `actors` starts afresh for the next stage
        stages[-1]["actors"] = dict(case["actors"])
    stages.append({"stage": following.number, "started_on": today.isoformat(),
                   "due": due.isoformat() if due else None, "ended_on": None, "outcome": None})
    return {
        **case,
        "stage": following.number,
        "stage_started_on": today.isoformat(),
        "stage_due": due.isoformat() if due else None,
        "stages": stages,
        "actors": {},
        "duties": [*case["duties"], *stage_duties(policy, following, "enter", case["details"], now)],
        "nudges": _cancel_pending(case),
        "events": [*case["events"], audit(now, actor, "escalated",
                                          f"to {policy.stage_title(following.number)}; due {due or 'none'}")],
    }


def extension_refused(policy: Policy, stage: int) -> str:
    """Why this stage's timescale cannot be changed, in the procedure's own words where they apply."""
    ext, label = policy.extension, policy.stage_label
    if ext.allowed:  # allowed at some stages only: quoting the clause that allows it would mislead
        numbers = [str(n) for n in ext.stages]
        where = f"{label}s {', '.join(numbers[:-1])} and {numbers[-1]}" if len(numbers) > 1 else f"{label} {numbers[0]}"
        found = policy.stage(stage)
        return (f"This procedure allows an agreed new date only at {where} {cited(ext.cite)}; the timescale of "
                f"{policy.stage_title(stage)} stands {cited(found.cite if found else ext.cite)}.")
    found = policy.stage(stage)
    if found is not None and found.working_days is None:  # (our words: the quotation is only the procedure's)
        return (f"{policy.stage_title(stage)} has no timescale in this procedure, so there is no date to change. "
                f"In its own words: \"{ext.wording}\" {cited(ext.cite)}")
    return (f"This procedure does not allow the timescale to be changed at this stage. "
            f"In its own words: \"{ext.wording}\" {cited(ext.cite)}")


def extend(
    case: Case, policy: Policy, actor: UserRef, new_due: date, agreed_here: str, agreed_other: str,
    reason: str, now: datetime, expected_stage: int | None, names: Names = _nobody,
) -> Case:
    """A new due date agreed by both agencies, only where the procedure allows it."""
    current = check_open(case, policy, expected_stage, names)
    ext = policy.extension
    if not ext.allows(current):
        raise Refused(extension_refused(policy, current))
    if not (agreed_here.strip() and agreed_other.strip()):
        raise Refused("An extension needs the agreement of both agencies: name who agreed on each side.")
    if not reason.strip():
        raise Refused("Give the reason for the new date.")
    today = london_today(now)
    calendar = calendar_of(policy)
    if new_due <= today:
        raise Refused(f"The new date must be after today ({long_date(today)}).")
    if not calendar.is_working_day(new_due):
        raise Refused(f"{long_date(new_due)} is not a working day; choose "
                      f"{long_date(calendar.on_or_after(new_due))} or another working day.")
    old = case.get("stage_due")
    last = next(reversed(case.get("extensions", [])), None)
    if last is not None and old == new_due.isoformat() and last["stage"] == current and last["new_due"] == old:
        # the same extension sent twice (a double click, two forms opened from one reminder): once is enough
        raise Refused(f"{case['ref']} was already extended to {long_date(new_due)} by {names(last['by'])}. "
                      "Nothing was changed.")
    stages: list[StageEntry] = [{**s} for s in case["stages"]]
    stages[-1]["due"] = new_due.isoformat()
    record: ExtensionEntry = {"stage": current, "old_due": old, "new_due": new_due.isoformat(),
                              "agreed_here": agreed_here.strip(), "agreed_other": agreed_other.strip(),
                              "reason": reason.strip(), "by": actor.key, "at": now.isoformat()}
    return {
        **case,
        "stage_due": new_due.isoformat(),
        "stages": stages,
        "extensions": [*case.get("extensions", []), record],
        "nudges": _cancel_pending(case),
        "events": [*case["events"], audit(now, actor, "extended",
                                          f"{policy.stage_title(current)} from {old} to {new_due}")],
    }


def declare_harm(case: Case, policy: Policy, actor: UserRef, now: datetime) -> Case:
    """Immediate harm declared on a case at any stage: recorded, with the procedure's duties when the route is given
    (BCSSP: the required action within 24 hours), each on its own clock; the route is given by the caller at once."""
    number = case.get("stage")
    stage = policy.stage(number) if number is not None else None
    return {**case, "duties": [*case["duties"], *stage_duties(policy, stage, "harm", case.get("details") or {}, now)],
            "events": [*case["events"], audit(now, actor, "immediate_harm_route_given",
                                              f"at stage {case.get('stage')}; {policy.immediate_harm.cite}")]}


def duty_done(case: Case, number: int, actor: UserRef, now: datetime) -> Case:
    """Mark the case's notification duty number `number` (1-based, its place among all the case's duties, as status
    lists it) as done; one already done is refused, saying so."""
    duties_now = case["duties"]
    if not 1 <= number <= len(duties_now):
        raise Refused(f"{case['ref']} has no duty number {number}; type status {case['ref']} to see them.")
    if duties_now[number - 1]["status"] != "open":
        raise Refused(f"Duty {number} of {case['ref']} is already marked done; type status {case['ref']} to see "
                      "those still open.")
    target = duties_now[number - 1]["id"]
    duties: list[Duty] = [{**d, "status": "done", "done_by": actor.key, "done_at": now.isoformat()}
                          if d["id"] == target else d for d in case["duties"]]
    return {**case, "duties": duties,
            "events": [*case["events"], audit(now, actor, "duty_done", target)]}


def record_contact(case: Case, policy: Policy, actor: UserRef, contact: str, now: datetime,
                   names: Names = _nobody) -> Case:
    """The other agency's contact for the current stage, as it was given to the user."""
    check_open(case, policy, None, names)
    if not contact.strip():
        raise Refused("Give the contact's name and how to reach them, e.g. contact ESC-2026-0001 Sam Lee, "
                      "sam.lee@agency.example, Team Manager.")
    actors = {**case.get("actors", {}), "other_recorded": contact.strip()[:300]}
    return {**case, "actors": actors,
            "events": [*case["events"], audit(now, actor, "contact_recorded", f"stage {case['stage']}")]}
