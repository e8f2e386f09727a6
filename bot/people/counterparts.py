"""Who must act at a stage on each side: the next person up the raiser's line, and the counterpart at a similar level
of seniority in the other agency (pure lookups in the directory), with what to do where it cannot say."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.people.directory import TIER_RANK, Directory, Person, normalise_agency
from policies.model import TIER_LABELS, Policy, Stage

ASK_FOR = {
    "practitioner": "the name and contact details of the practitioner involved",
    "line_manager": "their line manager's name and contact details",
    "senior_manager": "the name and contact details of their senior manager or designated safeguarding lead",
    "head_of_service": "the name and contact details of their head or director of service",
}


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
    """The agency's liaison officer role (Lincolnshire's Senior Liaison Officer) from the policy's table: an exact
    match of the agency name, else the longest table agency that ends the name ('Northshire Children's Services' ->
    'Children's Services')."""
    words = re.sub(r"[^a-z0-9 ]", "", agency.lower().replace("&", " and ")).split()
    ends = {"".join(words[i:]): len(words) - i for i in range(len(words))}
    found = [(ends[key], o.role) for o in policy.liaison_officers if (key := normalise_agency(o.agency)) in ends]
    return max(found)[1] if found else None


def _reaching(people: Iterable[Person], tier: str) -> Person | None:
    return next((p for p in people if TIER_RANK[p.tier] >= TIER_RANK[tier]), None)


def _duty(policy: Policy, raiser_agency: str, listed: bool) -> str:
    """The duty to give the next contact; with the raiser's liaison officer where the procedure has them
    (`listed`: the agency's name is the directory's, so it may be shown; typed text never is)."""
    given = policy.next_contact  # the procedure's words ([next_contact]), else the product's (GENERIC_NEXT_CONTACT)
    role = liaison_role(policy, raiser_agency) if raiser_agency else None
    where = ""
    if role and policy.liaison is not None:
        slo = policy.liaison.abbreviation
        where = f"in {raiser_agency} the {slo} is the {role}" if listed else f"your {slo} is your agency's {role}"
    said = "; ".join(part for part in (given.cite, where) if part)
    return f"{given.duty} ({said})" if said else given.duty


def named_professional(directory: Directory, policy: Policy, agency: str, professional: str) -> Person | None:
    """The other professional the raiser named (by name or email), if they are in the directory in that agency."""
    wanted = professional.strip().lower()
    people = directory.in_agency(agency, policy.id) if wanted else ()
    return next((p for p in people if wanted in (p.name.lower(), p.email)), None)


def listed_contact(directory: Directory, policy: Policy, agency: str, kind: str) -> Person | None:
    """The person the directory lists in the agency as this kind of contact (e.g. its Senior Liaison Officer)."""
    return next((p for p in directory.in_agency(agency, policy.id) if kind in p.contact_for), None)


def _in_agency(directory: Directory, policy: Policy, agency: str, tier: str,
               professional: str) -> tuple[Person | None, bool]:
    """Who acts in the other agency at this tier, and whether they are only the nearest more senior (nobody at the
    tier). The named professional's own line comes first: the professional themself when they are senior enough."""
    named = named_professional(directory, policy, agency, professional)
    if named is not None and (found := _reaching(directory.chain(named), tier)) is not None:
        return found, False
    ranked = sorted(
        (p for p in directory.in_agency(agency, policy.id) if TIER_RANK[p.tier] >= TIER_RANK[tier]),
        key=lambda p: TIER_RANK[p.tier] - TIER_RANK[tier],
    )
    return (ranked[0], ranked[0].tier != tier) if ranked else (None, False)


def _role_note(policy: Policy, kind: str, agency: str) -> str:
    """Which role the procedure's table gives as the agency's contact of this kind (LSCB's Senior Liaison Officers)."""
    role = liaison_role(policy, agency) if kind == "slo" and agency else None
    return f" (the {policy.short_name} table names its {role})" if role else ""


def _raiser_side(
    directory: Directory, policy: Policy, stage: Stage, raiser: Person | None, agency: str, typed: str,
    manager: Person | None, manager_given: bool,
) -> tuple[Person | None, tuple[str, ...]]:
    """Who acts on the raiser's side. `agency` is the directory's name for the raiser's agency, or empty; what was
    typed (`typed`) is never shown, it only finds the procedure's own table entry. `manager`: the line manager a
    raiser outside the directory named, if the directory has them; `manager_given`: whether they named one."""
    tier, kind = stage.raiser_tier, stage.raiser_contact
    if tier not in TIER_RANK:
        return None, ()
    if kind:  # the procedure names a role (LSCB Step 3: your agency's Senior Liaison Officer), not the tier
        found = listed_contact(directory, policy, agency, kind) if agency else None
        if found is not None:
            return found, ()
        whose = f"{agency}'s" if agency else "Your agency's"
        return None, (f"{whose} {policy.contact_label(kind)} is not in the directory{_role_note(policy, kind, typed)}: "
                      "ask within your agency.",)
    if raiser is None and tier == "practitioner":
        return None, ()  # the raiser acts themself
    chain = directory.chain(raiser) if raiser is not None else directory.chain(manager) if manager else ()
    if (found := _reaching(chain, tier)) is not None:
        return found, ()
    where = agency or "your agency"
    if raiser is None and tier == "line_manager" and manager_given:
        note = "Your line manager is the one you named when you raised the case (they are not in the directory)"
    elif raiser is None:
        note = f"You are not in the directory, so it cannot name your {TIER_LABELS[tier]}: ask within {where}"
    else:
        note = f"Nobody above you at the level of {TIER_LABELS[tier]} is in the directory for {where}: ask within it"
    own = policy.next_contact  # (the procedure's help on your own side, e.g. Lincolnshire's SLOs: [next_contact])
    return None, (f"{note}; {own.own_side} ({own.cite})." if own.own_side else f"{note}.",)


def _other_side(
    directory: Directory, policy: Policy, stage: Stage, agency_text: str, professional: str, raiser: tuple[str, bool]
) -> tuple[Person | None, str | None, tuple[str, ...]]:
    """The counterpart in the other agency. Only the directory's name of the agency is ever shown, never what was
    typed (`raiser`: the raiser's agency, and whether that is the directory's name)."""
    tier, kind = stage.other_tier, stage.other_contact
    if tier == "partnership":
        kinds = (kind,) if kind else ("business_unit", "board")
        found = [p for k in kinds for p in directory.contacts(k, policy.id)]
        if found:
            return found[0], found[0].agency, ()
        note = f"No {policy.short_name} partnership contact (business unit or board) is in the directory: ask your "
        return None, None, (note + "designated safeguarding lead for the partnership's contact details.",)
    agency = directory.match_agency(agency_text)
    if tier not in TIER_RANK:
        return None, agency, ()
    if kind:  # the procedure names a role in each agency (LSCB Step 3: its Senior Liaison Officer)
        person: Person | None = listed_contact(directory, policy, agency, kind) if agency else None
        if person is not None:
            return person, agency, ()
        label = policy.contact_label(kind)
        who = f"{agency}'s {label}" if agency else f"The other agency's {label}"
        note = (f"{who} is not in the directory{_role_note(policy, kind, agency or agency_text.strip())}. Ask the "
                f"professional you are dealing with for the name and contact details of their {label}: "
                f"{_duty(policy, *raiser)}.")
        return None, agency, (note,)
    person, above = _in_agency(directory, policy, agency, tier, professional) if agency else (None, False)
    if person is not None:
        nearest = f"Nobody at the level of {TIER_LABELS[tier]} in {agency} is in the directory; the nearest more "
        return person, agency, (nearest + f"senior contact is {person.label}.",) if above else ()
    who = f"{agency}'s {TIER_LABELS[tier]}" if agency else "the other agency"
    notes = [
        f"{who[:1].upper()}{who[1:]} is not in the directory. Ask the professional you are dealing with for "
        f"{ASK_FOR[tier]}: {_duty(policy, *raiser)}."
    ]
    if (role := liaison_role(policy, agency or agency_text.strip())) and policy.liaison is not None:
        whose = f"{agency}'s" if agency else "The other agency's"
        notes.append(f"{whose} {policy.liaison.title} is its {role} ({policy.liaison.cite}).")
    return None, agency, tuple(notes)


def counterparts(
    directory: Directory,
    policy: Policy,
    stage_number: int,
    raiser: Person | None,
    raiser_agency: str,
    other_agency_text: str,
    other_professional: str = "",
    raiser_manager: Person | None = None,
    manager_given: bool = False,
) -> Counterparts:
    """Who must act at this stage on each side: the next person up the raiser's line (or the contact the stage
    names, such as the agency's Senior Liaison Officer), and the counterpart at a similar level of seniority in the
    other agency (SSCP 6.4); notes say what the directory could not. A raiser outside the directory is placed by
    the agency they gave (matched to the directory's) and the line manager they named (`raiser_manager`)."""
    stage = policy.stage(stage_number)
    if stage is None:
        raise ValueError(f"{policy.id} has no stage {stage_number}")
    listed = raiser.agency if raiser else directory.match_agency(raiser_agency)  # a name that may be shown
    raiser_agency = listed or raiser_agency.strip()
    raiser_side, raiser_notes = _raiser_side(directory, policy, stage, raiser, listed or "", raiser_agency,
                                             raiser_manager, manager_given)
    other_side, other_agency, other_notes = _other_side(
        directory, policy, stage, other_agency_text, other_professional, (raiser_agency, bool(listed))
    )
    return Counterparts(raiser_side, other_side, other_agency, raiser_notes, other_notes)
