"""Complete cases, one per procedure: opened by Jordan, escalated stage by stage by whoever must act, to the final stage
and its decision. Every due date is counted by hand from the seed (working days from the day after; England's bank
holidays: Christmas Fri 25 Dec 2026, Boxing Day observed Mon 28 Dec 2026, New Year's Day Fri 1 Jan 2027)."""

from __future__ import annotations

from scenario_kit import (
    CASE_THREAD,
    CHRIS,
    DAVID,
    HELEN,
    JORDAN,
    KIM,
    LENA,
    PRIYA,
    RUTH,
    SAM,
    World,
    at,
    duty_ids,
    events,
)


def names_in(reply, *people: str) -> None:
    for name in people:
        assert name in reply.text, f"{name} not named in: {reply.text}"


async def assert_stage(world: World, ref: str, stage: int, due: str | None) -> dict:
    case = await world.case(ref)
    assert case["status"] == "open"
    assert case["stage"] == stage
    assert case["stage_due"] == due
    assert case["stages"][-1]["stage"] == stage and case["stages"][-1]["due"] == due
    return case


async def test_surrey_five_stages_across_christmas_to_the_partnership(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    world.set_time(at(2026, 12, 21))  # Monday 21 December 2026
    opened = await world.open_case()
    ref = opened.case_ref
    # Stage 1: 2 working days from the disagreement arising (21 Dec): Tue 22, Wed 23.
    assert "Stage 1: Internal Discussion, due by Wednesday 23 December 2026" in opened.text
    names_in(opened, "Lena Okafor")
    assert "the other agency is not involved at this stage" in opened.text
    await assert_stage(world, ref, 1, "2026-12-23")

    # Christmas Eve: the line manager escalates. 2 working days from Thu 24 Dec: Fri 25 (Christmas), the weekend and
    # Mon 28 (Boxing Day observed) do not count: Tue 29, Wed 30.
    world.set_time(at(2026, 12, 24))
    reply = await world.escalate(LENA, ref)
    assert reply.kind == "escalate" and reply.stage == 2
    assert "escalated to Stage 2: Inter-agency Discussion, due by Wednesday 30 December 2026" in reply.text
    names_in(reply, "Jordan Ellis", "Chris Walker")
    await assert_stage(world, ref, 2, "2026-12-30")
    # Lena acted in her own chat: the change is posted into the case's thread too, so Jordan is told.
    thread, posted = world.sender.sent[-1]
    assert thread == CASE_THREAD and posted.kind == "escalate" and posted.stage == 2

    # Wed 30 Dec: the police officer escalates. Thu 31 Dec, then (Fri 1 Jan and the weekend skipped) Mon 4 Jan 2027.
    world.set_time(at(2026, 12, 30))
    reply = await world.escalate(CHRIS, ref)
    assert "Stage 3: Escalation to Line Management/Second-Tier Management, due by Monday 4 January 2027" in reply.text
    names_in(reply, "Lena Okafor", "Priya Nair")
    await assert_stage(world, ref, 3, "2027-01-04")

    # Mon 4 Jan 2027: the DS escalates to heads of service: Tue 5, Wed 6.
    world.set_time(at(2027, 1, 4))
    reply = await world.escalate(PRIYA, ref)
    assert "Stage 4: Escalation to Heads/Directors of Service, due by Wednesday 6 January 2027" in reply.text
    names_in(reply, "Ruth Adeyemi", "Helen Brooks")
    await assert_stage(world, ref, 4, "2027-01-06")

    # Wed 6 Jan: the police head refers it to the partnership: Thu 7, Fri 8. The referral uses the standard form.
    world.set_time(at(2027, 1, 6))
    reply = await world.escalate(HELEN, ref)
    assert "Stage 5: Escalation to the Surrey Safeguarding Children Partnership, due by Friday 8 January 2027" in (
        reply.text)
    assert "This is the final stage" in reply.text
    assert "Escalation of a Safeguarding Concern to the SSCP - Standard Form" in reply.text
    assert f"done {ref} 1" in reply.text
    names_in(reply, "Ruth Adeyemi", "Kim Fraser")
    case = await assert_stage(world, ref, 5, "2027-01-08")
    (referral,) = case["duties"]
    assert referral["id"] == "sscp_referral@5" and referral["form"] == "sscp_standard_form"
    assert referral["due"] == "2027-01-08"  # within 2 working days of the completion of Stage 4

    # Fri 8 Jan: the partnership's business unit records the final stage's decision. Surrey does not call it binding.
    world.set_time(at(2027, 1, 8, 15))
    reply = await world.resolve(KIM, ref, "The SSCP resolution meeting agreed a strategy discussion.",
                                "Learning shared with all parties within one month.")
    assert reply.kind == "resolve" and reply.actions == ()
    assert "resolved at Stage 5" in reply.text and "This records the final stage's decision" in reply.text
    assert "binding" not in reply.text
    case = await world.case(ref)
    assert case["status"] == "resolved" and case["stage_due"] is None
    assert case["outcome"]["text"] == "The SSCP resolution meeting agreed a strategy discussion."
    assert case["outcome"]["final_decision"] is True and case["outcome"]["binding"] is False
    assert [e["action"] for e in case["events"]] == ["opened"] + ["escalated"] * 4 + ["resolved"]
    assert [(s["stage"], s["started_on"], s["ended_on"], s["outcome"]) for s in case["stages"]] == [
        (1, "2026-12-21", "2026-12-24", "escalated"),
        (2, "2026-12-24", "2026-12-30", "escalated"),
        (3, "2026-12-30", "2027-01-04", "escalated"),
        (4, "2027-01-04", "2027-01-06", "escalated"),
        (5, "2027-01-06", "2027-01-08", "resolved"),
    ]


async def test_bcssp_four_stages_within_the_ten_day_cap_and_a_binding_decision(store, all_policies, clock):
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)  # Monday 23 November 2026
    opened = await world.open_case()
    ref = opened.case_ref
    # Stage 1: within 2 working days of the outset: Tue 24, Wed 25. Overall: 10 working days from 23 Nov: Mon 7 Dec.
    assert "due by Wednesday 25 November 2026" in opened.text
    assert "By Monday 7 December 2026" in opened.text
    # Jordan reads it: "you", never his own name and address to contact.
    assert "Who acts: you and Chris Walker (Detective Constable, Northshire Police)" in opened.text
    assert "Jordan Ellis" not in opened.text
    case = await assert_stage(world, ref, 1, "2026-11-25")
    assert case["overall_due"] == "2026-12-07" and case["duties"] == []  # Appendix 2 at Stage 1: own records only

    # Wed 25 Nov: Jordan escalates to managers: 3 working days: Thu 26, Fri 27, Mon 30 Nov.
    world.set_time(at(2026, 11, 25, 16))
    reply = await world.escalate(JORDAN, ref)
    assert "Stage 2: Discussing the concern Manager to Manager, due by Monday 30 November 2026" in reply.text
    names_in(reply, "Lena Okafor", "Priya Nair")
    assert "Appendix 2" in reply.text and "BCSSP Business Manager" in reply.text
    case = await assert_stage(world, ref, 2, "2026-11-30")
    assert duty_ids(case) == ["registration@2"]
    assert case["duties"][0]["form"] == "appendix2" and case["duties"][0]["notify"] == "BCSSP Business Manager"

    # Mon 30 Nov: the DS escalates to senior managers: 4 working days: Tue 1 .. Fri 4 Dec.
    world.set_time(at(2026, 11, 30, 11))
    reply = await world.escalate(PRIYA, ref)
    assert "Stage 3: Raising the concern senior manager to senior manager, due by Friday 4 December 2026" in reply.text
    names_in(reply, "David Hughes", "Sam Patel")
    await assert_stage(world, ref, 3, "2026-12-04")

    # Fri 4 Dec: the DI refers it to the BCSSP: 5 working days: Mon 7 .. Fri 11 Dec.
    world.set_time(at(2026, 12, 4, 12))
    reply = await world.escalate(SAM, ref)
    assert "Stage 4: Refer concern to BCSSP, due by Friday 11 December 2026" in reply.text
    assert "This is the final stage" in reply.text and "final and binding" in reply.text
    names_in(reply, "David Hughes", "Kim Fraser")
    case = await assert_stage(world, ref, 4, "2026-12-11")
    assert duty_ids(case) == ["registration@2", "bcssp_referral@4"]

    world.set_time(at(2026, 12, 10, 14))
    reply = await world.resolve(KIM, ref, "Dispute Panel decision: a strategy discussion is to be held.",
                                "Each agency confirms its actions to the Business Manager.")
    assert "resolved at Stage 4" in reply.text
    assert "final and binding on all organisations involved" in reply.text
    case = await world.case(ref)
    assert case["status"] == "resolved"
    assert case["outcome"]["binding"] is True and case["outcome"]["final_decision"] is True
    assert "final and binding" in events(case, "resolved")[0]["detail"]


