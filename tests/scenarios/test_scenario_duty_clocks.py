"""Duties whose deadlines are not working days: BCSSP's "required action is taken within 24 hours" once the
immediate-harm route is given (a clock in hours, weekends included) and Surrey's learning "disseminated to all parties
within one month of the meeting or review" (calendar months, after the case is resolved). Each is shown with its due
time and gets its own nudge when it falls due, until it is done."""

from __future__ import annotations

from scenario_kit import JORDAN, World, at

MARIA = "maria.lopez@northshire-council.example.org"  # a safeguarding lead: may act on any case


async def test_bcssp_harm_at_the_first_question_starts_a_24_hour_clock_nudged_at_its_time(store, all_policies, clock):
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)
    world.set_time(at(2026, 11, 27, 16, 30))  # Friday 27 November 2026, 16:30
    reply = await world.person(JORDAN).escalate(immediate_risk="yes")
    assert reply.kind == "emergency"
    # Shown at once, with the hour it falls due (24 hours: the weekend counts).
    assert "To do (1) by 16:30 on Saturday 28 November 2026: Escalate to an appropriate level" in reply.text
    assert "(BCSSP Timeframes)" in reply.text
    record = await world.case(reply.case_ref)
    (duty,) = record["duties"]
    assert duty["duty"] == "immediate_harm_action" and duty["due"] == "2026-11-28T16:30+00:00"
    assert "stage" not in duty  # an immediate-harm record has no stages

    # A Saturday: nothing else is sent at weekends, but this clock runs in hours, so it is nudged at its time.
    assert await world.tick(at(2026, 11, 28, 16, 29)) == []
    (nudge,) = await world.tick(at(2026, 11, 28, 16, 31))
    assert nudge.kind == "duty" and nudge.ref == reply.case_ref
    assert "a notification duty falls due by 16:30 on Saturday 28 November 2026" in nudge.text
    assert await world.tick(at(2026, 11, 28, 17)) == []  # once
    assert await world.tick(at(2026, 11, 30, 9)) == []
    # Listed in status until it is marked done.
    (status,) = await world.person(JORDAN).say(f"status {reply.case_ref}")
    assert "To do (1) by 16:30 on Saturday 28 November 2026" in status.text
    (done,) = await world.person(JORDAN).say(f"done {reply.case_ref} 1")
    assert done.text.startswith("Marked as done: notify An appropriate level in your agency")
    assert "To do" not in done.text
    assert (await world.case(reply.case_ref))["duties"][0]["status"] == "done"


async def test_bcssp_harm_on_a_case_adds_the_duty_and_done_stops_its_nudge(store, all_policies, clock):
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)
    ref = (await world.open_case()).case_ref  # Monday 23 November 2026, 10:00
    world.set_time(at(2026, 11, 23, 11, 15))
    (reply,) = await world.person(JORDAN).say(f"harm {ref}")
    assert reply.text.startswith("Immediate risk of harm: act now.")
    assert "by 11:15 on Tuesday 24 November 2026: Escalate to an appropriate level" in reply.text
    case = await world.case(ref)
    harm = [d for d in case["duties"] if d["duty"] == "immediate_harm_action"]
    assert [(d["stage"], d["due"]) for d in harm] == [(1, "2026-11-24T11:15+00:00")]
    status = (await world.person(JORDAN).say(f"status {ref}"))[-1].text
    assert "by 11:15 on Tuesday 24 November 2026" in status

    number = next(i for i, d in enumerate([d for d in case["duties"] if d["status"] == "open"], 1)
                  if d["duty"] == "immediate_harm_action")
    await world.person(JORDAN).say(f"done {ref} {number}")
    sent = await world.tick(at(2026, 11, 24, 12))
    assert [s.kind for s in sent if s.kind == "duty"] == []  # done: its nudge is not sent
    assert any(n["kind"] == "duty" and n["status"] == "cancelled" for n in (await world.case(ref))["nudges"])


async def test_surrey_learning_is_due_a_calendar_month_after_the_final_meeting_and_nudged_after_closure(
        store, all_policies, clock):
    policy = all_policies["surrey"]
    world = World(store, {"surrey": policy}, clock)
    ref = (await world.open_case()).case_ref
    for day in (24, 25, 26, 27):  # to Stage 5, a day at a time
        world.set_time(at(2026, 11, day))
        assert (await world.escalate(MARIA, ref)).kind == "escalate"
    world.set_time(at(2027, 1, 29, 15))  # Friday 29 January 2027: the resolution meeting's outcome is recorded
    reply = await world.resolve(MARIA, ref, "The SSCP resolution meeting agreed a plan.", "Reviewed in March.")
    # One month from 29 January is the month's last day, Sunday 28 February 2027 (not counted in working days).
    assert "by Sunday 28 February 2027: Disseminate the learning from the resolution meeting or review" in reply.text
    case = await world.case(ref)
    (learning,) = [d for d in case["duties"] if d["duty"] == "learning_disseminated"]
    assert (learning["stage"], learning["due"], learning["status"]) == (5, "2027-02-28", "open")

    # The case is closed, but the duty is not: it is nudged on the last working day before it falls due.
    assert [s.kind for s in await world.tick(at(2027, 2, 25, 9))] == []
    (nudge,) = await world.tick(at(2027, 2, 26, 9))
    assert nudge.kind == "duty" and "falls due by Sunday 28 February 2027: notify All parties" in nudge.text
    assert await world.tick(at(2027, 3, 1, 9)) == []
