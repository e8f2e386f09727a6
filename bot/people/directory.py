"""The people directory: who is who in each agency (pure lookups), and how it is stored."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from policies.model import CONTACT_KINDS as POLICY_CONTACT_KINDS
from storage.base import Store
from storage.collections import DIRECTORY

TIER_RANK: dict[str, int] = {
    "practitioner": 0,
    "line_manager": 1,
    "senior_manager": 2,
    "head_of_service": 3,
    "partnership": 4,
}
DIRECTORY_TIERS: tuple[str, ...] = tuple(TIER_RANK)
CONTACT_KINDS = POLICY_CONTACT_KINDS  # (kept here too: the directory's `contact_for` values)
DOC_FORMAT = 1

@dataclass(frozen=True)
class Person:
    """One person (or shared contact such as a business unit) in the directory; emails are lower-case."""

    email: str
    name: str
    agency: str
    role: str
    tier: str
    line_manager: str = ""
    slack_id: str = ""
    teams_id: str = ""
    contact_for: tuple[str, ...] = ()
    partnerships: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """E.g. 'Sam Patel (Detective Inspector, Northshire Police)'."""
        return f"{self.name} ({', '.join(p for p in (self.role, self.agency) if p)})"


def normalise_agency(text: str) -> str:
    """Agency names compared without case, spaces, punctuation or a leading 'the' ('&' counts as 'and')."""
    words = re.sub(r"[^a-z0-9 ]", "", text.lower().replace("&", " and ")).split()
    if words and words[0] == "the":
        words = words[1:]
    return "".join(words)


class Directory:
    """An immutable directory built from a list of people (in file order)."""

    def __init__(self, people: Iterable[Person]) -> None:
        self._people = tuple(people)
        self._by_email: dict[str, Person] = {}
        self._by_chat: dict[tuple[str, str], Person] = {}
        for person in self._people:
            keys = [("console", person.email)]
            keys += [(channel, uid) for channel, uid in (("slack", person.slack_id), ("teams", person.teams_id)) if uid]
            for key in keys:
                if key in self._by_chat:
                    raise ValueError(f"{key[0]} id {key[1]!r} is given to two people")
                self._by_chat[key] = person
            self._by_email[person.email] = person

    @property
    def people(self) -> tuple[Person, ...]:
        return self._people

    def __len__(self) -> int:
        return len(self._people)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Directory) and self._people == other._people

    def __hash__(self) -> int:
        return hash(self._people)

    def find(self, email: str) -> Person | None:
        return self._by_email.get(email.strip().lower())

    def by_chat_id(self, channel: str, user_id: str) -> Person | None:
        """The person with this chat identity: channel 'slack' (user id), 'teams' (user id) or 'console' (email)."""
        key = user_id.strip().lower() if channel == "console" else user_id.strip()
        return self._by_chat.get((channel, key))

    def chain(self, person: Person) -> tuple[Person, ...]:
        """The person, their line manager, that manager's manager, ... up to someone with no manager."""
        chain = [person]
        manager = self.find(person.line_manager) if person.line_manager else None
        while manager is not None and manager not in chain:
            chain.append(manager)
            manager = self.find(manager.line_manager) if manager.line_manager else None
        return tuple(chain)

    def agencies(self) -> tuple[str, ...]:
        return tuple(sorted({p.agency for p in self._people}))

    def match_agency(self, text: str) -> str | None:
        """The agency the text names: an exact match (ignoring case, spaces, punctuation, a leading 'the'), else the
        only agency it is the start of."""
        wanted = normalise_agency(text)
        if not wanted:
            return None
        names = {normalise_agency(a): a for a in self.agencies()}
        if wanted in names:
            return names[wanted]
        starts = [a for n, a in names.items() if n.startswith(wanted)]
        return starts[0] if len(starts) == 1 else None

    def serves(self, person: Person, policy_id: str) -> bool:
        return not person.partnerships or policy_id in person.partnerships

    def in_agency(self, agency: str, policy_id: str) -> tuple[Person, ...]:
        return tuple(p for p in self._people if p.agency == agency and self.serves(p, policy_id))

    def contacts(self, kind: str, policy_id: str) -> tuple[Person, ...]:
        """Everyone who is a contact of this kind (business_unit, board, iro, ...) for this partnership."""
        return tuple(p for p in self._people if kind in p.contact_for and self.serves(p, policy_id))


def directory_to_doc(directory: Directory) -> dict[str, Any]:
    return {"format": DOC_FORMAT, "people": [asdict(p) for p in directory.people]}


def directory_from_doc(doc: dict[str, Any]) -> Directory:
    if doc.get("format") != DOC_FORMAT:
        raise ValueError(f"stored directory has format {doc.get('format')!r}; this version reads {DOC_FORMAT}")
    people = []
    for row in doc["people"]:
        row = dict(row, contact_for=tuple(row.get("contact_for", ())), partnerships=tuple(row.get("partnerships", ())))
        people.append(Person(**row))
    return Directory(people)


VERSION = "version"  # the DIRECTORY record saying which import is current (a small read, every scheduler pass)


class People:
    """The directory in use now: replaced whole when another is imported (cases keep their own copies of names)."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory


async def load_directory(store: Store) -> Directory | None:
    """The imported directory, or None when none has been imported."""
    doc = await store.get(DIRECTORY, "current")
    return directory_from_doc(doc) if doc is not None else None


async def save_directory(store: Store, directory: Directory) -> None:
    """Replace the directory in one atomic write (cases keep their own copies of names, so none is lost), then
    mark it new: every running process (each replica) sees the mark at its next scheduler pass and loads it."""
    await store.put(DIRECTORY, "current", directory_to_doc(directory))
    await store.put(DIRECTORY, VERSION, {"stamp": uuid.uuid4().hex})


async def directory_stamp(store: Store) -> str:
    """The mark of the directory imported last ("" if none has been, or it was imported before marks were made)."""
    doc = await store.get(DIRECTORY, VERSION)
    return str(doc.get("stamp", "")) if doc else ""
