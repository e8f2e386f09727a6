"""Who is who on a case's written record, and how its dates read: shared by forms, chronology and the record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.dates.workdays import LONDON
from bot.people.directory import Directory, Person

Case = Mapping[str, Any]
EARLIEST = datetime(1, 1, 1, tzinfo=LONDON)


@dataclass(frozen=True)
class Worker:
    """One person involved in a case, as a form lists them."""

    name: str
    designation: str
    agency: str
    contact: str


def day(value: str | date | None) -> str:
    """'3 February 2015' from an ISO date (or date-time); '' for nothing, the text itself if it is not a date."""
    if not value:
        return ""
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    try:
        parsed = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return f"{parsed.day} {parsed:%B %Y}"


def moment(value: str) -> str:
    """'23 Nov 2026 10:00' in London time, from a stored ISO date-time."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value
    at = at.astimezone(LONDON) if at.tzinfo else at
    return f"{at.day} {at:%b %Y %H:%M}"


def instant(value: str) -> datetime:
    """A stored ISO date-time as an aware datetime (naive: London time; unreadable: the earliest), for sorting."""
    try:
        at = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return EARLIEST
    return at if at.tzinfo else at.replace(tzinfo=LONDON)


def person_for(case: Case, by: str, directory: Directory | None) -> Person | None:
    """The directory entry behind an audit entry's `by` ("channel:id"), if the directory knows them."""
    channel, _, user_id = by.partition(":")
    if directory is None or not user_id:
        return None
    found = directory.by_chat_id(channel, user_id)
    raised = case.get("raised_by") or {}
    if found is None and by == raiser_key(case) and raised.get("email"):
        found = directory.find(raised["email"])
    return found


def is_system(by: str) -> bool:
    """True for entries made by the bot itself or by an operator on the command line."""
    return by in ("bot", "cli") or by.startswith("cli:")


def raiser_key(case: Case) -> str:
    raised = case.get("raised_by") or {}
    return f"{raised.get('channel', '')}:{raised.get('id', '')}"


def who(case: Case, by: str, directory: Directory | None) -> str:
    """A readable name for `by`: the directory's label, the raiser as they gave themselves, else the raw id."""
    if by == "bot":
        return "The bot"
    if by == "cli" or by.startswith("cli:"):
        return f"Operator ({by})"
    person = person_for(case, by, directory)
    if person is not None:
        return person.label
    if by == raiser_key(case):
        return raiser(case, directory).name
    return by


def raiser(case: Case, directory: Directory | None) -> Worker:
    """Whoever raised the case: from the directory, else as they described themselves in the dialog."""
    raised = case.get("raised_by") or {}
    details = case.get("details") or {}
    person = person_for(case, raiser_key(case), directory)
    if person is not None:
        return Worker(person.name, person.role, person.agency, person.email)
    name = raised.get("name") or raised.get("email") or raised.get("id") or "not recorded"
    return Worker(name, details.get("raiser_role", ""), details.get("raiser_agency", ""), raised.get("email", ""))


def line_manager(case: Case, directory: Directory | None) -> str:
    """The raiser's line manager, from the directory or as the raiser gave it."""
    person = person_for(case, raiser_key(case), directory)
    if person is not None and directory is not None and person.line_manager:
        manager = directory.find(person.line_manager)
        if manager is not None:
            return f"{manager.name}, {manager.role}" if manager.role else manager.name
    return str((case.get("details") or {}).get("raiser_manager", ""))


def other_professional(case: Case, directory: Directory | None) -> Worker | None:
    """The professional the disagreement is with, filled out from the directory when it knows them by name."""
    details = case.get("details") or {}
    name = str(details.get("other_professional") or "").strip()
    agency = str(details.get("other_agency") or "").strip()
    if not name and not agency:
        return None
    found = None
    if directory is not None and name:
        wanted = name.lower()
        found = next((p for p in directory.people if wanted in (p.name.lower(), p.email)), None)
    if found is not None:
        return Worker(found.name, details.get("other_role") or found.role, found.agency, found.email)
    return Worker(name or "not named", str(details.get("other_role") or ""), agency, "")


def workers(case: Case, directory: Directory | None) -> list[Worker]:
    """Everyone involved: the raiser, the other professional, each other person who acted, and each contact the
    other agency gave (once, with the stages it was given at)."""
    out = [raiser(case, directory)]
    other = other_professional(case, directory)
    if other is not None:
        out.append(other)
    seen = {raiser_key(case)}
    for event in case.get("events", []):
        by = event.get("by", "")
        if by in seen or is_system(by):
            continue
        seen.add(by)
        person = person_for(case, by, directory)
        worker = Worker(person.name, person.role, person.agency, person.email) if person else Worker(by, "", "", "")
        if all(w.name != worker.name for w in out):
            out.append(worker)
    agency = str((case.get("details") or {}).get("other_agency", ""))
    given: dict[str, list[int]] = {}
    for number, contact in stage_contacts(case):
        given.setdefault(contact, []).append(number)
    for contact, numbers in given.items():
        listed = ", ".join(map(str, numbers[:-1]))
        stages = f"stages {listed} and {numbers[-1]}" if listed else f"stage {numbers[0]}"
        out.append(Worker(contact, f"contact given by the other agency at {stages}", agency, "as given"))
    return out


def stage_contacts(case: Case) -> list[tuple[int, str]]:
    """(stage, contact) for each stage at which the other agency's contact was recorded, in stage order.

    A stage's `actors` move onto its entry in `stages` when the case escalates (bot/workflow.py); the current stage's
    are still the case's `actors`.
    """
    stages = case.get("stages") or []
    out: list[tuple[int, str]] = []
    for index, entry in enumerate(stages):
        actors = entry.get("actors")
        if actors is None and index == len(stages) - 1 and entry.get("stage") == case.get("stage"):
            actors = case.get("actors")
        contact = str((actors or {}).get("other_recorded") or "").strip()
        if contact:
            out.append((entry["stage"], contact))
    return out


def stage_events(case: Case) -> dict[int, list[Mapping[str, str]]]:
    """The audit entries made while each stage was current (an escalation belongs to the stage it left)."""
    stages = case.get("stages") or []
    numbers = [s["stage"] for s in stages]
    out: dict[int, list[Mapping[str, str]]] = {n: [] for n in numbers}
    index = 0
    for event in case.get("events", []):
        if not numbers:
            break
        out[numbers[min(index, len(numbers) - 1)]].append(event)
        if event.get("action") == "escalated":
            index += 1
    return out


def stage_people(case: Case, number: int, directory: Directory | None) -> list[str]:
    """Names of the people who acted while stage `number` was current (the raiser at the first stage)."""
    events = stage_events(case).get(number, [])
    names: list[str] = []
    for event in events:
        by = event.get("by", "")
        if is_system(by):
            continue
        person = person_for(case, by, directory)
        name = person.name if person else (raiser(case, directory).name if by == raiser_key(case) else by)
        if name not in names:
            names.append(name)
    return names
