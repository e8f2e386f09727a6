"""Deadline nudges as data on the case: which to plan for a stage, which are due, and what they say.

The ladder for a stage with a timescale: one working day before its due date, on the due date, and on the next
working day after it (overdue). While the stage stays overdue, another overdue reminder follows every
`[reminders].overdue_every` working days after the last one sent (planned when it is sent, like review reminders),
and once the stage is `[reminders].lead_after` working days overdue the safeguarding lead(s) are told, once per stage:
that day's reminder is the "lead" nudge, which @mentions them as well. An overall cap (BCSSP's) gets its own nudge a
working day before it runs out, until the case reaches the stage the cap runs to (or, for a cap that runs to
resolution, until it is resolved). Stages with no timescale get a review reminder every `review_days` working days
(local practice, not the procedure's rule). A duty on a clock of its own (calendar days, months, hours) gets one
"duty" nudge when it falls due, until it is done. All are sent at the start of a working day, never on weekends, bank
holidays of the policy's nation or its closure days; but a duty counted in hours is nudged at its due time, any day
(see `duty_plan`).
"""

from __future__ import annotations

from datetime import date, datetime

from bot.cases.case import Case, Nudge, NudgeKind, stage_now
from bot.cases.messages import due_by, long_date
from bot.dates.workdays import calendar_of
from policies.model import Policy


def plan(policy: Policy, case: Case, today: date, review_days: int) -> list[Nudge]:
    """The nudges to plan for a case now: its current stage's (while it is open) and its duties' own."""
    stage = _stage_plan(policy, case, today, review_days) if case.get("status") == "open" else []
    return stage + duty_plan(policy, case, today)


def own_clock(policy: Policy, duty_id: str) -> bool:
    """Whether a duty runs on a clock of its own (calendar days, months, hours): those get their own nudge, as their
    deadlines do not follow the stage's; duties in working days are listed in every nudge of their stage."""
    found = next((n for n in policy.notifications if n.id == duty_id), None)
    return found is not None and found.within_working_days is None and (
        found.within_calendar_days is not None or found.within_months is not None or found.within_hours is not None)


def duty_plan(policy: Policy, case: Case, today: date) -> list[Nudge]:
    """One nudge per open duty on a clock of its own, when it falls due: a duty counted in hours at its due time
    (any day: the procedure's clock runs in hours); one counted in days or months at the start of the last working
    day on or before its due date (or the next one, if that has passed). Kept after the case is resolved, until the
    duty is done (Surrey's learning is shared within a month of the final meeting)."""
    calendar = calendar_of(policy)
    live = {n["id"] for n in case.get("nudges", []) if n["status"] in ("pending", "sending", "sent")}
    out: list[Nudge] = []
    for duty in case.get("duties", []):
        due = duty.get("due")
        if duty["status"] != "open" or not due or not own_clock(policy, duty["duty"]):
            continue
        stage = duty.get("stage", case.get("stage") or 0)
        nid = f"{stage}:duty:{duty['id']}:{due}"
        if nid in live:
            continue
        nudge: Nudge = {"id": nid, "stage": stage, "kind": "duty", "status": "pending", "attempts": 0,
                        "duty": duty["id"]}
        if "T" in due:
            out.append({**nudge, "date": datetime.fromisoformat(due).date().isoformat(), "at": due})
            continue
        deadline = date.fromisoformat(due)
        day = deadline if calendar.is_working_day(deadline) else calendar.previous_working_day(deadline)
        if day < today:
            if deadline < today:
                continue
            day = calendar.on_or_after(today)
        out.append({**nudge, "date": day.isoformat()})
    return out


def _stage_plan(policy: Policy, case: Case, today: date, review_days: int) -> list[Nudge]:
    """The nudges to send for the case's current stage (only those on or after today)."""
    calendar = calendar_of(policy)
    stage = stage_now(case)
    stage_due = case.get("stage_due")
    dates: list[tuple[NudgeKind, date]] = []
    if stage_due:
        due = date.fromisoformat(stage_due)
        dates += [("before", calendar.previous_working_day(due)), ("due", due),
                  ("overdue", calendar.next_working_day(due))]
        if dates[-1][1] < today:  # opened (or moved) after the whole ladder: one overdue nudge at the next chance
            dates.append(("overdue", calendar.on_or_after(today)))
        if not lead_planned(case, stage):  # the leads hear of a stage once, however often its nudges are planned
            serious = calendar.add_working_days(due, policy.reminders.lead_after)
            dates.append(("lead", max(serious, calendar.on_or_after(today))))
    else:
        started = date.fromisoformat(case["stage_started_on"])
        dates.append(("review", calendar.add_working_days(max(started, today), review_days)))
    cap = policy.overall
    cap_due = case.get("overall_due")
    if cap and cap_due and cap.runs_at(stage):
        overall = date.fromisoformat(cap_due)
        dates.append(("overall", calendar.previous_working_day(overall)))
    live = [n for n in case.get("nudges", []) if n["status"] in ("pending", "sending", "sent")]
    sent = {n["id"] for n in live}
    overall_days = {n["date"] for n in live if n["kind"] == "overall"}  # one cap: one nudge, whatever the stage
    out: list[Nudge] = []
    for kind, day in dates:
        if day < today:
            continue  # a stage opened late: no "due tomorrow" for a date already past
        nid = f"{stage}:{kind}:{day.isoformat()}"
        if nid in sent or (kind == "overall" and day.isoformat() in overall_days):
            continue
        out.append({"id": nid, "stage": stage, "kind": kind, "date": day.isoformat(), "status": "pending",
                    "attempts": 0})
    return out