async def test_lincolnshire_four_steps_without_timescales_to_the_case_review_group(store, all_policies, clock):
    world = World(store, {"lincolnshire": all_policies["lincolnshire"]}, clock)
    opened = await world.open_case()
    ref = opened.case_ref
    assert "Step 1: Discussion amongst frontline professionals, no set timescale in this procedure" in opened.text
    # Jordan reads it: "you", never his own name and address to contact.
    assert "Who acts: you and Chris Walker (Detective Constable, Northshire Police)" in opened.text
    assert "Jordan Ellis" not in opened.text
    await assert_stage(world, ref, 1, None)

    world.set_time(at(2026, 12, 1))
    reply = await world.escalate(CHRIS, ref)
    assert "Step 2: Discussion with line managers/supervisors, no set timescale" in reply.text
    names_in(reply, "Lena Okafor", "Priya Nair")
    await assert_stage(world, ref, 2, None)

    # Step 3: each agency's Senior Liaison Officer (the policy's raiser_contact / other_contact = "slo"): Maria Lopez
    # in Northshire Children's Services and Sam Patel in Northshire Police, not David Hughes, the next manager up.
    world.set_time(at(2026, 12, 8))
    reply = await world.escalate(LENA, ref)
    assert "Step 3: Senior Liaison Officers, no set timescale" in reply.text
    names_in(reply, "Maria Lopez", "Sam Patel")
    assert "David Hughes" not in reply.text
    await assert_stage(world, ref, 3, None)

    world.set_time(at(2026, 12, 15))
    reply = await world.escalate(SAM, ref)
    assert "Step 4: Referral to the inter agency case review group" in reply.text
    assert "This is the final stage" in reply.text
    names_in(reply, "Maria Lopez", "Kim Fraser")  # Step 4: the SLO advises referral to the case review group
    case = await assert_stage(world, ref, 4, None)
    assert case["duties"] == []  # the seed names no notification duties

    world.set_time(at(2027, 1, 4))
    reply = await world.resolve(DAVID, ref, "The case review group recommended a joint plan.",
                                "Both agencies review performance/involvement.")
    assert "resolved at Step 4" in reply.text and "This records the final stage's decision" in reply.text
    assert "binding" not in reply.text
    case = await world.case(ref)
    assert case["status"] == "resolved" and case["outcome"]["binding"] is False


