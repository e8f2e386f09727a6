"""The case, as stored: its typed shape (defined once, here), its reference, and building a new one from Stage 1
answers (pure), with its notification duties and audit entries."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal, TypedDict

from bot.dates.timeline import duty_due, overall_due, stage_clock_start, stage_due
from bot.dates.workdays import london_today
from bot.types import ThreadRef, UserRef
from policies.model import Policy, Stage

SCHEMA = 1
REF_PREFIX = "ESC"
REF_PATTERN = re.compile(r"^ESC-\d{4}-\d{4,}$", re.IGNORECASE)  # what a case reference looks like when typed
Status = Literal["open", "resolved", "immediate_harm"]
NudgeKind = Literal["before", "due", "overdue", "lead", "overall", "review", "duty"]  # lead: overdue, leads told


class _AuditEntry(TypedDict):
    at: str
    by: str
    action: str
    detail: str


class AuditEntry(_AuditEntry, total=False):
    """One entry of a case's own audit trail: when, who ("channel:id", or "bot"), what; never child details.
    `event`: the chat event (a form's id) that made the change, so the same form handled again changes nothing."""

    event: str
    mac: str  # its link in the case's chain of events (bot.cases.trail): set when stored, never changed


class StageEntry(TypedDict, total=False):
    """One stage the case has been at: when it started, was due and ended, and how (resolved / escalated, why)."""

    stage: int
    started_on: str
    due: str | None
    ended_on: str | None
    outcome: str | None
    reason: str
    actors: dict[str, str]  # (kept from the case's `actors` when it moved on)


class Duty(TypedDict, total=False):
    """A notification duty (tell the IRO, send a form, ...), open until someone marks it done."""

    id: str  # "<notification id>@<stage>" ("<notification id>@<time given>" for an immediate-harm duty)
    duty: str
    stage: int  # (absent on an immediate-harm record's duty: it has no stages)
    notify: str
    form: str
    responsible_tier: str
    text: str
    cite: str
    due: str | None  # a date (ISO), or a London date and time for a duty counted in hours
    status: Literal["open", "done"]
    done_by: str
    done_at: str


class Nudge(TypedDict, total=False):
    """A deadline reminder planned for the case: sent at most once (see bot.jobs.scheduler)."""

    id: str  # "<stage>:<kind>:<date>" ("<stage>:duty:<duty id>:<due>" for a duty's own nudge)
    stage: int
    kind: NudgeKind
    date: str
    at: str  # a time-of-day nudge (a duty counted in hours): sent once this instant has passed, on any day
    duty: str  # the duty a "duty" nudge is about
    status: Literal["pending", "sending", "sent", "cancelled", "superseded"]
    attempts: int
    claimed_at: str
    claimed_by: str  # the process that claimed it (bot.jobs.claims)
    retry_at: str
    sent_at: str


class Outcome(TypedDict):
    """How the case was resolved: the written outcome agreed and how actions will be followed up."""

    text: str
    follow_up: str
    stage: int
    final_decision: bool
    binding: bool
    by: str
    at: str


class ExtensionEntry(TypedDict):
    """A new due date both agencies agreed for a stage."""

    stage: int
    old_due: str | None
    new_due: str
    agreed_here: str
    agreed_other: str
    reason: str
    by: str
    at: str


class Case(TypedDict, total=False):
    """A stored case (or, with status "immediate_harm", the record that the emergency route was given).

    `details` holds the Stage 1 answers that may appear in records (never in chat as free text); `child` the
    sensitive ones (name, date of birth, address), kept for the written record only. `thread` is where the case's
    messages go; `root_posted` says whether its first message is there yet (absent on cases stored before it was
    kept: see `root_pending`).
    """

    schema: int
    ref: str
    policy: str
    policy_version: str
    status: Status
    raised_by: dict[str, str]
    raised_at: str
    thread: dict[str, str]
    root_posted: bool
    opened_in: dict[str, str]  # the conversation the case was opened from
    arose_on: str
    details: dict[str, Any]
    child: dict[str, Any]
    agencies: dict[str, str | None]  # the two agencies as the directory names them: "raiser", "other"
    stage: int | None
    stage_started_on: str
    stage_due: str | None
    overall_due: str | None
    stages: list[StageEntry]
    actors: dict[str, str]  # the current stage's recorded contacts ("other_recorded")
    duties: list[Duty]
    nudges: list[Nudge]
    extensions: list[ExtensionEntry]
    outcome: Outcome
    closed_at: str
    hold: dict[str, str]  # a legal hold (bot.records.hold): "reason", "by", "at"; purge keeps the case while it is
    #                       there (sealed at rest, being typed text)
    events: list[AuditEntry]
    open_duties: int  # how many duties are open: kept by bot.cases.book on every write (the summary's index)
    trail: dict[str, Any]  # the head of the events' chain: {"count", "mac", "tag"} (bot.cases.trail)


def make_ref(year: int, number: int) -> str:
    """A human-readable case reference, e.g. ESC-2026-0001."""
    return f"{REF_PREFIX}-{year}-{number:04d}"


def is_ref(text: str) -> bool:
    """Whether `text` looks like a case reference (any case of letters)."""
    return bool(REF_PATTERN.match(text))


def stage_now(case: Case) -> int:
    """The stage a case is at (ValueError for an immediate-harm record, which has no stages)."""
    stage = case.get("stage")
    if stage is None:
        raise ValueError(f"{case.get('ref')} has no stages")
    return stage


def thread_of(case: Case) -> ThreadRef:
    return ThreadRef.from_dict(case["thread"])


def root_pending(case: Case) -> bool:
    """Whether a case's thread still lacks its root message (an immediate-harm record has no thread). Cases stored
    before `root_posted` was kept: a Slack case without a thread id had none (its post failed); any other case had
    its root posted when it opened."""
    if case.get("status") == "immediate_harm":
        return False
    if "root_posted" in case:
        return not case["root_posted"]
    thread = case.get("thread") or {}
    return thread.get("channel") == "slack" and not thread.get("thread")


def user_dict(user: UserRef) -> dict[str, str]:
    return {"channel": user.channel, "id": user.id, "name": user.name, "email": user.email}


def audit(at: datetime, user: UserRef | None, action: str, detail: str = "") -> AuditEntry:
    """One audit-trail entry: who did what, when. `detail` never carries child identifiers."""
    return {"at": at.isoformat(), "by": user.key if user else "bot", "action": action, "detail": detail}


def split_answers(policy: Policy, answers: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(details, child): the answers safe to keep with the case, and the sensitive child details."""
    details: dict[str, Any] = {}
    child: dict[str, Any] = {}
    sensitive = {q.id for q in policy.questions if q.sensitive}
    for qid, value in answers.items():
        if value is not None:
            (child if qid in sensitive else details)[qid] = value
    return details, child


def stage_duties(policy: Policy, stage: Stage | None, on: str, details: Mapping[str, Any],
                 now: datetime) -> list[Duty]:
    """The notification duties that apply when a case enters (or is resolved at) a stage, or when the immediate-harm
    route is given (`on = "harm"`; `stage` None on a record that has no stages), each due on its own clock."""
    status = details.get("child_status", "")
    number = stage.number if stage is not None else None
    duties: list[Duty] = []
    for n in policy.notifications:
        if n.on != on or not n.applies_at(number):
            continue
        if n.when_child_status and status not in n.when_child_status:
            continue
        duty: Duty = {"id": f"{n.id}@{now.isoformat(timespec='seconds') if on == 'harm' else number}", "duty": n.id,
                      "notify": n.notify, "form": n.form, "responsible_tier": n.responsible_tier, "text": n.text,
                      "cite": n.cite, "due": duty_due(policy, n, now), "status": "open"}
        if number is not None:
            duty["stage"] = number
        duties.append(duty)
    return duties


def new_case(ref: str, policy: Policy, answers: Mapping[str, Any], raised_by: UserRef, home: ThreadRef,
             now: datetime, opened_in: ThreadRef | None = None) -> Case:
    """A freshly opened case at the procedure's first stage, with its clock started per the policy. `home` is where
    its thread will be; its root message is not posted yet."""
    today = london_today(now)
    details, child = split_answers(policy, answers)
    arose_on = date.fromisoformat(details.get("arose_on") or today.isoformat())
    stage = policy.first_stage
    due = stage_due(policy, stage, stage_clock_start(stage, arose_on, today))
    cap = overall_due(policy, arose_on)
    return {
        "schema": SCHEMA, "ref": ref, "policy": policy.id, "policy_version": policy.version, "status": "open",
        "raised_by": user_dict(raised_by), "raised_at": now.isoformat(), "thread": home.to_dict(),
        "root_posted": False, "opened_in": (opened_in or home).to_dict(), "arose_on": arose_on.isoformat(),
        "details": details, "child": child, "stage": stage.number, "stage_started_on": today.isoformat(),
        "stage_due": due.isoformat() if due else None, "overall_due": cap.isoformat() if cap else None,
        "stages": [{"stage": stage.number, "started_on": today.isoformat(), "due": due.isoformat() if due else None,
                    "ended_on": None, "outcome": None}],
        "duties": stage_duties(policy, stage, "enter", details, now),
        "events": [audit(now, raised_by, "opened", f"{policy.stage_title(stage.number)}; due {due or 'none'}")],
    }


def emergency_record(ref: str, policy: Policy, raised_by: UserRef, thread: ThreadRef, now: datetime) -> Case:
    """The record that the immediate-harm route was given (no escalation case is opened)."""
    return {
        "schema": SCHEMA, "ref": ref, "policy": policy.id, "policy_version": policy.version,
        "status": "immediate_harm", "raised_by": user_dict(raised_by), "raised_at": now.isoformat(),
        "thread": thread.to_dict(), "details": {"immediate_risk": True}, "child": {}, "stage": None, "stages": [],
        "duties": stage_duties(policy, None, "harm", {}, now),
        "events": [audit(now, raised_by, "immediate_harm_route_given", policy.immediate_harm.cite)],
    }
