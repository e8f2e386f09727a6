"""The people directory: who is who in each agency, and who must act at a stage on each side (pure lookups)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from policies.model import TIER_LABELS, Policy
from storage.base import Store

TIER_RANK: dict[str, int] = {
    "practitioner": 0,
    "line_manager": 1,
    "senior_manager": 2,
    "head_of_service": 3,
    "partnership": 4,
}
DIRECTORY_TIERS: tuple[str, ...] = tuple(TIER_RANK)
CONTACT_KINDS: tuple[str, ...] = ("safeguarding_lead", "iro", "business_unit", "board", "slo")
DOC_FORMAT = 1

# Who gives the next contact when the directory cannot name it, in each procedure's words where it has a rule.
# SSCP 6.3: "there is a duty to immediately provide relevant contact details for line management where this relates
# to the necessary next step in the escalation process". BCSSP Additional Requirements 4: "ask the practitioner, line
# manager or senior manager involved for who the next person would be ... All agencies MUST share this information".
# LSCB (Senior Liaison Officers): "if you are uncertain who in your line management structure you should approach,
# your SLO will advise". Medway and Gloucestershire state no such duty: GENERIC_DUTY is the product's own wording.
NEXT_CONTACT_DUTY: dict[str, str] = {
    "surrey": "every agency has a duty to give the next contact at once (SSCP 6.3)",
    "bcssp": "all agencies must share who the next person is and how to contact them (BCSSP Additional Requirements 4)",
    "lincolnshire": "if you are unsure who to approach, your Senior Liaison Officer (SLO) will advise",
}
GENERIC_DUTY = "the other agency should give you the next contact at once, so the escalation is not held up"
ASK_FOR = {
    "practitioner": "the name and contact details of the practitioner involved",
    "line_manager": "their line manager's name and contact details",
    "senior_manager": "the name and contact details of their senior manager or designated safeguarding lead",
    "head_of_service": "the name and contact details of their head or director of service",
}


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

    def safeguarding_leads(self, agency: str | None = None, policy_id: str | None = None) -> tuple[Person, ...]:
        return tuple(
            p
            for p in self._people
            if "safeguarding_lead" in p.contact_for
            and (agency is None or p.agency == agency)
            and (policy_id is None or self.serves(p, policy_id))
        )

    def contacts(self, kind: str, policy_id: str) -> tuple[Person, ...]:
        """Everyone who is a contact of this kind (business_unit, board, iro, ...) for this partnership."""
        return tuple(p for p in self._people if kind in p.contact_for and self.serves(p, policy_id))


@dataclass(frozen=True)
class Counterparts:
    """Who must act at a stage: the next person up on the raiser's side and the counterpart in the other agency."""

    raiser_side: Person | None
    other_side: Person | None
    other_agency: str | None
    raiser_notes: tuple[str, ...] = ()
    other_notes: tuple[str, ...] = ()

    @property
    def notes(self) -> tuple[str, ...]:
        """Plain sentences for the user: what the directory could not say, and how to find out."""
        return self.raiser_notes + self.other_notes


def liaison_role(policy: Policy, agency: str) -> str | None:
    """The agency's Senior Liaison Officer role from the policy's table: an exact match of the agency name, else
    the longest table agency that ends the name ('Northshire Children's Services' -> 'Children's Services')."""
    words = re.sub(r"[^a-z0-9 ]", "", agency.lower().replace("&", " and ")).split()
    ends = {"".join(words[i:]): len(words) - i for i in range(len(words))}
    found = [(ends[key], o.role) for o in policy.liaison_officers if (key := normalise_agency(o.agency)) in ends]
    return max(found)[1] if found else None


def _reaching(people: Iterable[Person], tier: str) -> Person | None:
    return next((p for p in people if TIER_RANK[p.tier] >= TIER_RANK[tier]), None)


def _duty(policy: Policy, raiser_agency: str) -> str:
    duty = NEXT_CONTACT_DUTY.get(policy.id, GENERIC_DUTY)
    role = liaison_role(policy, raiser_agency) if raiser_agency else None
    return f"{duty} (in {raiser_agency} the SLO is the {role})" if role else duty


def named_professional(directory: Directory, policy: Policy, agency: str, professional: str) -> Person | None:
    """The other professional the raiser named (by name or email), if they are in the directory in that agency."""
    wanted = professional.strip().lower()
    people = directory.in_agency(agency, policy.id) if wanted else ()
    return next((p for p in people if wanted in (p.name.lower(), p.email)), None)


