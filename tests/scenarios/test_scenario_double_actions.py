"""Two people, two clicks, a platform retry, a stale button: every action applies exactly once, and whoever comes
second is told what already happened."""

from __future__ import annotations

import asyncio

from scenario_kit import CHRIS, EMMA, JORDAN, LENA, PRIYA, World, at, events


async def surrey_case_at_stage_3(world: World) -> str:
    ref = (await world.open_case()).case_ref
    await world.escalate(LENA, ref)  # to Stage 2
    await world.escalate(CHRIS, ref)  # to Stage 3: Lena Okafor and Priya Nair act
    assert (await world.case(ref))["stage"] == 3
    return ref


async def finish_together(world: World, ref: str, first: str, second: str) -> tuple[list, dict]:
    """Both start `escalate REF` at the same stage, then both answer at the same moment."""
    a, b = world.person(first), world.person(second)
    (asked_a,) = await a.say(f"escalate {ref}")
    (asked_b,) = await b.say(f"escalate {ref}")
    assert asked_a.question.id == asked_b.question.id == "reason"
    world.set_time(at(2026, 11, 26, 14))
    ([reply_a], [reply_b]) = await asyncio.gather(a.say("Police still refuse a strategy discussion."),
                                                  b.say("Social care still disagree with our decision."))
    case = await world.case(ref)
    # Exactly one escalation, whoever came second.
    assert case["stage"] == 4
    assert len([e for e in events(case, "escalated") if e["detail"].startswith("to Stage 4")]) == 1
    assert [s["stage"] for s in case["stages"]] == [1, 2, 3, 4]
    assert case["stages"][2]["reason"] in ("Police still refuse a strategy discussion.",
                                           "Social care still disagree with our decision.")
    stage4 = [n["id"] for n in case["nudges"] if n["stage"] == 4]
    assert len(stage4) == len(set(stage4)) == 4  # Stage 4's nudges planned once (before, due, overdue, leads)
    return sorted([reply_a, reply_b], key=lambda r: r.kind), case


