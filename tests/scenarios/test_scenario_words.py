"""What people read about a case, from where they stand: who acts, by name ("you" only to the person meant, never
told to contact themselves); by when, or overdue by how many working days; how a closed case ended and by whom; no
raw chat ids; a raiser outside the directory placed by the agency and line manager they gave; messages short enough
to read in seconds, with no brackets inside brackets."""

from __future__ import annotations

import re

import pytest
from scenario_kit import CHRIS, JORDAN, KIM, LENA, OPENING, PRIYA, SAM, STRANGER, World, at

from bot.cases.messages import cited, edition

JORDAN_LABEL = "Jordan Ellis (Social Worker, Northshire Children's Services) <practitioner@example.org>"
LENA_LABEL = "Lena Okafor (Team Manager, Northshire Children's Services) <lena.okafor@northshire-council.example.org>"
PRIYA_LABEL = "Priya Nair (Detective Sergeant, Northshire Police) <priya.nair@northshire-police.example.org>"
CHRIS_LABEL = "Chris Walker (Detective Constable, Northshire Police) <chris.walker@northshire-police.example.org>"


def who_acts(text: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith("Who acts:")]
    return line


async def status(world: World, email: str, ref: str) -> str:
    (reply,) = await world.person(email).say(f"status {ref}")
    return reply.text


