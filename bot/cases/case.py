"""Case records: building a new case from Stage 1 answers (pure), its duties and audit entries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bot.dates.timeline import overall_due, stage_clock_start, stage_due
from bot.dates.workdays import calendar_for, london_today
from bot.types import ThreadRef, UserRef
from policies.model import Policy, Stage

SCHEMA = 1
REF_PREFIX = "ESC"


def make_ref(year: int, number: int) -> str:
    """A human-readable case reference, e.g. ESC-2026-0001."""
    return f"{REF_PREFIX}-{year}-{number:04d}"


def user_dict(user: UserRef) -> dict[str, str]:
    return {"channel": user.channel, "id": user.id, "name": user.name, "email": user.email}


def audit(at: datetime, user: UserRef | None, action: str, detail: str = "") -> dict[str, str]:
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


def stage_duties(policy: Policy, stage: Stage, on: str, details: Mapping[str, Any], start: date) -> list[dict]:
    """The notification duties that apply when a case enters (or is resolved at) a stage."""
    status = details.get("child_status", "")
    calendar = calendar_for(policy.region)
    duties = []
    for n in policy.notifications:
        if stage.number not in n.stages or n.on != on:
            continue
        if n.when_child_status and status not in n.when_child_status:
            continue
        due = None
        if n.within_working_days is not None:
            due = calendar.add_working_days(start, n.within_working_days).isoformat()
        duties.append(
            {
                "id": f"{n.id}@{stage.number}",
                "duty": n.id,
                "stage": stage.number,
                "notify": n.notify,
                "form": n.form,
                "responsible_tier": n.responsible_tier,
                "text": n.text,
                "cite": n.cite,
                "due": due,
                "status": "open",
            }
        )
    return duties


def new_case(
    ref: str,
    policy: Policy,
    answers: Mapping[str, Any],
    raised_by: UserRef,
    thread: ThreadRef,
    now: datetime,
) -> dict[str, Any]:
    """A freshly opened case at the procedure's first stage, with its clock started per the policy."""
    today = london_today(now)
    details, child = split_answers(policy, answers)
    arose_on = date.fromisoformat(details.get("arose_on") or today.isoformat())
    stage = policy.first_stage
    due = stage_due(policy, stage, stage_clock_start(stage, arose_on, today))
    cap = overall_due(policy, arose_on)
    return {
        "schema": SCHEMA,
        "ref": ref,
        "policy": policy.id,
        "policy_version": policy.version,
        "status": "open",
        "raised_by": user_dict(raised_by),
        "raised_at": now.isoformat(),
        "thread": thread.to_dict(),
        "arose_on": arose_on.isoformat(),
        "details": details,
        "child": child,
        "stage": stage.number,
        "stage_started_on": today.isoformat(),
        "stage_due": due.isoformat() if due else None,
        "overall_due": cap.isoformat() if cap else None,
        "stages": [
            {
                "stage": stage.number,
                "started_on": today.isoformat(),
                "due": due.isoformat() if due else None,
                "ended_on": None,
                "outcome": None,
            }
        ],
        "duties": stage_duties(policy, stage, "enter", details, today),
        "events": [audit(now, raised_by, "opened", f"{policy.stage_title(stage.number)}; due {due or 'none'}")],
    }


def emergency_record(ref: str, policy: Policy, raised_by: UserRef, thread: ThreadRef, now: datetime) -> dict:
    """The record that the immediate-harm route was given (no escalation case is opened)."""
    return {
        "schema": SCHEMA,
        "ref": ref,
        "policy": policy.id,
        "policy_version": policy.version,
        "status": "immediate_harm",
        "raised_by": user_dict(raised_by),
        "raised_at": now.isoformat(),
        "thread": thread.to_dict(),
        "details": {"immediate_risk": True},
        "child": {},
        "stage": None,
        "stages": [],
        "duties": [],
        "events": [audit(now, raised_by, "immediate_harm_route_given", policy.immediate_harm.cite)],
    }