def _in_agency(directory: Directory, policy: Policy, agency: str, tier: str, professional: str) -> Person | None:
    people = directory.in_agency(agency, policy.id)
    if policy.liaison_officers and tier == "senior_manager":
        # LSCB Step 3: "Each LSCB agency has a senior liaison officer who can be contacted to assist".
        liaison = [p for p in people if "slo" in p.contact_for]
        if liaison:
            return liaison[0]
    named = named_professional(directory, policy, agency, professional)
    if named is not None and (found := _reaching(directory.chain(named), tier)) is not None:
        return found
    ranked = sorted(
        (p for p in people if TIER_RANK[p.tier] >= TIER_RANK[tier]),
        key=lambda p: TIER_RANK[p.tier] - TIER_RANK[tier],
    )
    return ranked[0] if ranked else None


def _raiser_side(
    directory: Directory, policy: Policy, tier: str, raiser: Person | None, agency: str
) -> tuple[Person | None, tuple[str, ...]]:
    if tier not in TIER_RANK:
        return None, ()
    if raiser is not None and (found := _reaching(directory.chain(raiser), tier)) is not None:
        return found, ()
    where = agency or "your agency"
    if raiser is None:
        note = f"You are not in the directory, so it cannot name your {TIER_LABELS[tier]}: ask within {where}"
    else:
        note = f"Nobody above you at the level of {TIER_LABELS[tier]} is in the directory for {where}: ask within it"
    slo = "; if you are unsure who to approach, your Senior Liaison Officer (SLO) will advise"
    return None, (f"{note}{slo if policy.liaison_officers else ''}.",)


def _other_side(
    directory: Directory, policy: Policy, tier: str, agency_text: str, professional: str, raiser_agency: str
) -> tuple[Person | None, str | None, tuple[str, ...]]:
    if tier == "partnership":
        found = directory.contacts("business_unit", policy.id) + directory.contacts("board", policy.id)
        if found:
            return found[0], found[0].agency, ()
        note = f"No {policy.short_name} partnership contact (business unit or board) is in the directory: ask your "
        return None, None, (note + "designated safeguarding lead for the partnership's contact details.",)
    agency = directory.match_agency(agency_text)
    person = _in_agency(directory, policy, agency, tier, professional) if agency and tier in TIER_RANK else None
    if person is not None:
        above = f"Nobody at the level of {TIER_LABELS[tier]} in {agency} is in the directory; the nearest more senior "
        return person, agency, (above + f"contact is {person.label}.",) if person.tier != tier else ()
    if tier not in TIER_RANK:
        return None, agency, ()
    who = f"{agency}'s {TIER_LABELS[tier]}" if agency else agency_text.strip() or "the other agency"
    notes = [
        f"{who[:1].upper()}{who[1:]} is not in the directory. Ask the professional you are dealing with for "
        f"{ASK_FOR[tier]}: {_duty(policy, raiser_agency)}."
    ]
    named = agency or agency_text.strip()
    if named and (role := liaison_role(policy, named)):
        notes.append(f"{named}'s Senior Liaison Officer is its {role} ({policy.short_name} Senior Liaison Officers).")
    return None, agency, tuple(notes)


def counterparts(
    directory: Directory,
    policy: Policy,
    stage_number: int,
    raiser: Person | None,
    raiser_agency: str,
    other_agency_text: str,
    other_professional: str = "",
) -> Counterparts:
    """Who must act at this stage on each side: the next person up the raiser's line, and the counterpart at a
    similar level of seniority in the other agency (SSCP 6.4); notes say what the directory could not."""
    stage = policy.stage(stage_number)
    if stage is None:
        raise ValueError(f"{policy.id} has no stage {stage_number}")
    raiser_agency = raiser.agency if raiser else raiser_agency.strip()
    raiser_side, raiser_notes = _raiser_side(directory, policy, stage.raiser_tier, raiser, raiser_agency)
    other_side, other_agency, other_notes = _other_side(
        directory, policy, stage.other_tier, other_agency_text, other_professional, raiser_agency
    )
    return Counterparts(raiser_side, other_side, other_agency, raiser_notes, other_notes)


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


async def load_directory(store: Store) -> Directory | None:
    """The imported directory, or None when none has been imported."""
    doc = await store.get("directory", "current")
    return directory_from_doc(doc) if doc is not None else None


async def save_directory(store: Store, directory: Directory) -> None:
    """Replace the directory in one atomic write (cases keep their own copies of names, so none is lost)."""
    await store.put("directory", "current", directory_to_doc(directory))