async def test_the_raiser_and_the_line_manager_finish_the_same_escalation_at_once(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = await surrey_case_at_stage_3(world)
    (moved, told), _ = await finish_together(world, ref, JORDAN, LENA)
    assert [moved.kind, told.kind] == ["escalate", "refused"]
    assert moved.stage == 4 and "escalated to Stage 4" in moved.text
    assert "already moved on to Stage 4: Escalation to Heads/Directors of Service" in told.text
    # Who acted first is named as the directory has them, never by a raw chat id ("console:...").
    first = events(await world.case(ref), "escalated")[-1]["by"]
    name = "Jordan Ellis" if first == f"console:{JORDAN}" else "Lena Okafor"
    assert f"(escalated by {name} at 2026-11-26 14:00)" in told.text and "console:" not in told.text
    assert "Nothing was changed" in told.text


async def test_both_sides_line_managers_finish_the_same_escalation_at_once(store, all_policies, clock):
    # Lena Okafor and Priya Nair are the Stage 3 counterparts; whoever comes second must be told what happened,
    # even though (at Stage 4, heads of service) a detective sergeant no longer acts on the case.
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = await surrey_case_at_stage_3(world)
    (moved, told), _ = await finish_together(world, ref, LENA, PRIYA)
    assert [moved.kind, told.kind] == ["escalate", "refused"]
    assert "already moved on to Stage 4: Escalation to Heads/Directors of Service" in told.text, told.text
    assert "Nothing was changed" in told.text


async def test_two_people_resolve_at_once(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = await surrey_case_at_stage_3(world)
    lena, priya = world.person(LENA), world.person(PRIYA)
    for chat in (lena, priya):
        await chat.say(f"resolve {ref}")
        await chat.say("Agreed a strategy discussion.")
    ([a], [b]) = await asyncio.gather(lena.say("Lena follows up."), priya.say("Priya follows up."))
    kinds = sorted([a.kind, b.kind])
    assert kinds == ["refused", "resolve"]
    told = a if a.kind == "refused" else b
    winner = "Lena Okafor" if told is b else "Priya Nair"  # the other one resolved it, named as the directory has them
    assert f"{ref} was already resolved by {winner} at " in told.text and "Nothing was changed" in told.text
    assert "console:" not in told.text
    case = await world.case(ref)
    assert len(events(case, "resolved")) == 1 and case["status"] == "resolved"


async def test_a_retried_form_submission_has_one_effect(store, all_policies, clock):
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)
    ref = (await world.open_case()).case_ref
    await world.escalate(JORDAN, ref)
    form = {"outcome": "Managers agreed a strategy discussion.", "follow_up": "Lena checks on Friday."}
    (first,) = await world.click(LENA, "resolve", ref, 2, form, event_id="slack-evt-1")
    assert first.kind == "resolve"
    assert await world.click(LENA, "resolve", ref, 2, form, event_id="slack-evt-1") == []  # the platform's retry
    case = await world.case(ref)
    assert len(events(case, "resolved")) == 1
    assert [d["id"] for d in case["duties"]] == ["registration@2", "resolved_stage2@2"]  # the duty added once
    posted = [r for _, r in world.sender.sent if r.kind == "resolve"]
    assert len(posted) == 1  # told in the case's thread once

    # A second click with a new event id (a double click) is refused with what happened.
    (again,) = await world.click(LENA, "resolve", ref, 2, form, event_id="slack-evt-2")
    assert again.kind == "refused" and "already resolved" in again.text
    assert await world.case(ref) == case


async def test_a_late_click_on_an_old_stage_is_refused(store, all_policies, clock):
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    ref = (await world.open_case()).case_ref
    world.set_time(at(2026, 11, 24, 9, 30))
    await world.escalate(LENA, ref)
    before = await world.case(ref)
    assert before["stage"] == 2

    # Jordan clicks buttons on Stage 1's message after the case moved on.
    (late,) = await world.click(JORDAN, "escalate", ref, 1, {"reason": "Unresolved."}, event_id="teams-1")
    assert late.kind == "refused"
    assert "already moved on to Stage 2: Escalate to Line Manager" in late.text
    assert "(escalated by Lena Okafor at 2026-11-24 09:30)" in late.text
    (late,) = await world.click(JORDAN, "resolve", ref, 1, {"outcome": "Agreed.", "follow_up": "None."})
    assert late.kind == "refused" and "already moved on" in late.text
    (late,) = await world.click(JORDAN, "extend", ref, 1, {
        "new_due": "2026-12-04", "agreed_here": "Lena Okafor", "agreed_other": "Chris Walker", "reason": "Leave."})
    assert late.kind == "refused" and "already moved on" in late.text
    assert await world.case(ref) == before


async def test_the_other_workers_late_click_is_told_the_case_moved_on(store, all_policies, clock):
    # Chris Walker acted at Stage 1 (worker to worker); his button on Stage 1's message is clicked after the case
    # went to the line managers. He must be told it moved on, not that there is no such case.
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    ref = (await world.open_case()).case_ref
    world.set_time(at(2026, 11, 24, 9, 30))
    await world.escalate(LENA, ref)
    before = await world.case(ref)
    (late,) = await world.click(CHRIS, "escalate", ref, 1, {"reason": "Unresolved."}, event_id="teams-2")
    assert late.kind == "refused"
    assert await world.case(ref) == before
    assert "already moved on to Stage 2: Escalate to Line Manager" in late.text, late.text


async def test_a_typed_escalation_overtaken_by_another_is_refused(store, all_policies, clock):
    world = World(store, {"medway": all_policies["medway"]}, clock)
    ref = (await world.open_case()).case_ref
    lena = world.person(LENA)
    await lena.say(f"escalate {ref}")  # starts at Stage 1 ...
    await world.escalate(PRIYA, ref)  # ... meanwhile the DS escalates to Stage 2
    (reply,) = await lena.say("Unresolved.")
    assert reply.kind == "refused" and "already moved on to Stage 2" in reply.text
    case = await world.case(ref)
    assert case["stage"] == 2 and len(events(case, "escalated")) == 1


async def test_a_form_refused_or_sent_with_errors_can_still_be_sent_properly(store, all_policies, clock):
    """A shared card (Teams: one card id for everyone in the thread) refused for one person, or sent with an
    error, changed nothing: the same form, sent properly, must still work."""
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)
    ref = (await world.open_case()).case_ref
    await world.escalate(JORDAN, ref)
    form = {"outcome": "Managers agreed a strategy discussion.", "follow_up": "Lena checks on Friday."}
    (stranger,) = await world.click(EMMA, "resolve", ref, 2, form, event_id="teams-card:C1")
    assert stranger.kind == "refused"
    (invalid,) = await world.click(LENA, "resolve", ref, 2, {"outcome": ""}, event_id="teams-card:C1")
    assert invalid.errors and (await world.case(ref))["status"] == "open"
    (done,) = await world.click(LENA, "resolve", ref, 2, form, event_id="teams-card:C1")
    assert done.kind == "resolve" and (await world.case(ref))["status"] == "resolved"
    assert await world.click(LENA, "resolve", ref, 2, form, event_id="teams-card:C1") == []  # now it had an effect
    assert len(events(await world.case(ref), "resolved")) == 1
