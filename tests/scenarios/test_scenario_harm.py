"""Immediate harm during a case: the procedure's own route at once, on the record, with the case left where it was."""

from __future__ import annotations

import pytest
from scenario_kit import JORDAN, LENA, POLICY_IDS, PRIYA, World, at, events


@pytest.mark.parametrize("policy_id", POLICY_IDS)
async def test_harm_at_any_stage_gives_the_route_at_once_and_is_recorded(store, all_policies, clock, policy_id):
    policy = all_policies[policy_id]
    world = World(store, {policy_id: policy}, clock)
    ref = (await world.open_case()).case_ref
    world.set_time(at(2026, 11, 24, 11))
    await world.escalate(JORDAN, ref)  # now at the second stage, where the line managers act
    before = await world.case(ref)

    world.set_time(at(2026, 11, 24, 16, 45))
    (reply,) = await world.person(LENA).say(f"harm {ref}")
    assert reply.kind == "emergency" and reply.case_ref == ref
    assert reply.text.startswith("Immediate risk of harm: act now.")
    assert policy.immediate_harm.route in reply.text and policy.immediate_harm.cite in reply.text
    assert reply.question is None  # nothing is asked first
    assert f"recorded on {ref}" in reply.text and "type escalate" not in reply.text  # (the case is the disagreement)

    case = await world.case(ref)
    (recorded,) = events(case, "immediate_harm_route_given")
    assert recorded["by"] == f"console:{LENA}" and recorded["at"] == "2026-11-24T16:45:00+00:00"
    assert "at stage 2" in recorded["detail"]
    # The escalation itself carries on where it was; the procedure's duties when the route is given are added.
    changed = ("events", "duties", "nudges", "open_duties", "trail")  # (what the store keeps: counts, the chain)
    assert {k: v for k, v in case.items() if k not in changed} == {k: v for k, v in before.items() if k not in changed}
    harm_duties = [n.id for n in policy.notifications if n.on == "harm" and n.applies_at(2)]
    assert case["duties"][:len(before["duties"])] == before["duties"]
    assert [d["duty"] for d in case["duties"][len(before["duties"]):]] == harm_duties
    assert all(n in case["nudges"] for n in before["nudges"])
    assert case["events"][:-1] == before["events"]


async def test_harm_from_the_other_agency_at_its_stage(store, all_policies, clock):
    world = World(store, {"medway": all_policies["medway"]}, clock)
    ref = (await world.open_case()).case_ref  # Medway Stage 1: the team managers, Lena Okafor and Priya Nair
    (reply,) = await world.person(PRIYA).say(f"harm {ref}")
    assert reply.kind == "emergency" and "Medway children's social care" in reply.text
    assert events(await world.case(ref), "immediate_harm_route_given")[0]["by"] == f"console:{PRIYA}"


async def test_immediate_risk_at_the_first_question_opens_no_case(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    reply = await world.person(JORDAN).escalate(immediate_risk="yes")
    assert reply.kind == "emergency"
    assert "Surrey Children's Single Point of Access (C-SPA) and/or Surrey Police" in reply.text
    record = await world.case(reply.case_ref)
    assert record["status"] == "immediate_harm" and record["stages"] == []
    assert await world.tick(at(2026, 11, 25, 9)) == []
    (refused,) = await world.person(JORDAN).say(f"escalate {reply.case_ref}")
    assert refused.kind == "refused" and "immediate-harm referral" in refused.text
