"""A case's chronology (date, who, what) in plain words from its audit trail, and as a Markdown document (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cases.messages import edition
from bot.people.directory import Directory
from bot.records.clean import clean
from bot.records.people import day, instant, moment, raiser, who
from dialogs.answers import show_answer
from policies.model import Policy

Case = Mapping[str, Any]
DUE = re.compile(r"due (\d{4}-\d{2}-\d{2}|none)$")
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
NUDGES = {
    "before": "{stage} is due in one working day",
    "due": "{stage} is due today",
    "overdue": "{stage} is overdue",
    "lead": "{stage} is seriously overdue; the safeguarding lead(s) told",
    "overall": "one working day left of the overall timescale",
    "review": "review progress at {stage} (no set timescale)",
    "duty": "a notification duty falls due",
}


@dataclass(frozen=True)
class Row:
    """One line of a chronology."""

    date: str
    who: str
    what: str


def _due(detail: str) -> str:
    """'...; due 2026-11-30' -> '...; due by 30 November 2026'."""
    return DUE.sub(lambda m: "no set timescale" if m[1] == "none" else f"due by {day(m[1])}", detail)


def _days(detail: str) -> str:
    """ISO dates in a detail, as people write them."""
    return ISO_DAY.sub(lambda m: day(m[0]), detail)


def describe(case: Case, event: Mapping[str, str], nth: Mapping[str, int]) -> str:
    """Plain words for one audit entry; `nth` is how many entries of its action came before it."""
    action, detail = event.get("action", ""), event.get("detail", "")
    stages = case.get("stages") or []
    if action == "opened":
        return f"Opened the case at {_due(detail)}."
    if action == "escalated":
        left = [s for s in stages if s.get("outcome") == "escalated"]
        reason = left[nth[action]].get("reason") if nth[action] < len(left) else ""
        return f"Escalated {_due(detail)}." + (f" Reason: {reason}" if reason else "")
    if action == "resolved":
        outcome = case.get("outcome") or {}
        text = f"Resolved {detail}." if detail else "Resolved."
        if outcome.get("text"):
            text += f" Outcome: {outcome['text']}"
        if outcome.get("follow_up"):
            text += f" Follow-up: {outcome['follow_up']}"
        return text
    if action == "extended":
        extensions = case.get("extensions") or []
        ext = extensions[nth[action]] if nth[action] < len(extensions) else {}
        text = f"Extended the timescale of {_days(detail).replace(' from ', ': due date changed from ', 1)}."
        if ext:
            text += (f" Agreed by {ext.get('agreed_here')} and {ext.get('agreed_other')}. "
                     f"Reason: {ext.get('reason', '')}")
        return text
    if action == "immediate_harm_route_given":
        return f"The immediate-harm route was given ({detail})."
    if action == "duty_done":
        duty = next((d for d in case.get("duties") or [] if d.get("id") == detail), None)
        return f"Recorded as done: notify {duty['notify']}." if duty else f"Recorded a duty as done ({detail})."
    if action == "contact_recorded":
        return f"Recorded the contact the other agency gave ({detail})."
    if action == "hold":
        return "Placed on legal hold: kept past its retention period until released."
    if action == "released":
        return f"Released from legal hold ({_days(detail.removeprefix('legal hold released ').strip('()'))})."
    if action == "nudge_sent":
        number, _, rest = detail.partition(":")
        kind = rest.partition(":")[0]
        stage = f"Stage {number}" if number.isdigit() else "the stage"
        return "Reminder sent: " + NUDGES.get(kind, "{stage}").format(stage=stage) + "."
    words = action.replace("_", " ").strip().capitalize() or "Recorded"
    return f"{words}: {_days(detail)}." if detail else f"{words}."


def chronology(case: Case, directory: Directory | None = None) -> list[Row]:
    """Every audit entry on the case, oldest first, in plain words."""
    counts: dict[str, int] = {}
    rows: list[tuple[datetime, int, Row]] = []
    for index, event in enumerate(case.get("events") or []):
        action = event.get("action", "")
        nth = {action: counts.get(action, 0)}
        counts[action] = nth[action] + 1
        at = event.get("at", "")
        row = Row(moment(at), who(case, event.get("by", ""), directory), describe(case, event, nth))
        rows.append((instant(at), index, row))
    return [row for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]


def summary(case: Case, policy: Policy, directory: Directory | None = None) -> list[tuple[str, str]]:
    """The case at a glance, including the child's details (this is the written record, not chat)."""
    details, child = case.get("details") or {}, case.get("child") or {}
    status = {"open": "Open", "resolved": "Resolved", "immediate_harm": "Immediate-harm route given"}
    stage = case.get("stage")
    category = policy.question("category")
    raised = raiser(case, directory)
    pairs = [
        ("Case reference", str(case.get("ref", ""))),
        ("Procedure", f"{policy.name} ({policy.short_name}), {edition(case.get('policy_version') or policy.version)}"),
        ("Status", status.get(str(case.get("status")), str(case.get("status", "")))),
        ("Current stage", policy.stage_title(stage) if stage is not None else ""),
        ("Raised by", ", ".join(p for p in (raised.name, raised.designation, raised.agency) if p)),
        ("Raised on", moment(str(case.get("raised_at", "")))),
        ("Disagreement arose on", day(case.get("arose_on"))),
        ("Other agency", str(details.get("other_agency") or "")),
        ("Kind of disagreement", show_answer(category, details["category"]) if category and details.get("category")
         else ""),
        ("Child's name", str(child.get("child_name") or "")),
        ("Child's date of birth", day(child.get("child_dob"))),
        ("Child's address", str(child.get("child_address") or "")),
        ("Raising agency's reference", str(details.get("agency_reference") or "")),
        ("Closed on", moment(str(case["closed_at"])) if case.get("closed_at") else ""),
    ]
    return [(label, value) for label, value in pairs if value]


MD_ESCAPED = re.compile(r"([\\`\[\]()!|])")


def md_cell(text: str) -> str:
    """Text safe in a Markdown table cell, cleaned as every record's text is (bot/records/clean.py): backslashes,
    pipes, backticks and link and image syntax ([ ] ( ) !) backslash-escaped, & < > as HTML entities, so nothing
    typed becomes a tag, a live link or a remote image; line breaks kept as <br>."""
    escaped = MD_ESCAPED.sub(r"\\\1", clean(text)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<br>".join(line.strip() for line in escaped.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def chronology_markdown(case: Case, policy: Policy, directory: Directory | None = None) -> str:
    """The chronology as a Markdown document: heading, case summary (with the child's details), then the table."""
    lines = [
        f"# Chronology of {md_cell(str(case.get('ref', '')))}",
        "",
        "OFFICIAL-SENSITIVE: contains special category personal data about a child. Keep it on the child's record; "
        "never post it in a chat channel.",
        "",
        "| | |",
        "|---|---|",
        *(f"| {md_cell(label)} | {md_cell(value)} |" for label, value in summary(case, policy, directory)),
        "",
        "| Date | Who | What |",
        "|---|---|---|",
        *(f"| {md_cell(r.date)} | {md_cell(r.who)} | {md_cell(r.what)} |" for r in chronology(case, directory)),
        "",
    ]
    return "\n".join(lines)