async def test_medway_child_protection_plan_informs_the_iro_and_alerts_at_stage_3(store, all_policies, clock):
    world = World(store, {"medway": all_policies["medway"]}, clock)
    opened = await world.open_case(child_status="child_protection_plan")
    ref = opened.case_ref
    # Stage 1: a response within 5 working days of the case being opened (Mon 23 Nov): Mon 30 Nov.
    assert "Stage 1: Escalate to Team Manager, due by Monday 30 November 2026" in opened.text
    names_in(opened, "Lena Okafor", "Priya Nair")
    assert "Independent Reviewing Officer (IRO) should also be informed" in opened.text
    case = await assert_stage(world, ref, 1, "2026-11-30")
    assert duty_ids(case) == ["iro_stage1@1"]

    # Thu 10 Dec: 5 working days: Fri 11, Mon 14 .. Thu 17 Dec.
    world.set_time(at(2026, 12, 10))
    reply = await world.escalate(LENA, ref)
    assert "Stage 2: Escalate to Designated Safeguarding Leads/ Service Managers, due by Thursday 17 December 2026" in (
        reply.text)
    names_in(reply, "David Hughes", "Sam Patel")
    assert "Independent Reviewing Officer" in reply.text
    case = await assert_stage(world, ref, 2, "2026-12-17")
    assert duty_ids(case) == ["iro_stage1@1", "iro_stage2@2"]

    # Mon 21 Dec: Tue 22, Wed 23, Thu 24, (Christmas, weekend, Boxing Day observed) Tue 29, Wed 30 Dec.
    world.set_time(at(2026, 12, 21))
    reply = await world.escalate(SAM, ref)
    assert "Stage 3: Escalate to Assistant/ Deputy Directors, due by Wednesday 30 December 2026" in reply.text
    names_in(reply, "Ruth Adeyemi", "Helen Brooks")
    assert "Stage 3 Escalation Alert Form" in reply.text and "mscb@medway.gov.uk" in reply.text
    case = await assert_stage(world, ref, 3, "2026-12-30")
    assert [d["id"] for d in case["duties"] if d["stage"] == 3] == ["stage3_alert@3", "stage3_mscb_copy@3"]
    assert {d["form"] for d in case["duties"] if d["stage"] == 3} == {"stage3_alert"}

    # Mon 4 Jan 2027: the board. Stage 4 has no timescale.
    world.set_time(at(2027, 1, 4))
    reply = await world.escalate(RUTH, ref)
    assert "Stage 4: Involving the Medway Safeguarding Children Board, no set timescale" in reply.text
    assert "This is the final stage" in reply.text
    names_in(reply, "David Hughes", "Kim Fraser")
    case = await assert_stage(world, ref, 4, None)
    assert "mscb_notification@4" in duty_ids(case)

    world.set_time(at(2027, 1, 5))
    reply = await world.resolve(KIM, ref, "The Learning Lessons subgroup agreed the responses.",
                                "The MSCB Independent Chair is informed.")
    assert "resolved at Stage 4" in reply.text and "binding" not in reply.text
    case = await world.case(ref)
    assert case["status"] == "resolved" and case["outcome"]["final_decision"] is True