async def test_each_reader_is_told_who_acts_from_their_own_place(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = (await world.open_case()).case_ref
    await world.escalate(LENA, ref)  # Stage 2: the practitioners act, Jordan and Chris Walker
    assert who_acts(await status(world, JORDAN, ref)) == f"Who acts: you and {CHRIS_LABEL}."
    assert who_acts(await status(world, CHRIS, ref)) == f"Who acts: {JORDAN_LABEL} and you."
    # Jordan's manager is not told that she acts ("you") while the practitioners do.
    assert who_acts(await status(world, LENA, ref)) == f"Who acts: {JORDAN_LABEL} and {CHRIS_LABEL}."
    await world.escalate(JORDAN, ref)  # Stage 3: the line managers
    assert who_acts(await status(world, LENA, ref)) == f"Who acts: you and {PRIYA_LABEL}."
    assert who_acts(await status(world, PRIYA, ref)) == f"Who acts: {LENA_LABEL} and you."
    assert who_acts(await status(world, JORDAN, ref)) == f"Who acts: {LENA_LABEL} and {PRIYA_LABEL}."
    # Nobody is given their own address to contact.
    for email in (JORDAN, LENA, PRIYA):
        assert f"<{email}>" not in who_acts(await status(world, email, ref))


async def test_the_raiser_is_not_told_to_contact_themself_when_the_case_opens(store, all_policies, clock):
    world = World(store, {"lincolnshire": all_policies["lincolnshire"]}, clock)
    opened = await world.open_case()
    assert who_acts(opened.text) == f"Who acts: you and {CHRIS_LABEL}."
    assert "practitioner@example.org" not in opened.text


async def test_status_says_overdue_by_working_days_never_a_due_date_in_the_past(store, all_policies, clock):
    world = World(store, {"medway": all_policies["medway"]}, clock)  # Monday 23 November 2026
    ref = (await world.open_case()).case_ref
    # Due Monday 30 November (5 working days). On Thursday 3 December: Tue 1, Wed 2, Thu 3 late.
    world.set_time(at(2026, 12, 3))
    text = await status(world, JORDAN, ref)
    assert ("Stage 1: Escalate to Team Manager, overdue by 3 working days: it was due by Monday 30 November 2026 "
            "(MSCB 3. Stage 1).") in text
    world.set_time(at(2026, 12, 1))
    assert "overdue by 1 working day: it was due by Monday 30 November 2026" in await status(world, JORDAN, ref)
    world.set_time(at(2026, 11, 30))
    assert "Stage 1: Escalate to Team Manager, due by Monday 30 November 2026 (MSCB 3. Stage 1)." in (
        await status(world, JORDAN, ref))


async def test_a_closed_case_says_how_it_ended_not_a_timescale(store, all_policies, clock):
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    ref = (await world.open_case()).case_ref
    for _ in range(3):
        await world.escalate(LENA, ref)
    world.set_time(at(2026, 12, 2, 15))
    await world.resolve(KIM, ref)
    text = await status(world, JORDAN, ref)
    assert text.startswith(
        f"{ref} (GSCP): resolved at Stage 4: Resolution by GSCP on Wednesday 2 December 2026 by Kim Fraser.\n"
        "Raised by you on Monday 23 November 2026; disagreement with Northshire Police.")
    assert "timescale" not in text and "working days" not in text and "due by" not in text


async def test_no_raw_chat_id_reaches_anyone(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = (await world.open_case()).case_ref
    await world.escalate(LENA, ref)
    world.set_time(at(2026, 11, 24, 11))
    (late,) = await world.click(JORDAN, "escalate", ref, 1, {"reason": "Unresolved."})
    assert "(escalated by Lena Okafor at 2026-11-23 10:00)" in late.text
    await world.resolve(JORDAN, ref)
    again = await world.resolve(LENA, ref)
    assert again.text.startswith(f"{ref} was already resolved by Jordan Ellis at 2026-11-24 11:00.")
    said = "\n".join(world.person(p).all_text() for p in (JORDAN, LENA))
    assert not re.search(r"\b(console|slack|teams):", said), said


async def test_a_stranger_is_placed_by_the_agency_and_line_manager_they_typed(store, all_policies, clock):
    """Not in the directory, they give their agency ("the northshire children's services") and line manager
    ("Lena Okafor, lena.okafor@..."): both are found in the directory, so the bot names their line and the summary
    counts their agency."""
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    opened = await world.person(STRANGER).escalate(**{
        **OPENING, "raiser_agency": "the northshire children's services", "raiser_role": "Family Support Worker",
        "raiser_manager": "Lena Okafor, lena.okafor@northshire-council.example.org"})
    assert opened.kind == "case_opened"
    ref = opened.case_ref
    assert who_acts(opened.text) == (f"Who acts: {LENA_LABEL}; the other agency is not involved at this stage.")
    assert "cannot name" not in opened.text and "not in the directory" not in opened.text
    assert (await world.case(ref))["agencies"] == {"raiser": "Northshire Children's Services",
                                                   "other": "Northshire Police"}
    # Stage 3: the line managers, Lena on their side (they are in no line the directory knows but hers).
    await world.escalate(LENA, ref)
    moved = await world.escalate(STRANGER, ref)
    assert who_acts(moved.text) == f"Who acts: {LENA_LABEL} and {PRIYA_LABEL}."
    world.set_time(at(2026, 11, 30, 10))
    (summary,) = await world.person(SAM).say("summary 2026-W48")
    assert "Northshire Children's Services -> Northshire Police: 1" in summary.text
    assert "an agency not in the directory" not in summary.text


async def test_a_line_manager_typed_but_not_in_the_directory_is_still_theirs(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    opened = await world.person(STRANGER).escalate(**{
        **OPENING, "raiser_agency": "Northshire Children's Services", "raiser_role": "Family Support Worker",
        "raiser_manager": "Pat Quill, pat.quill@elsewhere.example.com"})
    text = opened.text
    assert who_acts(text).startswith("Who acts: your line manager / supervisor; the other agency is not involved")
    assert "Your line manager is the one you named when you raised the case" in text
    assert "cannot name your line manager" not in text
    assert "Pat Quill" not in text  # what they typed is never repeated


async def test_the_case_opened_message_gives_the_essentials_in_a_few_lines(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    opened = await world.open_case()
    lines = opened.text.splitlines()
    assert lines == [
        f"Case {opened.case_ref} is open under the Surrey Safeguarding Children Partnership procedure.",
        "Now: Stage 1: Internal Discussion, due by Wednesday 25 November 2026 (SSCP 6.4 Stage 1).",
        f"Who acts: {LENA_LABEL}; the other agency is not involved at this stage.",
        f"What to do: {all_policies['surrey'].stage(1).action}",
        "If not resolved: Stage 2: Inter-agency Discussion, within 2 working days of the end of Stage 1.",
    ]


async def test_the_final_stage_is_said_once(store, all_policies, clock):
    world = World(store, {"lincolnshire": all_policies["lincolnshire"]}, clock)
    ref = (await world.open_case()).case_ref
    for _ in range(3):
        reply = await world.escalate(JORDAN, ref)
    assert reply.stage == 4
    assert reply.text.count("inter agency case review group") == 2  # the step's name, and what to do: no third
    assert reply.text.count("final stage") == 1


def nested(text: str) -> list[str]:
    """Lines with a bracket opened inside another."""
    out = []
    for line in text.splitlines():
        depth = 0
        for char in line:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth > 1:
                out.append(line)
                break
    return out


@pytest.mark.parametrize("policy_id", ["surrey", "bcssp", "lincolnshire", "medway", "gloucestershire"])
async def test_no_brackets_inside_brackets_in_any_case_message(store, all_policies, clock, policy_id):
    """E.g. never '(SSCP 3.2 Inter-Agency ... (as printed 8 August 2020))' nor '(GSCP 2 (closing paragraph))'."""
    world = World(store, {policy_id: all_policies[policy_id]}, clock)
    opened = await world.open_case(child_status="child_protection_plan")
    said = [opened.text, await status(world, JORDAN, opened.case_ref)]
    for _ in all_policies[policy_id].stages[1:]:
        said.append((await world.escalate(JORDAN, opened.case_ref)).text)
        said.append(await status(world, JORDAN, opened.case_ref))
    said.append((await world.resolve(JORDAN, opened.case_ref)).text)
    assert [line for text in said for line in nested(text)] == []


def test_the_emergency_route_has_no_stray_brackets(all_policies):
    from bot.cases.messages import emergency_route

    lscb = emergency_route(all_policies["lincolnshire"])
    assert "(LSCB Notes a)" in lscb and "a))" not in lscb
    for policy in all_policies.values():
        assert nested(emergency_route(policy)) == []


def test_citations_and_versions_read_cleanly():
    assert cited("GSCP 2 (closing paragraph)") == "(GSCP 2, closing paragraph)"
    assert cited("LSCB Notes a)") == "(LSCB Notes a)"
    assert cited("SSCP 6.4 Stage 1") == "(SSCP 6.4 Stage 1)"
    assert edition("Version 4, January 2010 (updated 5 May 2010)") == "Version 4, January 2010 (updated 5 May 2010)"
    assert edition("V5") == "V5"
    assert edition("2020-08-08") == "version 2020-08-08"


async def test_a_thread_root_names_a_raiser_outside_the_directory_who_acts(store, all_policies, clock):
    """BCSSP Stage 1 is worker to worker: the root message (read by everyone in the cases channel) names both."""
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)
    opened = await world.person(STRANGER).escalate(**{
        **OPENING, "raiser_agency": "Northshire Children's Services", "raiser_role": "Family Support Worker",
        "raiser_manager": "Lena Okafor"})
    case = await world.case(opened.case_ref)
    case["raised_by"]["name"] = "Alex Rowe"  # as their chat profile gives it (Slack and Teams do)
    text = world.core.threads.root(case).text
    assert "Who must act: Alex Rowe and Chris Walker." in text


async def test_someone_who_acted_at_an_earlier_stage_still_sees_the_case_after_it_moves_on_and_is_resolved(
        store, all_policies, clock):
    from scenario_kit import LUCY

    world = World(store, {"medway": all_policies["medway"]}, clock)
    ref = (await world.open_case()).case_ref
    (recorded,) = await world.person(CHRIS).say(f"contact {ref} DS Ray Hart, 01632 960111")  # Chris acts at Stage 1
    assert recorded.kind != "refused"
    world.set_time(at(2026, 11, 24))
    assert (await world.escalate(JORDAN, ref)).kind == "escalate"
    world.set_time(at(2026, 11, 25))
    assert (await world.resolve(JORDAN, ref)).kind == "resolve"
    (status,) = await world.person(CHRIS).say(f"status {ref}")
    assert status.kind != "refused" and f"{ref} (MSCB): resolved" in status.text  # still on the case
    (refused,) = await world.person(LUCY).say(f"status {ref}")
    assert refused.kind == "refused"  # (someone with no part in it still cannot see it)
