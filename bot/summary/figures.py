"""The weekly summary for safeguarding leads: figures for one ISO week, computed from case records (pure).

Numbers and case references only: never a child's name or date of birth, never free text from a case.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from bot.dates.workdays import calendar_of
from policies.model import Policy

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
HISTORY_WEEKS = 8


def parse_week(text: str) -> date:
    """The Monday of an ISO week written YYYY-Www (e.g. 2026-W48); ValueError if there is no such week."""
    match = WEEK.match(text.strip())
    if not match:
        raise ValueError(f"a week is written YYYY-Www, e.g. 2026-W48 (found {text!r})")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValueError(f"there is no week {text.strip()}") from None


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def last_full_week(today: date) -> date:
    """The Monday of the last working week that has ended (this week's, from Saturday on)."""
    monday = today - timedelta(days=today.weekday())
    return monday if today.weekday() >= 5 else monday - timedelta(days=7)


def summary_window(monday: date) -> date:
    """The first day a summary of the week from `monday` looks at (its history goes back HISTORY_WEEKS weeks): a
    case closed before it counts only while it still owes a duty."""
    return monday - timedelta(weeks=HISTORY_WEEKS)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _within(value: str | None, start: date, end: date) -> bool:
    day = _day(value)
    return day is not None and start <= day <= end


def _stage_at(case: Mapping[str, Any], day: date) -> Mapping[str, Any] | None:
    current = None
    for entry in case.get("stages", []):
        if _day(entry["started_on"]) and _day(entry["started_on"]) <= day:  # type: ignore[operator]
            current = entry
    return current


def _open_at(case: Mapping[str, Any], day: date) -> bool:
    if case["status"] == "immediate_harm" or (_day(case["raised_at"]) or day) > day:
        return False
    closed = _day(case.get("closed_at"))
    return closed is None or closed > day


def figures(cases: Iterable[Mapping[str, Any]], policies: Mapping[str, Policy], monday: date,
            policy_id: str | None = None) -> dict[str, Any]:
    """Every figure of the summary for the week starting `monday` (for one partnership, or all)."""
    sunday = monday + timedelta(days=6)
    chosen = [c for c in cases if (policy_id is None or c["policy"] == policy_id) and c["policy"] in policies]
    escalations = [c for c in chosen if c["status"] != "immediate_harm"]
    new = [c for c in escalations if _within(c["raised_at"], monday, sunday)]
    open_now = [c for c in escalations if _open_at(c, sunday)]
    by_stage: Counter[str] = Counter()
    by_procedure_stage: Counter[tuple[str, int]] = Counter()
    overdue: list[str] = []
    for case in open_now:
        entry = _stage_at(case, sunday)
        if entry is None:
            continue
        by_stage[str(entry["stage"])] += 1
        by_procedure_stage[(case["policy"], int(entry["stage"]))] += 1
        if entry.get("due") and _day(entry["due"]) < sunday:  # type: ignore[operator]
            overdue.append(case["ref"])
    resolved = [c for c in escalations if c.get("outcome") and _within(c["outcome"]["at"], monday, sunday)]
    durations: dict[str, list[int]] = {}
    for case in escalations:
        calendar = calendar_of(policies[case["policy"]])
        for entry in case.get("stages", []):
            if entry.get("ended_on") and _within(entry["ended_on"], monday, sunday):
                days = calendar.working_days_between(_day(entry["started_on"]), _day(entry["ended_on"]))  # type: ignore[arg-type]
                durations.setdefault(str(entry["stage"]), []).append(days)
    # Duties left undone when a case is resolved stay on the leads' summary until someone marks them done, and so do
    # those owed once the immediate-harm route was given (BCSSP's action within 24 hours), on a record of its own too.
    duties_open = {c["ref"]: n for c in sorted(chosen, key=lambda c: c["ref"])
                   if (n := _duties_open_at(c, policies[c["policy"]], sunday))}
    harm = sum(1 for c in chosen for e in c["events"]
               if e["action"] == "immediate_harm_route_given" and _within(e["at"], monday, sunday))
    return {
        "week": week_label(monday),
        "from": monday.isoformat(),
        "to": sunday.isoformat(),
        "policy": policy_id or "all",
        "new_escalations": len(new),
        "open_at_end": len(open_now),
        "open_by_stage": dict(sorted(by_stage.items(), key=lambda kv: int(kv[0]))),
        "open_by_procedure_stage": _every_stage(policies, policy_id, by_procedure_stage),
        "resolved": len(resolved),
        "resolved_by_stage": _count(str(c["outcome"]["stage"]) for c in resolved),
        "overdue": len(overdue),
        "overdue_refs": sorted(overdue),
        "extensions": sum(1 for c in escalations for x in c.get("extensions", []) if _within(x["at"], monday, sunday)),
        "immediate_harm": harm,
        "median_working_days_by_stage": {k: float(statistics.median(v)) for k, v in sorted(durations.items(),
                                                                                           key=lambda kv: int(kv[0]))},
        "by_category": _count(_category(c, policies) for c in new),
        "by_agency_pair": _count(_pair(c) for c in new),
        "open_duties": sum(duties_open.values()),
        "open_duties_by_case": duties_open,
        "open_duties_resolved_refs": sorted(c["ref"] for c in escalations if c["ref"] in duties_open
                                            and c["ref"] not in {o["ref"] for o in open_now}),
        "open_duties_harm_refs": sorted(c["ref"] for c in chosen
                                        if c["ref"] in duties_open and c["status"] == "immediate_harm"),
        "history": [_week_counts(escalations, monday - timedelta(weeks=n)) for n in range(HISTORY_WEEKS - 1, -1, -1)],
    }


def _duties_open_at(case: Mapping[str, Any], policy: Policy, day: date) -> int:
    """How many of the case's notification duties were open at the end of `day`: added by then (on entering their
    stage, on resolution, or when the immediate-harm route was given) and not marked done by then, whether the case
    is open, resolved or an immediate-harm record."""
    if (_day(case.get("raised_at")) or day) > day:
        return 0
    started = {entry["stage"]: _day(entry.get("started_on")) for entry in case.get("stages", [])}
    on_resolve = {n.id for n in policy.notifications if n.on == "resolve"}
    on_harm = {n.id for n in policy.notifications if n.on == "harm"}
    count = 0
    for duty in case.get("duties", []):
        if duty.get("duty") in on_harm:  # (its id carries when the route was given: "<id>@<time>")
            added = _day(str(duty.get("id", "")).partition("@")[2]) or _day(case.get("raised_at"))
        elif duty.get("duty") in on_resolve:
            added = _day(case.get("closed_at"))
        else:
            added = started.get(duty.get("stage"))
        if added is not None and added > day:
            continue
        if duty.get("status") == "done":
            done = _day(duty.get("done_at"))
            if done is None or done <= day:
                continue
        elif duty.get("status") != "open":
            continue
        count += 1
    return count


def _every_stage(policies: Mapping[str, Policy], policy_id: str | None,
                 counts: Counter[tuple[str, int]]) -> list[dict[str, Any]]:
    """Open cases at every stage of each procedure in scope, in the procedure's order, a stage with none included
    (the chart shows the whole procedure, so an empty stage reads as empty rather than missing)."""
    chosen = [p for p in policies.values() if policy_id is None or p.id == policy_id]
    return [{"policy": p.id, "procedure": p.short_name, "stage": s.number, "title": p.stage_title(s.number),
             "open": counts[(p.id, s.number)]} for p in chosen for s in p.stages]


def _count(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def _category(case: Mapping[str, Any], policies: Mapping[str, Policy]) -> str:
    question = policies[case["policy"]].question("category")
    value = case["details"].get("category", "")
    option = question.option(value) if question else None
    return option.label if option else (value or "not given")


UNLISTED = "an agency not in the directory"


def _pair(case: Mapping[str, Any]) -> str:
    """Directory agency names only: an agency typed in free text could carry anything, a child's name included."""
    agencies = case.get("agencies") or {}
    return f"{agencies.get('raiser') or UNLISTED} -> {agencies.get('other') or UNLISTED}"


def _week_counts(cases: list[Mapping[str, Any]], monday: date) -> dict[str, Any]:
    sunday = monday + timedelta(days=6)
    return {
        "week": week_label(monday),
        "new": sum(1 for c in cases if _within(c["raised_at"], monday, sunday)),
        "resolved": sum(1 for c in cases if c.get("outcome") and _within(c["outcome"]["at"], monday, sunday)),
    }


def text(figs: Mapping[str, Any], policies: Mapping[str, Policy]) -> str:
    """The summary as a message that makes sense without the chart."""
    monday, sunday = date.fromisoformat(figs["from"]), date.fromisoformat(figs["to"])
    if figs["policy"] in policies:
        scope = policies[figs["policy"]].name
    elif len(policies) == 1:
        scope = next(iter(policies.values())).name
    else:
        scope = figs.get("scope") or "all partnerships"
    # (a procedure's own word for its stages: "Step" in Lincolnshire's, "Level" in another's; "Stage" across several)
    labels = {p.stage_label for p in policies.values() if figs["policy"] in ("all", p.id)}
    label = labels.pop() if len(labels) == 1 else "Stage"
    staged = lambda counts: ", ".join(f"{label} {k}: {v}" for k, v in counts.items()) or "none"  # noqa: E731
    listed = lambda counts: "; ".join(f"{k}: {v}" for k, v in counts.items()) or "none"  # noqa: E731
    medians = ", ".join(f"{label} {k}: {v:g}" for k, v in figs["median_working_days_by_stage"].items()) or "none"
    overdue = f" ({', '.join(figs['overdue_refs'])})" if figs["overdue_refs"] else ""
    return "\n".join([
        f"Weekly escalation summary, {figs['week']} ({monday:%a} {monday.day} {monday:%b} to {sunday:%a} "
        f"{sunday.day} {sunday:%b %Y}), {scope}",
        f"New escalations: {figs['new_escalations']}",
        f"Open at the end of the week: {figs['open_at_end']} ({staged(figs['open_by_stage'])})",
        f"Resolved: {figs['resolved']} ({staged(figs['resolved_by_stage'])})",
        f"Overdue stages: {figs['overdue']}{overdue}",
        f"Extensions agreed: {figs['extensions']}",
        f"Immediate-harm routes given: {figs['immediate_harm']}",
        f"Median working days per stage (stages completed this week): {medians}",
        f"New escalations by category: {listed(figs['by_category'])}",
        f"New escalations by agency pair (raised by -> with): {listed(figs['by_agency_pair'])}",
        f"Notification duties still open: {figs['open_duties']}{_duty_cases(figs)}",
    ])


def _duty_cases(figs: Mapping[str, Any]) -> str:
    """Which cases the open duties are on (references only), saying which are resolved (their duties are still owed)
    and which are immediate-harm records."""
    resolved = set(figs.get("open_duties_resolved_refs", []))
    harm = set(figs.get("open_duties_harm_refs", []))
    parts = [f"{ref}: {n}" + (", resolved" if ref in resolved else ", immediate harm" if ref in harm else "")
             for ref, n in figs.get("open_duties_by_case", {}).items()]
    return f" ({'; '.join(parts)})" if parts else ""
