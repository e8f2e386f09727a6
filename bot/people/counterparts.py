"""Who must act at a stage on each side: the next person up the raiser's line, and the counterpart at a similar level
of seniority in the other agency (pure lookups in the directory), with what to do where it cannot say."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.people.directory import TIER_RANK, Directory, Person, normalise_agency
from policies.model import TIER_LABELS, Policy

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


def _in_agency(directory: Directory, policy: Policy, agency: str, tier: str, professional: str) -> Person | None:
    people = directory.in_agency(agency, policy.id)
    if policy.liaison is not None and tier == policy.liaison.tier:
        # At this tier the agency's liaison officer first ([liaison] tier; Lincolnshire Step 3).
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
    where = agency or "your agency"  # (`agency` is the directory's name, or empty: what was typed is never shown)
    if raiser is None:
        note = f"You are not in the directory, so it cannot name your {TIER_LABELS[tier]}: ask within {where}"
    else:
        note = f"Nobody above you at the level of {TIER_LABELS[tier]} is in the directory for {where}: ask within it"
    own = policy.next_contact
    return None, (f"{note}; {own.own_side} ({own.cite})." if own.own_side else f"{note}.",)


def _other_side(
    directory: Directory, policy: Policy, tier: str, agency_text: str, professional: str, raiser: tuple[str, bool]
) -> tuple[Person | None, str | None, tuple[str, ...]]:
    """The counterpart in the other agency. Only the directory's name of the agency is ever shown, never what was
    typed (`raiser`: the raiser's agency, and whether that is the directory's name)."""
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
) -> Counterparts:
    """Who must act at this stage on each side: the next person up the raiser's line, and the counterpart at a
    similar level of seniority in the other agency (SSCP 6.4); notes say what the directory could not."""
    stage = policy.stage(stage_number)
    if stage is None:
        raise ValueError(f"{policy.id} has no stage {stage_number}")
    listed = raiser.agency if raiser else directory.match_agency(raiser_agency)  # a name that may be shown
    raiser_agency = listed or raiser_agency.strip()
    raiser_side, raiser_notes = _raiser_side(directory, policy, stage.raiser_tier, raiser, listed or "")
    other_side, other_agency, other_notes = _other_side(
        directory, policy, stage.other_tier, other_agency_text, other_professional, (raiser_agency, bool(listed))
    )
    return Counterparts(raiser_side, other_side, other_agency, raiser_notes, other_notes)