async def test_gloucestershire_across_new_year_to_the_resolution_panel(store, all_policies, clock):
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    world.set_time(at(2026, 12, 18))  # Friday 18 December 2026; the disagreement arose the day before
    opened = await world.open_case(arose_on="2026-12-17", child_status="looked_after")
    ref = opened.case_ref
    # Stage 1: 5 working days from Thu 17 Dec: Fri 18, Mon 21, Tue 22, Wed 23, Thu 24 Dec.
    assert "Stage 1: Discuss with the other worker, due by Thursday 24 December 2026" in opened.text
    # Jordan reads it: "you", never his own name and address to contact.
    assert "Who acts: you and Chris Walker (Detective Constable, Northshire Police)" in opened.text
    assert "Jordan Ellis" not in opened.text
    case = await assert_stage(world, ref, 1, "2026-12-24")
    assert duty_ids(case) == ["dsl_record@1"]
    assert "Independent Reviewing Officer" not in opened.text  # the IRO is told from Stage 2

    # Thu 24 Dec: Tue 29, Wed 30, Thu 31 Dec, (New Year's Day, weekend) Mon 4, Tue 5 Jan 2027.
    world.set_time(at(2026, 12, 24))
    reply = await world.escalate(CHRIS, ref)
    assert "Stage 2: Escalate to Line Manager, due by Tuesday 5 January 2027" in reply.text
    names_in(reply, "Lena Okafor", "Priya Nair")
    assert "Independent Reviewing Officer must be notified" in reply.text
    case = await assert_stage(world, ref, 2, "2027-01-05")
    assert "iro_stage2@2" in duty_ids(case)

    # Tue 5 Jan: Wed 6, Thu 7, Fri 8, Mon 11, Tue 12 Jan.
    world.set_time(at(2027, 1, 5))
    reply = await world.escalate(LENA, ref)
    assert "Stage 3: Escalate to Senior Managers, due by Tuesday 12 January 2027" in reply.text
    names_in(reply, "David Hughes", "Sam Patel")
    assert "Escalation Monitoring Form" in reply.text
    case = await assert_stage(world, ref, 3, "2027-01-12")
    monitoring = next(d for d in case["duties"] if d["id"] == "monitoring_form@3")
    assert monitoring["form"] == "monitoring"

    # Tue 12 Jan: 10 working days: 13, 14, 15, 18 .. 22, 25, 26 Jan.
    world.set_time(at(2027, 1, 12))
    reply = await world.escalate(DAVID, ref)
    assert "Stage 4: Resolution by GSCP, due by Tuesday 26 January 2027" in reply.text
    assert "This is the final stage" in reply.text
    names_in(reply, "David Hughes", "Kim Fraser")
    case = await assert_stage(world, ref, 4, "2027-01-26")
    assert "gscp_referral@4" in duty_ids(case)

    world.set_time(at(2027, 1, 25))
    reply = await world.resolve(KIM, ref, "The Resolution Panel agreed a joint plan.",
                                "Senior managers confirm the plan to the GSCP.")
    assert "resolved at Stage 4" in reply.text and "This records the final stage's decision" in reply.text
    assert "binding" not in reply.text
    assert "debrief" in reply.text
    case = await world.case(ref)
    assert case["status"] == "resolved" and case["outcome"]["binding"] is False


async def test_at_a_partnership_stage_the_partnership_is_not_called_part_of_the_other_agency(
    store, all_policies, clock
):
    # Surrey Stage 5 is a referral to the SSCP itself, not to a counterpart "in the other agency".
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = (await world.open_case()).case_ref
    for _ in range(4):
        reply = await world.escalate(JORDAN, ref)
    assert reply.stage == 5
    who_acts = next(line for line in reply.text.splitlines() if line.startswith("Who acts:"))
    assert "in the other agency" not in who_acts, who_acts
    assert "partnership" in who_acts
