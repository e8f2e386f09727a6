"""Notification duties left undone when a case is resolved stay in front of the leads until someone marks them done:
in the weekly summary's figures and text, and in `status`; and `done REF N` still works on the resolved case
(issue 12, item 4)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))

from scenario_kit import JORDAN, SAM, World, at

from bot.summary import figures as summary

MARIA = "maria.lopez@northshire-council.example.org"  # Northshire Children's Services' safeguarding lead
W48 = summary.parse_week("2026-W48")  # Mon 23 to Sun 29 November 2026
W49 = summary.parse_week("2026-W49")


async def medway_case_resolved_at_stage_3(world: World) -> str:
    """A child on a child protection plan: entering Stages 1 and 2 owes the IRO a word, Stage 3 the Escalation Alert
    Form and its copy to the MSCB (Medway 3, Appendix One); resolved at Stage 3 on Thursday with all four undone."""
    ref = (await world.open_case(child_status="1")).case_ref  # 1: Subject to a Child Protection Plan
    world.set_time(at(2026, 11, 24))
    assert (await world.escalate(JORDAN, ref)).kind == "escalate"
    world.set_time(at(2026, 11, 25))
    assert (await world.escalate(JORDAN, ref)).kind == "escalate"
    world.set_time(at(2026, 11, 26))
    assert (await world.resolve(JORDAN, ref)).kind == "resolve"
    case = await world.case(ref)
    assert case["status"] == "resolved"
    assert [d["duty"] for d in case["duties"] if d["status"] == "open"] == [
        "iro_stage1", "iro_stage2", "stage3_alert", "stage3_mscb_copy"]
    return ref


async def test_undone_duties_of_a_resolved_case_stay_on_the_summary_and_in_status_until_done(
    store, all_policies, clock
):
    world = World(store, {"medway": all_policies["medway"]}, clock)
    ref = await medway_case_resolved_at_stage_3(world)

    world.set_time(at(2026, 11, 30))  # Monday: last week's summary
    figs = summary.figures([doc for _, doc in await store.scan("cases")], world.policies, W48)
    assert figs["open_at_end"] == 0 and figs["resolved"] == 1
    assert figs["open_duties"] == 4 and figs["open_duties_by_case"] == {ref: 4}
    assert figs["open_duties_resolved_refs"] == [ref]
    (reply,) = await world.person(SAM).say("summary")
    assert reply.kind == "summary" and "2026-W48" in reply.text
    assert f"Notification duties still open: 4 ({ref}: 4, resolved)" in reply.text

    # The leads and the people on the case see them in status, numbered for `done`.
    for who in (MARIA, SAM, JORDAN):
        (status,) = await world.person(who).say(f"status {ref}")
        assert status.text.startswith(f"{ref} (MSCB): resolved at Stage 3: Escalate to Assistant/ Deputy Directors on "
                                      "Thursday 26 November 2026 by "), who  # (by whoever resolved it, by name)
        assert "timescale" not in status.text.split("\n")[0], who
        assert "Notification duties still open after resolution: 4." in status.text, who
        assert f"done {ref} 4" in status.text and f"done {ref} 5" not in status.text, who
        assert "Stage 3 Escalation Alert Form" in status.text and "MSCB" in status.text, who

    # `done` works on the resolved case: the Stage 3 form is sent on Monday.
    (done,) = await world.person(JORDAN).say(f"done {ref} 3")
    assert done.kind != "refused" and done.text.startswith("Marked as done: notify Assistant Director/ Deputy Director")
    assert "Complete the Stage 3 Escalation Alert Form" not in done.text and f"done {ref} 3" not in done.text
    assert f"done {ref} 4" in done.text  # (numbers never shift: 4 is still the MSCB copy)
    case = await world.case(ref)
    assert case["status"] == "resolved"
    assert [d["duty"] for d in case["duties"] if d["status"] == "done"] == ["stage3_alert"]

    # Wednesday: Maria, the lead, records the other three.
    world.set_time(at(2026, 12, 2))
    for number in (1, 2, 4):
        (done,) = await world.person(MARIA).say(f"done {ref} {number}")
        assert done.text.startswith("Marked as done: notify "), done.text
    (again,) = await world.person(MARIA).say(f"done {ref} 1")
    assert again.kind == "refused" and f"Duty 1 of {ref} is already marked done" in again.text
    (none,) = await world.person(MARIA).say(f"done {ref} 5")
    assert none.kind == "refused" and f"{ref} has no duty number 5" in none.text
    (status,) = await world.person(JORDAN).say(f"status {ref}")
    assert "To do" not in status.text and "still open" not in status.text

    cases = [doc for _, doc in await store.scan("cases")]
    # As each week ended: 4 open at the end of W48 (done later does not rewrite it), none at the end of W49.
    assert summary.figures(cases, world.policies, W48)["open_duties"] == 4
    w49 = summary.figures(cases, world.policies, W49)
    assert w49["open_duties"] == 0 and w49["open_duties_by_case"] == {}
    assert "Notification duties still open: 0\n" in summary.text(w49, world.policies) + "\n"


async def test_duties_count_from_when_they_arose(store, all_policies, clock):
    world = World(store, {"medway": all_policies["medway"]}, clock)
    ref = (await world.open_case(child_status="1")).case_ref  # W48: the IRO duty of Stage 1
    world.set_time(at(2026, 12, 1))  # W49: Stage 2's IRO duty
    assert (await world.escalate(JORDAN, ref)).kind == "escalate"
    cases = [doc for _, doc in await store.scan("cases")]
    w48 = summary.figures(cases, world.policies, W48)
    assert w48["open_duties_by_case"] == {ref: 1} and w48["open_duties_resolved_refs"] == []
    assert f"Notification duties still open: 1 ({ref}: 1)" in summary.text(w48, world.policies)
    assert summary.figures(cases, world.policies, W49)["open_duties_by_case"] == {ref: 2}
    assert summary.figures(cases, world.policies, summary.parse_week("2026-W47"))["open_duties"] == 0


async def test_a_duty_owed_once_the_immediate_harm_route_is_given_is_on_the_summary_until_done(
    store, all_policies, clock
):
    """BCSSP Timeframes: the required action "within 24 hours" once the route is given is a duty of the immediate-harm
    record itself (it has no stages): the leads' summary counts it, marked as such, from the week it arose until done;
    given on an open case, it counts from that day, not from when the case's stage began."""
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)
    ref = (await world.open_case()).case_ref  # Monday 23 November, W48: an escalation at Stage 1
    world.set_time(at(2026, 11, 27, 16, 30))  # Friday, W48: the route given at the first question, a record of its own
    harm = (await world.person(JORDAN).escalate(immediate_risk="yes")).case_ref
    world.set_time(at(2026, 12, 1, 11))  # Tuesday, W49: the route given on the open case
    assert (await world.person(JORDAN).say(f"harm {ref}"))[0].kind == "emergency"
    cases = [doc for _, doc in await store.scan("cases")]
    w48 = summary.figures(cases, world.policies, W48)
    before = {k: v for k, v in w48["open_duties_by_case"].items() if k == ref}
    assert w48["open_duties_by_case"][harm] == 1 and w48["open_duties_harm_refs"] == [harm]
    assert f"{harm}: 1, immediate harm" in summary.text(w48, world.policies)
    w49 = summary.figures(cases, world.policies, W49)
    assert w49["open_duties_by_case"][ref] == before.get(ref, 0) + 1  # the harm duty counts from W49 only
    assert ref not in w49["open_duties_harm_refs"] and ref not in w49["open_duties_resolved_refs"]

    world.set_time(at(2026, 12, 2, 9))
    (done,) = await world.person(JORDAN).say(f"done {harm} 1")
    assert done.text.startswith("Marked as done: notify ")
    cases = [doc for _, doc in await store.scan("cases")]
    assert harm not in summary.figures(cases, world.policies, W49)["open_duties_by_case"]
    assert summary.figures(cases, world.policies, W48)["open_duties_by_case"][harm] == 1  # as that week ended
