"""Cases resolved early by the line manager: the outcome is recorded, duties appear and can be marked done."""

from __future__ import annotations

import pytest
from scenario_kit import JORDAN, LENA, POLICY_IDS, World, at, duty_ids, events

from policies.model import Policy

# Where Lena resolves each seed's case, and the open duties (in `done REF N` order) once she has. Any other procedure
# in the policy folder: at its first stage, with the duties its file gives there (`expected`).
EARLY = {
    "surrey": (1, []),
    # BCSSP Stage 2: registered with Appendix 2 on entry, and "the manager who resolved the issue must notify the
    # BCSSP Business Manager using Appendix 2".
    "bcssp": (2, ["registration@2", "resolved_stage2@2"]),
    "lincolnshire": (1, []),
    "medway": (1, ["iro_stage1@1"]),  # the child has a child protection plan
    "gloucestershire": (2, ["dsl_record@1", "iro_stage2@2"]),
}


def expected(policy: Policy, status: str) -> tuple[int, list[str]]:
    """Resolved at the first stage: the duties on entering it and on resolving there, in the file's order."""
    stage = policy.first_stage.number
    return stage, [f"{n.id}@{stage}" for on in ("enter", "resolve") for n in policy.notifications
                   if n.on == on and stage in n.stages and (not n.when_child_status or status in n.when_child_status)]


@pytest.mark.parametrize("policy_id", POLICY_IDS)
async def test_line_manager_resolves_early_and_duties_are_followed_up(store, all_policies, clock, policy_id):
    policy = all_policies[policy_id]
    stage, duties = EARLY.get(policy_id) or expected(policy, "child_protection_plan")
    world = World(store, {policy_id: policy}, clock)
    ref = (await world.open_case(child_status="child_protection_plan")).case_ref
    if stage == 2:
        world.set_time(at(2026, 11, 24))
        assert (await world.escalate(JORDAN, ref)).kind == "escalate"

    world.set_time(at(2026, 11, 25, 11, 30))
    reply = await world.resolve(LENA, ref, "Agreed: the police will hold a strategy discussion on Friday.",
                                "Lena Okafor checks it took place and records it on the file.")
    assert reply.kind == "resolve" and reply.case_ref == ref and reply.actions == ()
    assert f"{ref} is resolved at {policy.stage_title(stage)}" in reply.text
    assert "final stage" not in reply.text and "binding" not in reply.text
    if policy.debrief is not None:  # (BCSSP, GSCP)
        assert policy.debrief.text in reply.text  # a reflective debrief is offered
    else:
        assert "debrief" not in reply.text
    if policy_id == "bcssp":
        assert "The manager who resolved the issue must notify the BCSSP Business Manager" in reply.text

    case = await world.case(ref)
    assert case["status"] == "resolved" and case["stage"] == stage
    assert case["outcome"]["text"] == "Agreed: the police will hold a strategy discussion on Friday."
    assert case["outcome"]["follow_up"] == "Lena Okafor checks it took place and records it on the file."
    assert case["outcome"]["by"] == f"console:{LENA}" and case["outcome"]["final_decision"] is False
    assert case["closed_at"] == "2026-11-25T11:30:00+00:00"
    assert case["stages"][-1]["outcome"] == "resolved" and case["stages"][-1]["ended_on"] == "2026-11-25"
    assert len(events(case, "resolved")) == 1
    assert [d["id"] for d in case["duties"] if d["status"] == "open"] == duties
    assert all(n["status"] not in ("pending", "sending") for n in case["nudges"] if n["kind"] != "duty")

    # Anyone involved can still see it, and mark a duty done.
    (status,) = await world.person(JORDAN).say(f"status {ref}")
    assert f"{ref} ({policy.short_name}): resolved" in status.text and status.actions == ()
    (done,) = await world.person(LENA).say(f"done {ref} 1")
    case = await world.case(ref)
    if duties:
        assert done.text.startswith("Marked as done: notify ")
        first = next(d for d in case["duties"] if d["id"] == duties[0])
        assert first["status"] == "done" and first["done_by"] == f"console:{LENA}"
        assert [d["id"] for d in case["duties"] if d["status"] == "open"] == duties[1:]
        assert events(case, "duty_done")[0]["detail"] == duties[0]
    else:
        assert done.kind == "refused" and "has no duty number 1" in done.text


async def test_gloucestershire_without_a_plan_has_no_iro_duty(store, all_policies, clock):
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    ref = (await world.open_case(child_status="child_in_need")).case_ref
    await world.escalate(JORDAN, ref)
    case = await world.case(ref)
    assert duty_ids(case) == ["dsl_record@1"]


async def test_bcssp_resolved_at_stage_3_tells_the_business_manager_and_the_stage4_representative(
    store, all_policies, clock
):
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)
    ref = (await world.open_case()).case_ref
    await world.escalate(JORDAN, ref)
    await world.escalate(LENA, ref)
    reply = await world.resolve(LENA, ref)
    assert "resolved at Stage 3" in reply.text
    case = await world.case(ref)
    assert duty_ids(case) == ["registration@2", "resolved_stage3@3", "resolved_stage3_internal@3"]
    assert "Stage 4 representative" in reply.text