def lead_planned(case: Case, stage: int) -> bool:
    """Whether the leads' nudge for this stage is planned, on its way or sent already (it is sent once)."""
    return any(n["kind"] == "lead" and n["stage"] == stage and n["status"] in ("pending", "sending", "sent")
               for n in case.get("nudges", []))


def next_overdue(policy: Policy, case: Case, after: date) -> Nudge:
    """The next reminder while the stage stays overdue: `[reminders].overdue_every` working days after `after` (the
    working day the last one was sent), so it always falls on a working day."""
    day = calendar_of(policy).add_working_days(after, policy.reminders.overdue_every)
    stage = stage_now(case)
    return {"id": f"{stage}:overdue:{day.isoformat()}", "stage": stage, "kind": "overdue",
            "date": day.isoformat(), "status": "pending", "attempts": 0}


def overdue_by(policy: Policy, case: Case, today: date) -> int:
    """How many working days the current stage is overdue on `today` (0 if it is not)."""
    when_due = case.get("stage_due")
    if not when_due:
        return 0
    return calendar_of(policy).working_days_between(date.fromisoformat(when_due), today)


def next_review(policy: Policy, case: Case, after: date, review_days: int) -> Nudge:
    """The following review reminder once one has been sent."""
    day = calendar_of(policy).add_working_days(after, review_days)
    stage = stage_now(case)
    return {"id": f"{stage}:review:{day.isoformat()}", "stage": stage, "kind": "review",
            "date": day.isoformat(), "status": "pending", "attempts": 0}


def duty_text(case: Case, nudge: Nudge) -> str:
    """A duty's own nudge: which duty falls due, and when (the open duties follow, numbered for `done`)."""
    duty = next((d for d in case.get("duties", []) if d["id"] == nudge.get("duty")), None)
    if duty is None or not duty.get("due"):
        return f"{case['ref']}: a notification duty falls due."
    return f"{case['ref']}: a notification duty falls due by {due_by(str(duty['due']))}: notify {duty['notify']}."


def text(policy: Policy, case: Case, kind: str, addressees: str, next_contact: str, today: date | None = None,
         leads: tuple[str, ...] = ()) -> str:
    """The nudge's words. `addressees` names whoever must act; `next_contact` the next tier's counterpart; `today`
    (the day it is sent) says whether the next working day is tomorrow and how long the stage is overdue; `leads`
    names the safeguarding lead(s) a "lead" nudge tells."""
    ref, stage, when_due = case["ref"], stage_now(case), case.get("stage_due")
    title = policy.stage_title(stage)
    due = long_date(when_due)
    head = f"{addressees}: " if addressees else ""
    if kind == "before":
        stage_due = date.fromisoformat(when_due) if when_due else None
        tomorrow = today is None or stage_due is None or (stage_due - today).days == 1
        when = "tomorrow" if tomorrow else "on the next working day"
        body = f"{ref} is due {when}, {due}, at {title}."
    elif kind == "due":
        body = f"{ref} is due today at {title}."
    elif kind in ("overdue", "lead"):
        following = policy.next_stage(stage)
        step = f"escalate to {policy.stage_title(following.number)}" if following else "record the final decision"
        late = overdue_by(policy, case, today) if today else 0
        by = f" by {late} working day{'s' if late != 1 else ''}" if late else ""
        body = f"{ref} is overdue{by}: {title} was due {due}. If it is not resolved, {step} now."
        if next_contact:
            body += f" {next_contact}"
        if kind == "lead":
            body += "\n" + _lead_line(policy, ref, late, leads)
    elif kind == "overall":
        cap = policy.overall
        assert cap is not None
        body = (f"{ref}: one working day left of the overall timescale ({cap.description} "
                f"By {long_date(case.get('overall_due'))}; {cap.cite}).")
    else:
        last = stage == policy.last_stage.number
        question = ("is it resolved?" if last else
                    f"is it resolved, or does it need to go to {policy.stage_label} {stage + 1}?")
        body = (f"{ref} is at {title}, which has no set timescale in this procedure. As local practice, "
                f"please review progress: {question}")
    return head + body


def _lead_line(policy: Policy, ref: str, late: int, leads: tuple[str, ...]) -> str:
    """What the safeguarding lead(s) are told, once, when a stage is seriously overdue (no child details: the
    reference and the stage only, as in every nudge)."""
    rule = policy.reminders
    why = (f"({rule.cite})" if rule.cite else
           f"(as local practice, the safeguarding lead hears once a stage is {rule.lead_after} working "
           f"day{'s' if rule.lead_after != 1 else ''} overdue)")
    days = f"{late} working day{'s' if late != 1 else ''}" if late else "seriously"
    if not leads:
        return (f"{ref} is {days} overdue {why}, and no safeguarding lead for these agencies is in the directory: "
                "please tell your agency's designated safeguarding lead.")
    names = ", ".join(leads[:-1]) + f" and {leads[-1]}" if len(leads) > 1 else leads[0]
    label = "Safeguarding leads" if len(leads) > 1 else "Safeguarding lead"
    return f"{label} {names}: {ref} is {days} overdue {why}. Please help it move on."
