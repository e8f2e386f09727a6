"""The contact the other agency gives at a stage stays on the record after the case escalates: it moves onto that
stage's entry in `stages`, and the record and forms show each stage's contact."""

from __future__ import annotations

from typing import Any

from records_kit import DAVID, DIRECTORY, LENA, Desk, at, fields, grid, walk

from bot.cases import workflow
from bot.cases.case import new_case
from bot.records.docx_record import form_docx, record_docx
from bot.records.people import stage_contacts, workers
from bot.types import ThreadRef, UserRef
from policies.model import Policy

PAT = UserRef("slack", "U0PAT", name="Pat Jones", email="pat@example.org")
SAM = "Sam Lee, sam.lee@police.example, DI"
PRIYA = "Priya Nair, priya.nair@northshire-police.example.org, DS"
ANSWERS = {"immediate_risk": False, "arose_on": "2026-11-23", "other_agency": "Northshire Police",
           "category": "thresholds", "disputed": "Closed.", "impact": "Harm.", "desired_change": "A meeting."}


def opened_case(policy: Policy) -> dict[str, Any]:
    """A case opened on Monday 23 November 2026, as bot/cases/case.py makes it (no reminders)."""
    case = new_case("ESC-2026-0001", policy, ANSWERS, PAT, ThreadRef("slack", "C1"), at(2026, 11, 23))
    return {**case, "nudges": []}


def test_escalate_keeps_the_stages_actors_on_its_entry(all_policies):
    policy = all_policies["bcssp"]
    case = opened_case(policy)
    case = workflow.escalate(case, policy, PAT, "No meeting.", at(2026, 11, 24), 1)
    assert "actors" not in case["stages"][0]  # nothing recorded at Stage 1: its entry is as before
    case = workflow.record_contact(case, policy, PAT, f"  {SAM} ", at(2026, 11, 24, 11))
    case = workflow.escalate(case, policy, PAT, "Still no meeting.", at(2026, 11, 25), 2)
    assert case["stages"][1]["actors"] == {"other_recorded": SAM}
    assert case["actors"] == {} and "actors" not in case["stages"][2]  # the new stage starts afresh
    case = workflow.record_contact(case, policy, PAT, PRIYA, at(2026, 11, 25, 11))
    assert stage_contacts(case) == [(2, SAM), (3, PRIYA)]
    case = workflow.resolve(case, policy, PAT, "Met.", "Review.", at(2026, 11, 26), 3)
    assert stage_contacts(case) == [(2, SAM), (3, PRIYA)]  # the last stage's, still in `actors`


def test_the_same_contact_at_two_stages_is_one_worker(all_policies):
    policy = all_policies["bcssp"]
    case = opened_case(policy)
    case = workflow.record_contact(case, policy, PAT, SAM, at(2026, 11, 23, 11))
    case = workflow.escalate(case, policy, PAT, "No meeting.", at(2026, 11, 24), 1)
    case = workflow.record_contact(case, policy, PAT, SAM, at(2026, 11, 24, 11))
    given = [w for w in workers(case, None) if w.name == SAM]
    assert [w.designation for w in given] == ["contact given by the other agency at stages 1 and 2"]


async def test_a_contact_given_before_an_escalation_is_on_the_record_and_forms(store, all_policies):
    policy = all_policies["bcssp"]
    desk = Desk(store, {"bcssp": policy}, at(2026, 11, 23))
    ref = await desk.open_case()
    await desk.escalate(LENA, ref, at(2026, 11, 24))
    desk.clock.set(at(2026, 11, 24, 11))
    assert "Recorded" in (await desk.chat(LENA).say(f"contact {ref} {SAM}"))[-1].text
    await desk.escalate(DAVID, ref, at(2026, 11, 25))
    desk.clock.set(at(2026, 11, 25, 11))
    await desk.chat(DAVID).say(f"contact {ref} {PRIYA}")
    case = await desk.case(ref)
    assert case["stages"][1]["actors"] == {"other_recorded": SAM}

    record = record_docx(case, policy, DIRECTORY)
    assert grid(record, ("Stage", "Contact, as given")) == [[policy.stage_title(2), SAM],
                                                            [policy.stage_title(3), PRIYA]]
    got = fields(form_docx(case, policy, policy.forms["appendix2"], DIRECTORY))  # names and contact details of workers
    names = got[("Agencies/ Workers involved", "Names")].splitlines()
    designations = got[("Agencies/ Workers involved", "Designation")].splitlines()
    assert names[-2:] == [f"{len(names) - 1}. {SAM}", f"{len(names)}. {PRIYA}"]
    assert designations[-2:] == [f"{len(names) - 1}. contact given by the other agency at stage 2",
                                 f"{len(names)}. contact given by the other agency at stage 3"]


async def test_the_stage_history_says_which_contact_each_stage_had(store, all_policies):
    policy = all_policies["medway"]
    desk = Desk(store, {"medway": policy}, at(2026, 11, 23))
    ref = await desk.open_case()
    desk.clock.set(at(2026, 11, 23, 11))
    await desk.chat(LENA).say(f"contact {ref} {SAM}")
    await walk(desk, ref, 4, at(2026, 11, 23))
    case = await desk.case(ref)
    history = fields(form_docx(case, policy, policy.forms["mscb_notification"], DIRECTORY))[
        ("", "Stages 1-3: dates, who was involved and responses")].splitlines()
    assert f"Contact given by the other agency: {SAM}. Outcome: Not resolved" in history[0]
    assert "Contact given by the other agency" not in history[1]
